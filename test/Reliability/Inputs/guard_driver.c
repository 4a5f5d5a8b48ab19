/* Calls a cnnc-compiled model's entry point the wrong ways: null input,
 * null output, both null (each must return 1 without touching anything),
 * then properly (0). Built with -DFAKE_RUNTIME_ABI it also provides its own
 * cnnrt_check_abi that claims a different runtime ABI, as an object linked
 * against an incompatible libcnnrt would see: the entry point must then
 * return CNNRT_ERR_ABI (3) and not run. */
#include "guard.h"

#include <cnnrt.h>
#include <stdio.h>

#ifdef FAKE_RUNTIME_ABI
int cnnrt_check_abi(int32_t object_abi_version) {
  return object_abi_version == CNNRT_ABI_VERSION + 1 ? CNNRT_OK : CNNRT_ERR_ABI;
}
#endif

int main(void) {
  static float in[GUARD_INPUT_SIZE], out[GUARD_OUTPUT_SIZE];
  for (int i = 0; i < GUARD_OUTPUT_SIZE; ++i)
    out[i] = -7.0f;
  printf("null input: %d\n", guard_run(NULL, out));
  printf("null output: %d\n", guard_run(in, NULL));
  printf("both null: %d\n", guard_run(NULL, NULL));
  int untouched = 1;
  for (int i = 0; i < GUARD_OUTPUT_SIZE; ++i)
    untouched &= out[i] == -7.0f;
  printf("output untouched: %d\n", untouched);
  printf("valid: %d\n", guard_run(in, out));
  printf("object abi: %d, runtime abi: %d\n", guard_abi_version(), CNNRT_ABI_VERSION);
  return 0;
}
