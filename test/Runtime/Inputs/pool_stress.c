/* Stress test of the runtime's thread pool (runtime/src/threadpool.c).
 * Prints one line per property; every line must end in "ok".
 *  - coverage: every item of [0, n) is run exactly once, in chunks inside
 *    the range, for many n (one beyond 2^32) under thread counts that change between calls
 *    (the pool is rebuilt each time), the calling thread taking part;
 *  - nested: a parallel_for inside a chunk runs [0, m) in one call on the
 *    same thread;
 *  - concurrent: parallel_fors issued from several threads at once all
 *    complete correctly (they are serialized);
 *  - idle: a pool with nothing to do does not keep spinning (CPU time over
 *    a long idle wait stays far below the wait). */
#define _POSIX_C_SOURCE 200112L
#include <cnnrt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { kMaxN = 5000 };

typedef struct Job {
  int64_t n;
  atomic_int hits[kMaxN];
  atomic_int calls;
  atomic_int bad; /* chunks outside [0, n) or empty */
  _Atomic int64_t total; /* items over all chunks */
  pthread_t caller;
  atomic_int caller_ran;
} Job;

static void count(void *p, int64_t begin, int64_t end) {
  Job *j = p;
  atomic_fetch_add(&j->calls, 1);
  atomic_fetch_add(&j->total, end - begin);
  if (begin < 0 || end > j->n || begin >= end)
    atomic_fetch_add(&j->bad, 1);
  if (pthread_equal(pthread_self(), j->caller))
    atomic_store(&j->caller_ran, 1);
  for (int64_t i = begin; i < end && i < kMaxN && i >= 0; ++i)
    atomic_fetch_add(&j->hits[i], 1);
}

/* Runs one job of n items; returns 0 if every item ran exactly once. */
static int run_job(Job *j, int64_t n) {
  j->n = n;
  for (int64_t i = 0; i < n && i < kMaxN; ++i)
    atomic_store(&j->hits[i], 0);
  atomic_store(&j->calls, 0);
  atomic_store(&j->bad, 0);
  atomic_store(&j->total, 0);
  atomic_store(&j->caller_ran, 0);
  j->caller = pthread_self();
  if (cnnrt_parallel_for(n, count, j) != CNNRT_OK)
    return 1;
  for (int64_t i = 0; i < n && i < kMaxN; ++i)
    if (atomic_load(&j->hits[i]) != 1)
      return 1;
  return atomic_load(&j->bad) != 0 || atomic_load(&j->calls) < 1 ||
         atomic_load(&j->total) != n;
}

static Job job;

static int coverage(void) {
  static const int threads[] = {1, 2, 3, 4, 2, 1, 5, 2, 8, 3};
  static const int64_t sizes[] = {1, 2, 3, 7, 16, 17, 64, 100, 1000, 4999};
  int failures = 0, caller_seen = 0;
  for (int round = 0; round < 40; ++round) {
    int t = threads[round % 10];
    cnnrt_set_num_threads(t);
    if (cnnrt_get_num_threads() != t)
      ++failures;
    for (int rep = 0; rep < 50; ++rep)
      for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        failures += run_job(&job, sizes[s]);
        caller_seen += atomic_load(&job.caller_ran);
      }
  }
  /* More items than the pool counts one by one: only the first kMaxN are
   * checked one by one, the chunks' lengths must still add up to n. */
  for (int t = 2; t <= 3; ++t) {
    cnnrt_set_num_threads(t);
    failures += run_job(&job, ((int64_t)3 << 31) + 5);
  }
  /* n <= 0 and a null function. */
  if (cnnrt_parallel_for(0, count, &job) != CNNRT_OK ||
      cnnrt_parallel_for(-3, count, &job) != CNNRT_OK ||
      cnnrt_parallel_for(10, NULL, &job) != CNNRT_ERR_NULL_ARG)
    ++failures;
  /* The caller takes part; it can only miss a job by losing every claim,
   * which cannot happen for all of them. */
  return failures == 0 && caller_seen > 0;
}

typedef struct Nested {
  atomic_int inner_calls, inner_bad, outer_items;
} Nested;

static _Thread_local int64_t inner_begin, inner_end;
static _Thread_local int inner_count;

static void inner(void *p, int64_t begin, int64_t end) {
  (void)p;
  inner_begin = begin;
  inner_end = end;
  ++inner_count;
}

static void outer(void *p, int64_t begin, int64_t end) {
  Nested *s = p;
  for (int64_t i = begin; i < end; ++i) {
    inner_count = 0;
    cnnrt_parallel_for(37, inner, NULL);
    atomic_fetch_add(&s->inner_calls, inner_count);
    if (inner_count != 1 || inner_begin != 0 || inner_end != 37)
      atomic_fetch_add(&s->inner_bad, 1);
    atomic_fetch_add(&s->outer_items, 1);
  }
}

static int nested(void) {
  Nested s;
  atomic_init(&s.inner_calls, 0);
  atomic_init(&s.inner_bad, 0);
  atomic_init(&s.outer_items, 0);
  cnnrt_set_num_threads(3);
  cnnrt_parallel_for(24, outer, &s);
  return atomic_load(&s.outer_items) == 24 && atomic_load(&s.inner_calls) == 24 &&
         atomic_load(&s.inner_bad) == 0;
}

enum { kCallers = 4 };
static Job caller_jobs[kCallers];
static atomic_int concurrent_failures;

static void *caller_main(void *p) {
  Job *j = p;
  for (int rep = 0; rep < 300; ++rep)
    atomic_fetch_add(&concurrent_failures, run_job(j, 1 + (rep * 37) % 700));
  return NULL;
}

static int concurrent(void) {
  cnnrt_set_num_threads(2);
  pthread_t th[kCallers];
  for (int i = 0; i < kCallers; ++i)
    if (pthread_create(&th[i], NULL, caller_main, &caller_jobs[i]) != 0)
      return 0;
  /* The main thread changes the thread count meanwhile. */
  for (int rep = 0; rep < 50; ++rep) {
    cnnrt_set_num_threads(1 + rep % 3);
    atomic_fetch_add(&concurrent_failures, run_job(&job, 500));
  }
  for (int i = 0; i < kCallers; ++i)
    pthread_join(th[i], NULL);
  return atomic_load(&concurrent_failures) == 0;
}

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int idle(void) {
  cnnrt_set_num_threads(4);
  if (run_job(&job, 1000))
    return 0;
  double before = cpu_seconds();
  struct timespec wait = {1, 0}; /* 1 s of wall time */
  nanosleep(&wait, NULL);
  /* Spinning workers would use about 3 s of CPU time; sleeping ones none
   * (a bounded spin after the job is allowed). */
  return cpu_seconds() - before < 0.5;
}

int main(void) {
  printf("coverage %s\n", coverage() ? "ok" : "FAILED");
  printf("nested %s\n", nested() ? "ok" : "FAILED");
  printf("concurrent %s\n", concurrent() ? "ok" : "FAILED");
  printf("idle %s\n", idle() ? "ok" : "FAILED");
  /* Shrinking to one thread and back, then exiting with a live pool. */
  cnnrt_set_num_threads(1);
  int ok = run_job(&job, 100) == 0;
  cnnrt_set_num_threads(0);
  ok &= cnnrt_get_num_threads() >= 1 && run_job(&job, 100) == 0;
  printf("reset %s\n", ok ? "ok" : "FAILED");
  return 0;
}
