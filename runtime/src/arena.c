/* arena.c - the per-thread scratch arena used by generated code.
 *
 * Each thread owns one 64-byte-aligned block that grows (never shrinks) to
 * the largest size requested and is reused across calls, so steady-state
 * inference does no allocation. The block is freed by cnnrt_arena_release or
 * automatically when the thread exits (a pthread key destructor). Growth
 * discards the old contents: callers treat the arena as uninitialized. */
#define _POSIX_C_SOURCE 200112L
#include "cnnrt.h"

#include <pthread.h>
#include <stdlib.h>

enum { CNNRT_ARENA_ALIGN = 64 };

typedef struct Arena {
  void *base;
  size_t capacity;
} Arena;

static _Thread_local Arena tls_arena;
static pthread_key_t arena_key;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static int arena_key_ok;

/* Runs at thread exit for threads that allocated an arena. */
static void arena_destroy(void *arg) {
  Arena *a = (Arena *)arg;
  if (a) {
    cnnrt_aligned_free(a->base);
    a->base = NULL;
    a->capacity = 0;
  }
}

static void arena_key_init(void) {
  arena_key_ok = pthread_key_create(&arena_key, arena_destroy) == 0;
}

void *cnnrt_arena_get(size_t bytes) {
  Arena *a = &tls_arena;
  if (a->base && bytes <= a->capacity)
    return a->base;
  /* Grow geometrically so a sequence of slightly larger requests does not
   * reallocate every time. */
  size_t want = bytes;
  if (a->capacity && want < a->capacity + a->capacity / 2 &&
      a->capacity <= SIZE_MAX / 2)
    want = a->capacity + a->capacity / 2;
  void *p = cnnrt_aligned_alloc(want, CNNRT_ARENA_ALIGN);
  if (!p && want != bytes) {
    want = bytes;
    p = cnnrt_aligned_alloc(want, CNNRT_ARENA_ALIGN);
  }
  if (!p)
    return NULL;
  cnnrt_aligned_free(a->base);
  a->base = p;
  a->capacity = want;
  pthread_once(&arena_once, arena_key_init);
  if (arena_key_ok)
    pthread_setspecific(arena_key, a);
  return p;
}

size_t cnnrt_arena_capacity(void) { return tls_arena.capacity; }

void cnnrt_arena_release(void) {
  arena_destroy(&tls_arena);
  if (arena_key_ok)
    pthread_setspecific(arena_key, NULL);
}
