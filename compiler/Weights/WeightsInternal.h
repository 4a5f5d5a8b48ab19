//===- WeightsInternal.h - helpers shared by the Weights library ----------===//
//
// Not part of the public interface: half-precision conversions, the atomic
// file writer (temp file in the same directory, renamed on success), and the
// error constructor that prefixes messages with the file name.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_WEIGHTS_WEIGHTSINTERNAL_H
#define CNNC_WEIGHTS_WEIGHTSINTERNAL_H

#include "Support/AtomicFile.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <functional>
#include <string>

namespace cnnc::weights {

/// IEEE 754 binary16 bits -> float (subnormals, infinities and NaN kept).
float halfToFloat(uint16_t h);
/// bfloat16 bits -> float (exact: bfloat16 is the top half of a float).
float bfloat16ToFloat(uint16_t b);

// Atomic output and file-prefixed errors are shared with the driver.
using cnnc::fileError;
using cnnc::writeFileAtomically;

} // namespace cnnc::weights

#endif
