/* alloc.c - aligned allocation for applications and for the arena.
 *
 * A thin, checked wrapper over posix_memalign: the alignment must be a power
 * of two and is raised to at least sizeof(void *); the size is rounded up to
 * a multiple of the alignment (guarding against overflow) so vector loops may
 * safely read whole vectors at the end of a buffer. */
#define _POSIX_C_SOURCE 200112L
#include "cnnrt.h"

#include <stdlib.h>

void *cnnrt_aligned_alloc(size_t bytes, size_t alignment) {
  if (alignment < sizeof(void *))
    alignment = sizeof(void *);
  if ((alignment & (alignment - 1)) != 0)
    return NULL;
  if (bytes == 0)
    bytes = alignment;
  if (bytes > SIZE_MAX - (alignment - 1))
    return NULL;
  bytes = (bytes + alignment - 1) & ~(alignment - 1);
  void *p = NULL;
  if (posix_memalign(&p, alignment, bytes) != 0)
    return NULL;
  return p;
}

void cnnrt_aligned_free(void *p) { free(p); }
