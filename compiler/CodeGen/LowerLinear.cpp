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
  return lowerLinearPacked(k); // LinearPacked.cpp; the loop below is the
                               // reference version
  const ir::Shape &xs = k.node.operands[0]->shape, &ys = k.node.shape;
  if (xs.empty() || ys.empty())
    return k.error("expected at least 1-d input and output");
  int64_t In = xs.back(), Out = ys.back();
  int64_t R = ir::numElements(xs) / (In ? In : 1);
  if (R * Out != ir::numElements(ys))
    return k.error("input and output row counts differ");
  auto wOr = k.param("weight");
  if (!wOr)
    return wOr.takeError();
  if (!*wOr)
    return k.error("missing weight param");
  auto bOr = k.param("bias");
  if (!bOr)
    return bOr.takeError();
  Value *w = *wOr, *bias = *bOr;
  IRBuilder<> &b = k.b;
  forLoop(b, 0, R, [&](Value *r) {
    Value *xRow = k.mul(r, In);
    forLoop(b, 0, Out, [&](Value *o) {
      Value *wRow = k.mul(o, In);
      Value *init = bias ? k.load(bias, o) : k.f(0.0);
      Value *acc = forLoopAcc(b, 0, In, init, [&](Value *i, Value *acc) {
        return k.fmuladd(k.load(k.in[0], k.add(xRow, i)),
                         k.load(w, k.add(wRow, i)), acc);
      });
      k.store(acc, k.out, k.add(k.mul(r, Out), o));
    });
  });
  return Error::success();
}

} // namespace cnnc::codegen
