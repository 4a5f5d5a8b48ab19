/* seed_demo.c - a C program that runs the compiled seed model.
 *
 * Build (done by examples/CMakeLists.txt, or by hand):
 *   cnnc examples/seed.cnn --weights examples/seed.safetensors -o seed.o --header seed.h
 *   cc seed_demo.c seed.o -lcnnrt -lm -o seed_demo
 * Usage: seed_demo [input.npy]
 * Without an argument the input is a synthetic 130x130 RGB gradient image.
 * Prints the output shape, a few values, a checksum and the latency.
 */
#include "seed.h"
#include "cnnrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const int kInputShape[] = SEED_INPUT_SHAPE;
static const int kOutputShape[] = SEED_OUTPUT_SHAPE;

/* Reads a float32 C-order .npy whose element count must be `count`. */
static int read_npy(const char *path, float *dst, size_t count) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "seed_demo: cannot open %s\n", path);
    return 1;
  }
  unsigned char magic[10];
  if (fread(magic, 1, 10, f) != 10 || memcmp(magic, "\x93NUMPY", 6) != 0) {
    fprintf(stderr, "seed_demo: %s is not a .npy file\n", path);
    fclose(f);
    return 1;
  }
  size_t header = magic[8] | (magic[9] << 8);
  char *text = malloc(header + 1);
  if (!text || fread(text, 1, header, f) != header) {
    fprintf(stderr, "seed_demo: %s: truncated header\n", path);
    free(text);
    fclose(f);
    return 1;
  }
  text[header] = 0;
  int ok = strstr(text, "'<f4'") != NULL && strstr(text, "'fortran_order': False") != NULL;
  free(text);
  if (!ok || fread(dst, sizeof(float), count, f) != count) {
    fprintf(stderr, "seed_demo: %s must hold %zu float32 values in C order\n", path, count);
    fclose(f);
    return 1;
  }
  fclose(f);
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  size_t in_count = SEED_INPUT_SIZE, out_count = SEED_OUTPUT_SIZE;
  float *input = cnnrt_aligned_alloc(in_count * sizeof(float), 64);
  float *output = cnnrt_aligned_alloc(out_count * sizeof(float), 64);
  if (!input || !output)
    return 1;
  if (argc > 1) {
    if (read_npy(argv[1], input, in_count))
      return 1;
  } else {
    int c = kInputShape[1], h = kInputShape[2], w = kInputShape[3];
    for (int k = 0; k < c; ++k)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          input[(k * h + y) * w + x] = (float)((x + 2 * y + 37 * k) % 255) / 255.0f;
  }
  int rc = seed_run(input, output); /* first run: warms up the arena */
  if (rc != 0) {
    fprintf(stderr, "seed_demo: seed_run failed: %s\n", cnnrt_error_string(rc));
    return 1;
  }
  enum { kRuns = 50 };
  double best = 1e30;
  for (int i = 0; i < kRuns; ++i) {
    double t0 = now_ms();
    seed_run(input, output);
    double dt = now_ms() - t0;
    if (dt < best)
      best = dt;
  }
  double sum = 0;
  for (size_t i = 0; i < out_count; ++i)
    sum += output[i];
  printf("output shape: [%d, %d, %d, %d]\n", kOutputShape[0], kOutputShape[1],
         kOutputShape[2], kOutputShape[3]);
  printf("first values: %.6f %.6f %.6f %.6f\n", output[0], output[1], output[2], output[3]);
  printf("checksum (sum of %zu values): %.6f\n", out_count, sum);
  printf("latency: %.3f ms (best of %d runs, runtime %s)\n", best, kRuns, cnnrt_version());
  cnnrt_aligned_free(input);
  cnnrt_aligned_free(output);
  return 0;
}
