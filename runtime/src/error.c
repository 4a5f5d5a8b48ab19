/* error.c - human-readable text for the runtime's error codes.
 *
 * The codes are the CNNRT_* enumerators of cnnrt.h, returned by a model's
 * entry point; applications print cnnrt_error_string(code). */
#include "cnnrt.h"

const char *cnnrt_error_string(int code) {
  switch (code) {
  case CNNRT_OK:
    return "success";
  case CNNRT_ERR_NULL_ARG:
    return "a null input or output pointer was passed";
  case CNNRT_ERR_NO_MEMORY:
    return "out of memory for the activation arena";
  case CNNRT_ERR_ABI:
    return "the model object was built for another cnnrt ABI version";
  default:
    return "unknown error";
  }
}
