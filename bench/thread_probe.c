/* thread_probe.c - what a second thread costs and gains on this machine.
 *
 *   thread_probe [--items N] [--item-us US] [--jobs J]
 *
 * Prints one JSON object:
 *  - line_round_trip_ns: two threads hand one cache line back and forth
 *    (each waits for the other's store); half of it is the one-way latency
 *    of moving a line between the cores the two threads run on;
 *  - pool_1t_ms / pool_2t_ms / pool_speedup: the median time of one
 *    cnnrt_parallel_for job of N items that each spin for US microseconds
 *    (no memory traffic), at 1 and 2 threads: the runtime's hand-off cost
 *    with the data taken out.
 * docs/performance.md ("Threads on small layers") quotes both. */
#define _POSIX_C_SOURCE 200112L
#include "cnnrt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec * 1e-3;
}

enum { kRounds = 200000 };
static _Atomic int flag __attribute__((aligned(64)));

static void *pong(void *arg) {
  (void)arg;
  for (int i = 0; i < kRounds; ++i) {
    while (atomic_load_explicit(&flag, memory_order_acquire) != 1)
      ;
    atomic_store_explicit(&flag, 0, memory_order_release);
  }
  return NULL;
}

static double line_round_trip_ns(void) {
  pthread_t t;
  atomic_store(&flag, 0);
  if (pthread_create(&t, NULL, pong, NULL) != 0)
    return -1;
  double a = now_us();
  for (int i = 0; i < kRounds; ++i) {
    atomic_store_explicit(&flag, 1, memory_order_release);
    while (atomic_load_explicit(&flag, memory_order_acquire) != 0)
      ;
  }
  double b = now_us();
  pthread_join(t, NULL);
  return (b - a) * 1e3 / kRounds;
}

static double item_us = 2.0;

static void spin_items(void *ctx, int64_t begin, int64_t end) {
  (void)ctx;
  for (int64_t i = begin; i < end; ++i) {
    double a = now_us();
    while (now_us() - a < item_us)
      ;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pool_median_ms(int threads, int64_t items, int jobs) {
  cnnrt_set_num_threads(threads);
  double *t = malloc(sizeof(double) * (size_t)jobs);
  if (!t)
    return -1;
  for (int i = 0; i < 50; ++i)
    cnnrt_parallel_for(items, spin_items, NULL);
  for (int i = 0; i < jobs; ++i) {
    double a = now_us();
    cnnrt_parallel_for(items, spin_items, NULL);
    t[i] = (now_us() - a) * 1e-3;
  }
  qsort(t, (size_t)jobs, sizeof(double), cmp_double);
  double m = t[jobs / 2];
  free(t);
  return m;
}

int main(int argc, char **argv) {
  int64_t items = 32;
  int jobs = 3000;
  for (int i = 1; i < argc; ++i) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--items") && v && atoll(v) > 0) {
      items = atoll(v);
      ++i;
    } else if (!strcmp(argv[i], "--item-us") && v && atof(v) > 0) {
      item_us = atof(v);
      ++i;
    } else if (!strcmp(argv[i], "--jobs") && v && atoi(v) > 0) {
      jobs = atoi(v);
      ++i;
    } else {
      fprintf(stderr, "usage: %s [--items N] [--item-us US] [--jobs J]\n", argv[0]);
      return 1;
    }
  }
  double rt = line_round_trip_ns();
  double t1 = pool_median_ms(1, items, jobs);
  double t2 = pool_median_ms(2, items, jobs);
  printf("{\"line_round_trip_ns\": %.1f, \"items\": %lld, \"item_us\": %.2f, "
         "\"pool_1t_ms\": %.4f, \"pool_2t_ms\": %.4f, \"pool_speedup\": %.2f}\n",
         rt, (long long)items, item_us, t1, t2, t2 > 0 ? t1 / t2 : 0.0);
  return rt > 0 && t1 > 0 && t2 > 0 ? 0 : 1;
}
