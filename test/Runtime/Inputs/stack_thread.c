/* Runs the model `m` on the main thread and on a thread with a 2 MiB stack
 * (the least docs/c-api.md asks for), both with 2 pool threads, and prints
 * whether both succeeded with the same bits. */
#include "cnnrt.h"
#include "m.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *x, *y2;
static int rc2 = -1;

static void *run(void *arg) {
  (void)arg;
  rc2 = m_run(x, y2);
  return NULL;
}

int main(void) {
  x = malloc(sizeof(float) * M_INPUT_SIZE);
  float *y1 = malloc(sizeof(float) * M_OUTPUT_SIZE);
  y2 = malloc(sizeof(float) * M_OUTPUT_SIZE);
  if (!x || !y1 || !y2)
    return 2;
  for (long i = 0; i < M_INPUT_SIZE; ++i)
    x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
  cnnrt_set_num_threads(2);
  int rc1 = m_run(x, y1);
  pthread_attr_t attr;
  pthread_t t;
  if (pthread_attr_init(&attr) || pthread_attr_setstacksize(&attr, 2u << 20) ||
      pthread_create(&t, &attr, run, NULL) || pthread_join(t, NULL))
    return 3;
  printf("rc %d %d, same bits %d\n", rc1, rc2,
         memcmp(y1, y2, sizeof(float) * M_OUTPUT_SIZE) == 0);
  return 0;
}
