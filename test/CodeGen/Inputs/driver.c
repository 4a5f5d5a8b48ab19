/* A C program that links a cnnc-compiled model (compiled with --name small
 * and --header small.h) and the static runtime:
 *   driver IN.f32 OUT.f32
 * reads SMALL_INPUT_SIZE raw float32 values, runs small_run, writes
 * SMALL_OUTPUT_SIZE raw float32 values. Also checks the header's macros
 * and the entry point's documented error returns. */
#include "small.h"

#include <stdio.h>
#include <stdlib.h>

static const int in_shape[] = SMALL_INPUT_SHAPE;
static const int out_shape[] = SMALL_OUTPUT_SHAPE;

static int product(const int *s, int n) {
  int p = 1;
  for (int i = 0; i < n; ++i)
    p *= s[i];
  return p;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: driver IN.f32 OUT.f32\n");
    return 2;
  }
  if (product(in_shape, SMALL_INPUT_RANK) != SMALL_INPUT_SIZE ||
      product(out_shape, SMALL_OUTPUT_RANK) != SMALL_OUTPUT_SIZE) {
    fprintf(stderr, "driver: shape macros disagree with size macros\n");
    return 1;
  }
  static float in[SMALL_INPUT_SIZE], out[SMALL_OUTPUT_SIZE];
  FILE *f = fopen(argv[1], "rb");
  if (!f || fread(in, sizeof(float), SMALL_INPUT_SIZE, f) != SMALL_INPUT_SIZE) {
    fprintf(stderr, "driver: cannot read %d floats from %s\n", SMALL_INPUT_SIZE, argv[1]);
    return 1;
  }
  fclose(f);
  if (small_run(NULL, out) != 1 || small_run(in, NULL) != 1) {
    fprintf(stderr, "driver: a null pointer did not return 1\n");
    return 1;
  }
  int rc = small_run(in, out);
  if (rc != 0) {
    fprintf(stderr, "driver: small_run returned %d\n", rc);
    return 1;
  }
  f = fopen(argv[2], "wb");
  if (!f || fwrite(out, sizeof(float), SMALL_OUTPUT_SIZE, f) != SMALL_OUTPUT_SIZE) {
    fprintf(stderr, "driver: cannot write %s\n", argv[2]);
    return 1;
  }
  fclose(f);
  printf("driver: abi %d, input rank %d, output [%d, %d], rc %d\n", small_abi_version(),
         SMALL_INPUT_RANK, out_shape[0], out_shape[1], rc);
  return 0;
}
