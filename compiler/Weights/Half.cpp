//===- Half.cpp - float16 / bfloat16 to float32 conversion ----------------===//
//
// Weights saved from PyTorch in half precision are widened to float32 when a
// safetensors file is read. binary16 is decoded bit by bit (including
// subnormals, infinities and NaN payloads); bfloat16 is the upper 16 bits of
// a float32 and converts exactly by a shift.
//
//===----------------------------------------------------------------------===//
#include "Weights/WeightsInternal.h"

#include <cstring>

namespace cnnc::weights {

static float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) // infinity or NaN: keep the payload
    return bitsToFloat(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0)
      return bitsToFloat(sign); // signed zero
    // Subnormal: normalize the mantissa into float32's wider exponent range.
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    mant &= 0x3ffu;
    return bitsToFloat(sign | uint32_t(127 - 15 - e) << 23 | (mant << 13));
  }
  return bitsToFloat(sign | (exp + (127 - 15)) << 23 | (mant << 13));
}

float bfloat16ToFloat(uint16_t b) { return bitsToFloat(uint32_t(b) << 16); }

} // namespace cnnc::weights
