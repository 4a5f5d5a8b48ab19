/* Runs the model compiled by cnnc_add_model on a constant input and prints
 * the runtime's thread count (THREADS of cnnc_add_model). */
#include "quiz.h"

#include <cnnrt.h>

#include <stdio.h>

static float input[QUIZ_INPUT_SIZE];
static float output[QUIZ_OUTPUT_SIZE];

int main(void) {
  for (int i = 0; i < QUIZ_INPUT_SIZE; ++i)
    input[i] = (float)(i % 7) / 7.0f;
  int rc = quiz_run(input, output);
  double sum = 0;
  for (int i = 0; i < QUIZ_OUTPUT_SIZE; ++i)
    sum += output[i];
  printf("status %d, %d outputs, sum %.4f\n", rc, QUIZ_OUTPUT_SIZE, sum);
  printf("threads %d\n", cnnrt_get_num_threads());
  return rc;
}
