/* abi.c - version identification of libcnnrt.
 *
 * Generated objects call cnnrt_check_abi with the ABI version they were
 * compiled against before touching anything else in the runtime, so that an
 * object linked against an incompatible runtime fails cleanly with
 * CNNRT_ERR_ABI instead of misbehaving. */
#include "cnnrt.h"

#ifndef CNNRT_VERSION_STRING
#define CNNRT_VERSION_STRING "0.0.0"
#endif

int cnnrt_check_abi(int32_t object_abi_version) {
  return object_abi_version == CNNRT_ABI_VERSION ? CNNRT_OK : CNNRT_ERR_ABI;
}

const char *cnnrt_version(void) { return CNNRT_VERSION_STRING; }
