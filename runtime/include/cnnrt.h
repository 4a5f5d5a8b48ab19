/*===- cnnrt.h - the cnnc runtime library's one public header ------------===*
 *
 * libcnnrt is what a program links next to an object file produced by cnnc.
 * It provides aligned scratch memory (the arena the generated code uses for
 * activations), the hooks the generated code calls, and a version check
 * between the object and the runtime. It never depends on the compiler.
 *
 *===---------------------------------------------------------------------===*/
#ifndef CNNRT_H
#define CNNRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols of the shared library are exported explicitly; everything else in
 * the library is hidden. */
#if defined(__GNUC__)
#define CNNRT_API __attribute__((visibility("default")))
#else
#define CNNRT_API
#endif

/* ABI version: generated objects call cnnrt_check_abi(CNNRT_ABI_VERSION)
 * with the version they were compiled for; a mismatch makes the model's
 * entry point return CNNRT_ERR_ABI. */
#define CNNRT_ABI_VERSION 1

enum {
  CNNRT_OK = 0,
  CNNRT_ERR_NULL_ARG = 1,    /* a null input or output pointer */
  CNNRT_ERR_NO_MEMORY = 2,   /* arena allocation failed */
  CNNRT_ERR_ABI = 3,         /* object built for another runtime version */
};

/* Returns CNNRT_OK when the object's ABI version matches this runtime. */
CNNRT_API int cnnrt_check_abi(int32_t object_abi_version);

/* Version string of the runtime, e.g. "0.1.0". */
CNNRT_API const char *cnnrt_version(void);

/* Arena: a per-thread block of 64-byte-aligned scratch memory of at least
 * `bytes` bytes, reused across calls (grown when a larger size is asked for).
 * Returns NULL when the memory cannot be obtained. Valid until the next call
 * to cnnrt_arena_get on the same thread with a larger size, or until
 * cnnrt_arena_release. */
CNNRT_API void *cnnrt_arena_get(size_t bytes);
CNNRT_API void cnnrt_arena_release(void);

/* Capacity in bytes of the calling thread's arena (0 when it has none). */
CNNRT_API size_t cnnrt_arena_capacity(void);

/* Generic aligned allocation (for applications). `alignment` must be a power
 * of two (values below sizeof(void *) are raised to it); `bytes` is rounded up
 * to a multiple of the alignment. Returns NULL on failure or bad alignment.
 * Free with cnnrt_aligned_free (NULL is accepted). */
CNNRT_API void *cnnrt_aligned_alloc(size_t bytes, size_t alignment);
CNNRT_API void cnnrt_aligned_free(void *p);

/* Thread pool: an index range shared out over a persistent set of worker
 * threads and the calling thread. cnnrt_parallel_for calls fn(ctx, begin,
 * end) on contiguous chunks [begin, end) that together cover [0, n) exactly
 * once, on up to cnnrt_get_num_threads() threads, and returns when all
 * chunks are done. Each of the T threads owns the contiguous T-th part t of
 * [0, n) (the caller the first) and runs it from the front in halving
 * chunks; a thread done with its part takes halves of the others' from
 * their backs. So how [0, n) is cut and which thread runs which chunk vary
 * with the thread count and from call to call: fn must treat each index on
 * its own (it may process a chunk's indices together). Calls made from inside a chunk, or while another thread is
 * running a parallel_for, wait or run serially, never deadlock. n <= 0 does
 * nothing. Returns CNNRT_OK, or CNNRT_ERR_NULL_ARG when fn is NULL. */
typedef void (*cnnrt_task_fn)(void *ctx, int64_t begin, int64_t end);
CNNRT_API int cnnrt_parallel_for(int64_t n, cnnrt_task_fn fn, void *ctx);

/* Number of threads parallel_for uses: n >= 1 sets it, n <= 0 restores the
 * default (the CNNRT_NUM_THREADS environment variable if set, else the
 * value of cnnrt_set_default_threads, else the number of online CPUs).
 * Takes effect at the next parallel_for. */
CNNRT_API void cnnrt_set_num_threads(int n);
CNNRT_API int cnnrt_get_num_threads(void);

/* The default above, for programs that know better than the CPU count (the
 * THREADS option of cnnc_add_model calls it from a constructor): n >= 1
 * replaces the number of online CPUs, n <= 0 restores it. The environment
 * variable CNNRT_NUM_THREADS and cnnrt_set_num_threads still take
 * precedence, in that order of increasing priority. */
CNNRT_API void cnnrt_set_default_threads(int n);

/* Text for an error code returned by a model entry point; never NULL
 * ("unknown error" for codes this runtime does not know). */
CNNRT_API const char *cnnrt_error_string(int code);

#ifdef __cplusplus
}
#endif

#endif /* CNNRT_H */
