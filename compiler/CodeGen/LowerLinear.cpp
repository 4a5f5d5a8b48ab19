//===- LowerLinear.cpp - fully connected layer ------------------------------===//
//
// y[r, o] = bias[o] + sum_i x[r, i] * w[o, i]; rows r cover every leading
// dimension (PyTorch applies Linear to the last one).
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

using namespace llvm;

namespace cnnc::codegen {

Error lowerLinear(Kernel &k) {
  // The packed GEMV/GEMM kernel (LinearPacked.cpp) handles every shape.
  return lowerLinearPacked(k);
}

} // namespace cnnc::codegen
