/* old_runtime.c - stands in for an incompatible libcnnrt, to show what a
 * program sees when its model object and its runtime disagree: this
 * cnnrt_check_abi accepts only an ABI version that no object has, as a
 * runtime from another cnnc release would. Link it before -lcnnrt. */
#include <cnnrt.h>

int cnnrt_check_abi(int32_t object_abi_version) {
  return object_abi_version == CNNRT_ABI_VERSION + 1 ? CNNRT_OK : CNNRT_ERR_ABI;
}
