/* fma_peak - measures this machine's peak FP32 FMA throughput.
 *
 * Each thread runs many independent accumulator chains of vector FMAs
 * (AVX-512 when the compiler targets it, else AVX2+FMA) so that neither FMA
 * latency nor anything but the FMA ports limits the rate. Measured at one
 * thread and at N threads (default: all online cores), best of many short
 * trials (so a busy machine still shows what one core can do).
 *
 *   cc -O2 -march=native -pthread bench/fma_peak.c -o fma_peak
 *   fma_peak [--threads N] [--ms MS_PER_TRIAL] [--trials K] [--median]
 *   (defaults: all cores, 2 ms, 200 trials, the best of them; --median: the
 *   median trial, which counts time the machine gave to others like a
 *   kernel's median time does)
 *
 * Prints one JSON object:
 *   {"isa": "avx2", "vector_floats": 8, "gflops_1t": ..., "threads": N,
 *    "gflops_nt": ..., "gflops_per_core": ...}
 * where gflops_per_core = gflops_nt / N. bench/run_bench.py takes
 * gflops_1t x T as the peak for T threads.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__AVX512F__)
#define ISA "avx512"
#define VF 16
typedef __m512 vec;
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VADD(a, b) _mm512_add_ps(a, b)
static float vsum(vec v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
#define ISA "avx2"
#define VF 8
typedef __m256 vec;
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VADD(a, b) _mm256_add_ps(a, b)
static float vsum(vec v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#else
#error "fma_peak needs AVX2+FMA or AVX-512 (compile with -march=native on such a machine)"
#endif

/* 12 chains: enough for 2 FMA ports x 4-5 cycles latency on current cores
 * (Zen 3/4, Skylake-X, Ice Lake...), and leaves registers for the operands. */
#ifndef CHAINS
#define CHAINS 12
#endif
#define INNER 1000 /* FMA rounds per call: 12 * INNER vector FMAs */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs `calls` * INNER * CHAINS vector FMAs; returns a value that depends on
 * all of them so nothing can be optimized away. */
static float __attribute__((noinline)) fma_kernel(long calls, float seed) {
  vec a = VSET1(0.999999f), b = VSET1(1e-7f * seed);
  vec acc[CHAINS];
  for (int i = 0; i < CHAINS; ++i)
    acc[i] = VSET1(seed + (float)i);
  for (long c = 0; c < calls; ++c) {
    for (int r = 0; r < INNER; ++r) {
#pragma GCC unroll 16
      for (int i = 0; i < CHAINS; ++i)
        acc[i] = VFMA(acc[i], a, b);
    }
    /* Keep the compiler from collapsing the loop nest. */
    __asm__ volatile("" : "+x"(a));
  }
  vec s = acc[0];
  for (int i = 1; i < CHAINS; ++i)
    s = VADD(s, acc[i]);
  return vsum(s);
}

static double flops_per_call(void) { return 2.0 * VF * CHAINS * INNER; }

typedef struct {
  long calls;
  atomic_int *arrived; /* spin barrier: all threads running before any starts */
  int threads;
  double t0, t1;
  float sink;
} job_t;

static void *worker(void *p) {
  job_t *j = (job_t *)p;
  /* A spinning start, not pthread_barrier_wait: a thread that sleeps in a
   * futex leaves its vCPU idle, and under a hypervisor waking it can take
   * longer than a trial (2-thread trials then measured one thread's rate). */
  atomic_fetch_add(j->arrived, 1);
  while (atomic_load(j->arrived) < j->threads)
    ;
  j->t0 = now_s();
  j->sink = fma_kernel(j->calls, 1.0f);
  j->t1 = now_s();
  return NULL;
}

/* GFLOP/s of `threads` threads each running `calls` kernel calls: total
 * flops over the wall time from the first start to the last finish. */
static double run_threads(int threads, long calls) {
  pthread_t tid[threads];
  job_t jobs[threads];
  atomic_int arrived = 0;
  for (int t = 0; t < threads; ++t) {
    jobs[t].calls = calls;
    jobs[t].arrived = &arrived;
    jobs[t].threads = threads;
    pthread_create(&tid[t], NULL, worker, &jobs[t]);
  }
  double t0 = 1e300, t1 = 0;
  float sink = 0;
  for (int t = 0; t < threads; ++t) {
    pthread_join(tid[t], NULL);
    if (jobs[t].t0 < t0) t0 = jobs[t].t0;
    if (jobs[t].t1 > t1) t1 = jobs[t].t1;
    sink += jobs[t].sink;
  }
  if (sink == 12345.678f) /* practically never; keeps `sink` live */
    fprintf(stderr, "#");
  return threads * calls * flops_per_call() / (t1 - t0) / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Best (or median) of `trials` runs of `calls` kernel calls each. Trials are
 * short (a few ms) and many on purpose: on a shared or virtualized machine
 * the best short window is the one where no other process took the core. */
static double measure(int threads, int trials, long calls, int median) {
  double *g = malloc(sizeof(double) * (size_t)trials);
  if (!g) return 0;
  for (int k = 0; k < trials; ++k)
    g[k] = run_threads(threads, calls);
  qsort(g, (size_t)trials, sizeof(double), cmp_double);
  double r = median ? g[trials / 2] : g[trials - 1];
  free(g);
  return r;
}

int main(int argc, char **argv) {
  int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
  double ms = 2;
  int trials = 200, median = 0;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--ms") && i + 1 < argc)
      ms = atof(argv[++i]);
    else if (!strcmp(argv[i], "--trials") && i + 1 < argc)
      trials = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--median"))
      median = 1;
    else {
      fprintf(stderr, "usage: %s [--threads N] [--ms MS_PER_TRIAL] [--trials K] [--median]\n",
              argv[0]);
      return 2;
    }
  }
  if (threads < 1) threads = 1;
  if (trials < 1) trials = 1;

  /* Calibrate: how many calls take ~ms milliseconds on one thread (best of
   * a few, so that a preempted calibration does not shrink the trials). */
  fma_kernel(20, 1.0f); /* warm up (clocks, page-ins) */
  double per_call = 1e300;
  for (int k = 0; k < 20; ++k) {
    double t = now_s();
    fma_kernel(10, 1.0f);
    double d = (now_s() - t) / 10;
    if (d < per_call) per_call = d;
  }
  long calls = (long)(ms * 1e-3 / per_call);
  if (calls < 10) calls = 10;

  double g1 = measure(1, trials, calls, median);
  double gn = measure(threads, trials, calls, median);
  printf("{\"isa\": \"%s\", \"vector_floats\": %d, \"chains\": %d, "
         "\"gflops_1t\": %.2f, \"threads\": %d, \"gflops_nt\": %.2f, "
         "\"gflops_per_core\": %.2f}\n",
         ISA, VF, CHAINS, g1, threads, gn, gn / threads);
  return 0;
}
