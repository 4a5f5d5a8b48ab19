/* threadpool.c - cnnrt_parallel_for over a persistent pool of pthreads.
 *
 * Generated code partitions work statically: the range [0, n) is cut into
 * one contiguous chunk per thread, the caller runs chunk 0 and the workers
 * the rest. Workers sleep on a condition variable between jobs, so a
 * parallel_for costs two wake-ups, not thread creation. One job runs at a
 * time (a run lock serializes concurrent callers); a parallel_for issued from
 * inside a chunk runs serially on that thread. The pool is (re)built lazily
 * when the requested thread count changes. */
#define _POSIX_C_SOURCE 200112L
#include "cnnrt.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct Pool {
  pthread_mutex_t lock;     /* protects everything below */
  pthread_cond_t work_cv;   /* workers wait here for a new generation */
  pthread_cond_t done_cv;   /* the caller waits here for `remaining` == 0 */
  pthread_t *workers;
  int nworkers;
  int shutdown;
  unsigned long generation; /* bumped once per job */
  cnnrt_task_fn fn;
  void *ctx;
  int64_t n;
  int nchunks;
  int remaining;            /* workers that have not finished this job */
} Pool;

static Pool pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                    PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, NULL, NULL, 0,
                    0, 0};
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;
static int requested_threads; /* 0: default; guarded by run_lock */
static int builtin_default;   /* cnnrt_set_default_threads; guarded by run_lock */
static _Thread_local int in_parallel;

static void run_chunk(cnnrt_task_fn fn, void *ctx, int64_t n, int nchunks,
                      int i) {
  int64_t begin = n * i / nchunks, end = n * (i + 1) / nchunks;
  if (begin < end)
    fn(ctx, begin, end);
}

typedef struct WorkerArg {
  int index; /* chunk index this worker runs (1-based; 0 is the caller) */
  unsigned long start_generation; /* the generation before its first job */
} WorkerArg;

static void *worker_main(void *arg) {
  int index = ((WorkerArg *)arg)->index;
  /* Not pool.generation: the first job may be posted before this thread
   * first takes the lock. */
  unsigned long seen = ((WorkerArg *)arg)->start_generation;
  free(arg);
  in_parallel = 1;
  pthread_mutex_lock(&pool.lock);
  for (;;) {
    while (pool.generation == seen && !pool.shutdown)
      pthread_cond_wait(&pool.work_cv, &pool.lock);
    if (pool.shutdown)
      break;
    seen = pool.generation;
    cnnrt_task_fn fn = pool.fn;
    void *ctx = pool.ctx;
    int64_t n = pool.n;
    int nchunks = pool.nchunks;
    pthread_mutex_unlock(&pool.lock);
    if (index < nchunks)
      run_chunk(fn, ctx, n, nchunks, index);
    pthread_mutex_lock(&pool.lock);
    if (--pool.remaining == 0)
      pthread_cond_signal(&pool.done_cv);
  }
  pthread_mutex_unlock(&pool.lock);
  return NULL;
}

/* Called with run_lock held. */
static int default_threads(void) {
  const char *env = getenv("CNNRT_NUM_THREADS");
  if (env) {
    int v = atoi(env);
    if (v >= 1)
      return v > 1024 ? 1024 : v;
  }
  if (builtin_default > 0)
    return builtin_default;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return cpus >= 1 ? (cpus > 1024 ? 1024 : (int)cpus) : 1;
}

/* Stops and joins all workers. Called with run_lock held. */
static void stop_workers(void) {
  pthread_mutex_lock(&pool.lock);
  pool.shutdown = 1;
  pthread_cond_broadcast(&pool.work_cv);
  pthread_mutex_unlock(&pool.lock);
  for (int i = 0; i < pool.nworkers; ++i)
    pthread_join(pool.workers[i], NULL);
  free(pool.workers);
  pool.workers = NULL;
  pool.nworkers = 0;
  pool.shutdown = 0;
}

/* Makes the pool have `want` workers (fewer if creation fails). Called with
 * run_lock held and no job in flight. */
static void resize_pool(int want) {
  if (pool.nworkers == want)
    return;
  stop_workers();
  if (want <= 0)
    return;
  pool.workers = calloc((size_t)want, sizeof(pthread_t));
  if (!pool.workers)
    return;
  for (int i = 0; i < want; ++i) {
    WorkerArg *arg = malloc(sizeof *arg);
    if (!arg)
      break;
    arg->index = i + 1;
    pthread_mutex_lock(&pool.lock);
    arg->start_generation = pool.generation;
    pthread_mutex_unlock(&pool.lock);
    if (pthread_create(&pool.workers[i], NULL, worker_main, arg) != 0) {
      free(arg);
      break;
    }
    pool.nworkers = i + 1;
  }
}

int cnnrt_parallel_for(int64_t n, cnnrt_task_fn fn, void *ctx) {
  if (!fn)
    return CNNRT_ERR_NULL_ARG;
  if (n <= 0)
    return CNNRT_OK;
  if (in_parallel) { /* nested: run serially on this thread */
    fn(ctx, 0, n);
    return CNNRT_OK;
  }
  pthread_mutex_lock(&run_lock);
  int threads = requested_threads > 0 ? requested_threads : default_threads();
  if ((int64_t)threads > n)
    threads = (int)n;
  if (threads <= 1) {
    pthread_mutex_unlock(&run_lock);
    in_parallel = 1;
    fn(ctx, 0, n);
    in_parallel = 0;
    return CNNRT_OK;
  }
  /* Keep the pool at the configured size even when this job is small, so a
   * sequence of differently sized loops does not rebuild it. */
  int poolSize = (requested_threads > 0 ? requested_threads
                                        : default_threads()) - 1;
  resize_pool(poolSize);
  int nchunks = pool.nworkers + 1 < threads ? pool.nworkers + 1 : threads;

  pthread_mutex_lock(&pool.lock);
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  pool.nchunks = nchunks;
  pool.remaining = pool.nworkers;
  pool.generation++;
  pthread_cond_broadcast(&pool.work_cv);
  pthread_mutex_unlock(&pool.lock);

  in_parallel = 1;
  run_chunk(fn, ctx, n, nchunks, 0);
  in_parallel = 0;

  pthread_mutex_lock(&pool.lock);
  while (pool.remaining > 0)
    pthread_cond_wait(&pool.done_cv, &pool.lock);
  pthread_mutex_unlock(&pool.lock);
  pthread_mutex_unlock(&run_lock);
  return CNNRT_OK;
}

void cnnrt_set_num_threads(int n) {
  pthread_mutex_lock(&run_lock);
  requested_threads = n > 1024 ? 1024 : (n > 0 ? n : 0);
  pthread_mutex_unlock(&run_lock);
}

void cnnrt_set_default_threads(int n) {
  pthread_mutex_lock(&run_lock);
  builtin_default = n > 1024 ? 1024 : (n > 0 ? n : 0);
  pthread_mutex_unlock(&run_lock);
}

int cnnrt_get_num_threads(void) {
  pthread_mutex_lock(&run_lock);
  int n = requested_threads > 0 ? requested_threads : default_threads();
  pthread_mutex_unlock(&run_lock);
  return n;
}
