/* threadpool.c - cnnrt_parallel_for over a persistent pool of pthreads.
 *
 * Static partition with stealing: a job of n items over T threads gives
 * thread t (the caller is thread 0, pool worker i is thread i + 1) the
 * contiguous range [n*t/T, n*(t+1)/T). Each thread runs its own range from
 * the front, half of what is left of it at a time (so a chunk keeps
 * neighbouring items together: kernels that process a chunk's items
 * several at a time, like the fused Winograd convolution's tile rows, keep
 * their blocks), then takes half of what is left of another thread's range
 * from its back, until no range has work: the threads finish together
 * even when items differ in cost or a thread starts late (the others
 * take its range). A thread's range is the same in every job of the same
 * size, so consecutive kernels over the same rows find their data in that
 * core's caches. Which thread runs which items can still vary from run to
 * run; what each item computes does not, so generated code (whose items
 * are independent) gives the same bits for any thread count. The caller
 * starts on the job at once, and finishes it alone if no worker comes.
 *
 * Hand-off: a worker that has finished a job spins on the job counter for a
 * bounded time (kSpinNanos) before it sleeps on a condition variable, so a
 * sequence of parallel loops pays no futex wake-up and no scheduling
 * latency; the caller likewise spins, then sleeps, waiting for the last
 * chunk. An idle pool sleeps.
 *
 * One job runs at a time (a run lock serializes concurrent callers); a
 * parallel_for issued from inside a chunk runs serially on that thread. The
 * pool is (re)built lazily when the requested thread count changes. */
#define _POSIX_C_SOURCE 200112L
#include "cnnrt.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long an idle thread spins before it sleeps: longer than the gap
 * between two parallel loops of a model (a few serial kernels), short
 * enough that an idle program does not hold a core. */
static const long kSpinNanos = 200000;
/* The first part of that spin, without giving up the core. */
static const long kPureSpinNanos = 5000;
/* Stack size of the pool's threads. */
static const size_t kWorkerStack = 8u << 20;

/* A thread's range word: first unclaimed unit (lower 32 bits) and end
 * (upper 32 bits) of its part of the current job. Unit u is items
 * [n*u/units, n*(u+1)/units): one item each unless n exceeds kMaxUnits.
 * Claims are compare-and-swaps of the word, and the job's description is
 * read only after a successful claim: every range of a finished job is
 * empty and a job's description is only replaced once it is finished, so
 * a thread that read a word and then lost time either fails its claim or
 * claims units of the job the description then describes. */
#define RANGE(lo, hi) ((uint64_t)(lo) | (uint64_t)(hi) << 32)
#define RANGE_LO(w) ((int64_t)((w)&0xffffffffu))
#define RANGE_HI(w) ((int64_t)((w) >> 32))
static const int64_t kMaxUnits = 0x7fffffff;
enum { kMaxThreads = 1024 };

/* One cache line per range: the owner and the thieves of one range do not
 * slow down the others'. */
typedef struct Range {
  _Alignas(64) _Atomic uint64_t word;
} Range;
static Range ranges[kMaxThreads];

typedef struct Pool {
  /* The job, written by the caller before it publishes the ranges
   * (release) and read after a successful claim (acquire). Atomic because a late
   * thread may read `threads` while the next job is being posted. */
  _Atomic(cnnrt_task_fn) fn;
  _Atomic(void *) ctx;
  _Atomic int64_t n;
  atomic_int threads;
  _Atomic int64_t done;     /* units finished in the current job */
  _Atomic uint64_t posted;  /* jobs posted so far: what workers wait on */
  atomic_int shutdown;
  atomic_int sleepers;      /* workers blocked (or about to block) in work_cv */
  atomic_int caller_waits;  /* the caller is blocked (or about to) in done_cv */
  pthread_mutex_t lock;     /* for the two condition variables only */
  pthread_cond_t work_cv;
  pthread_cond_t done_cv;
  pthread_t *workers;
  int nworkers;
} Pool;

static Pool pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
                    .work_cv = PTHREAD_COND_INITIALIZER,
                    .done_cv = PTHREAD_COND_INITIALIZER};
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;
static int requested_threads; /* 0: default; guarded by run_lock */
static int builtin_default;   /* cnnrt_set_default_threads; guarded by run_lock */
static int online_cpus;       /* cached sysconf value; guarded by run_lock */
static _Thread_local int in_parallel;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static long now_nanos(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Spins until pred(arg) holds or about kSpinNanos have passed; returns
 * whether it holds. After the first few microseconds it yields the core
 * between checks, so that on an oversubscribed machine a spinning thread
 * does not keep a runnable one (perhaps the pool's thread holding the last
 * chunk) off its core; on an idle core sched_yield returns at once. */
static int spin_until(int (*pred)(void *), void *arg) {
  long start = 0;
  int yield = 0;
  for (unsigned i = 0;; ++i) {
    if (pred(arg))
      return 1;
    if (yield)
      sched_yield();
    else
      cpu_relax();
    if ((i & 63) == 63 || yield) {
      long t = now_nanos();
      if (!start)
        start = t;
      else if (t - start > kSpinNanos)
        return pred(arg);
      else if (t - start > kPureSpinNanos)
        yield = 1;
    }
  }
}

/* First item of unit u of n items in `units` units (no overflow for any
 * n < 2^63 and units < 2^31). */
static int64_t unit_begin(int64_t n, int64_t units, int64_t u) {
  return n / units * u + n % units * u / units;
}

/* Claims half (rounded up) of what is left of range r, from its front
 * (the owner) or its back (another thread); returns the number of units
 * claimed (0: the range is empty) and their first in *first. */
static int64_t claim(int r, int front, int64_t *first) {
  _Atomic uint64_t *word = &ranges[r].word;
  uint64_t w = atomic_load_explicit(word, memory_order_acquire);
  for (;;) {
    int64_t lo = RANGE_LO(w), hi = RANGE_HI(w);
    if (lo >= hi)
      return 0;
    int64_t size = (hi - lo + 1) / 2;
    uint64_t next = front ? RANGE(lo + size, hi) : RANGE(lo, hi - size);
    if (atomic_compare_exchange_weak_explicit(word, &w, next, memory_order_acquire,
                                              memory_order_acquire)) {
      *first = front ? lo : hi - size;
      return size;
    }
  }
}

/* Runs units [first, first + size) of the current job; returns whether
 * they were the job's last. */
static int run_units(int64_t first, int64_t size) {
  cnnrt_task_fn fn = atomic_load_explicit(&pool.fn, memory_order_relaxed);
  void *ctx = atomic_load_explicit(&pool.ctx, memory_order_relaxed);
  int64_t n = atomic_load_explicit(&pool.n, memory_order_relaxed);
  int64_t units = n < kMaxUnits ? n : kMaxUnits;
  fn(ctx, unit_begin(n, units, first), unit_begin(n, units, first + size));
  int64_t finished =
      atomic_fetch_add_explicit(&pool.done, size, memory_order_seq_cst) + size;
  if (finished != units)
    return 0;
  /* The last chunk: wake the caller if it stopped spinning (seq_cst pairs
   * with its store to caller_waits before it rereads done). */
  if (atomic_load_explicit(&pool.caller_waits, memory_order_seq_cst)) {
    pthread_mutex_lock(&pool.lock);
    pthread_cond_signal(&pool.done_cv);
    pthread_mutex_unlock(&pool.lock);
  }
  return 1;
}

/* Thread `self` (0: the caller) runs its own range of the current job,
 * then helps with the others' until every range is empty. */
static void run_job(int self) {
  int64_t first, size;
  int t = atomic_load_explicit(&pool.threads, memory_order_relaxed);
  if (self < t)
    while ((size = claim(self, 1, &first)) > 0)
      if (run_units(first, size))
        return;
  for (;;) {
    t = atomic_load_explicit(&pool.threads, memory_order_relaxed);
    if (t < 1 || t > kMaxThreads)
      return;
    int found = 0;
    for (int i = 1; i <= t && !found; ++i) {
      int r = (self + i) % t;
      if (r != self && (size = claim(r, 0, &first)) > 0) {
        found = 1;
        if (run_units(first, size))
          return;
      }
    }
    if (!found)
      return;
  }
}

/* seq_cst loads in the two predicates below: each is the second half of a
 * store-then-load pair (see the sleepers and caller_waits comments). */
static int job_posted(void *seen) {
  return atomic_load_explicit(&pool.posted, memory_order_seq_cst) !=
             *(uint64_t *)seen ||
         atomic_load_explicit(&pool.shutdown, memory_order_seq_cst);
}

static int job_done(void *units) {
  return atomic_load_explicit(&pool.done, memory_order_seq_cst) ==
         *(int64_t *)units;
}

typedef struct WorkerArg {
  uint64_t start_posted; /* the job count before its first job */
  int self;              /* its thread number in a job: worker index + 1 */
} WorkerArg;

static void *worker_main(void *arg) {
  /* Not the current count: the first job may be posted before this thread
   * first looks. */
  uint64_t seen = ((WorkerArg *)arg)->start_posted;
  int self = ((WorkerArg *)arg)->self;
  free(arg);
  in_parallel = 1;
  for (;;) {
    if (!spin_until(job_posted, &seen)) {
      pthread_mutex_lock(&pool.lock);
      /* seq_cst: the caller bumps `posted`, then reads sleepers; this
       * thread counts itself, then rereads `posted`, so one of the two
       * sees the other. */
      atomic_fetch_add_explicit(&pool.sleepers, 1, memory_order_seq_cst);
      while (!job_posted(&seen))
        pthread_cond_wait(&pool.work_cv, &pool.lock);
      atomic_fetch_sub_explicit(&pool.sleepers, 1, memory_order_relaxed);
      pthread_mutex_unlock(&pool.lock);
    }
    if (atomic_load_explicit(&pool.shutdown, memory_order_acquire))
      break;
    seen = atomic_load_explicit(&pool.posted, memory_order_acquire);
    run_job(self);
  }
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
  if (!online_cpus) { /* sysconf reads /sys: once per process */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    online_cpus = cpus >= 1 ? (cpus > 1024 ? 1024 : (int)cpus) : 1;
  }
  return online_cpus;
}

/* Stops and joins all workers. Called with run_lock held. */
static void stop_workers(void) {
  if (!pool.nworkers)
    return;
  pthread_mutex_lock(&pool.lock);
  atomic_store_explicit(&pool.shutdown, 1, memory_order_seq_cst);
  pthread_cond_broadcast(&pool.work_cv);
  pthread_mutex_unlock(&pool.lock);
  for (int i = 0; i < pool.nworkers; ++i)
    pthread_join(pool.workers[i], NULL);
  free(pool.workers);
  pool.workers = NULL;
  pool.nworkers = 0;
  atomic_store_explicit(&pool.shutdown, 0, memory_order_relaxed);
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
  uint64_t posted = atomic_load_explicit(&pool.posted, memory_order_relaxed);
  /* Kernels keep per-item buffers on the stack of the thread running the
   * item (up to about 1 MiB, docs/c-api.md): the workers get stacks of
   * kWorkerStack whatever RLIMIT_STACK says. */
  pthread_attr_t attr;
  int have_attr = pthread_attr_init(&attr) == 0;
  if (have_attr && pthread_attr_setstacksize(&attr, kWorkerStack) != 0) {
    pthread_attr_destroy(&attr);
    have_attr = 0;
  }
  for (int i = 0; i < want; ++i) {
    WorkerArg *arg = malloc(sizeof *arg);
    if (!arg)
      break;
    arg->start_posted = posted;
    arg->self = i + 1;
    if (pthread_create(&pool.workers[i], have_attr ? &attr : NULL, worker_main, arg) != 0) {
      free(arg);
      break;
    }
    pool.nworkers = i + 1;
  }
  if (have_attr)
    pthread_attr_destroy(&attr);
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
  int configured = requested_threads > 0 ? requested_threads : default_threads();
  int threads = (int64_t)configured > n ? (int)n : configured;
  if (threads > 1) {
    /* Keep the pool at the configured size even when this job is small, so
     * a sequence of differently sized loops does not rebuild it. */
    resize_pool(configured - 1);
    if (threads > pool.nworkers + 1)
      threads = pool.nworkers + 1;
  }
  if (threads <= 1) {
    pthread_mutex_unlock(&run_lock);
    in_parallel = 1;
    fn(ctx, 0, n);
    in_parallel = 0;
    return CNNRT_OK;
  }

  int64_t units = n < kMaxUnits ? n : kMaxUnits;
  atomic_store_explicit(&pool.fn, fn, memory_order_relaxed);
  atomic_store_explicit(&pool.ctx, ctx, memory_order_relaxed);
  atomic_store_explicit(&pool.n, n, memory_order_relaxed);
  atomic_store_explicit(&pool.threads, threads, memory_order_relaxed);
  atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
  for (int t = 0; t < threads; ++t)
    atomic_store_explicit(&ranges[t].word,
                          RANGE(units * t / threads, units * (t + 1) / threads),
                          memory_order_release);
  atomic_fetch_add_explicit(&pool.posted, 1, memory_order_seq_cst);
  if (atomic_load_explicit(&pool.sleepers, memory_order_seq_cst) > 0) {
    pthread_mutex_lock(&pool.lock);
    pthread_cond_broadcast(&pool.work_cv);
    pthread_mutex_unlock(&pool.lock);
  }

  in_parallel = 1;
  run_job(0);
  in_parallel = 0;

  if (!spin_until(job_done, &units)) {
    pthread_mutex_lock(&pool.lock);
    /* seq_cst: pairs with the last chunk's increment of done, then its read
     * of caller_waits. */
    atomic_store_explicit(&pool.caller_waits, 1, memory_order_seq_cst);
    while (!job_done(&units))
      pthread_cond_wait(&pool.done_cv, &pool.lock);
    atomic_store_explicit(&pool.caller_waits, 0, memory_order_relaxed);
    pthread_mutex_unlock(&pool.lock);
  }
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
