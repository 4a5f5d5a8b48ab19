//===- LowerElementwise.cpp - activations and same-shape add / mul ---------===//
//
// The activation formulas (KernelSupport.cpp, shared with the fused
// epilogues) follow PyTorch's CPU kernels; NaN propagates through the clamps.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

using namespace llvm;

namespace cnnc::codegen {

Error lowerUnary(Kernel &k) {
  const ir::Node &n = k.node;
  if (ir::numElements(n.operands[0]->shape) != ir::numElements(n.shape))
    return k.error("input and output sizes differ");
  IRBuilder<> &b = k.b;
  // Reject unknown kinds before emitting anything.
  if (!ir::isActivation(n.kind))
    return k.error("not an elementwise activation");
  forLoop(b, 0, ir::numElements(n.shape), [&](Value *i) {
    Value *x = k.load(k.in[0], i);
    k.store(emitActivation(b, k.m, n.kind, n.attrs.alpha, n.attrs.beta, x),
            k.out, i);
  });
  return Error::success();
}

Error lowerBinary(Kernel &k) {
  const ir::Node &n = k.node;
  if (n.operands.size() != 2)
    return k.error("expected two operands");
  int64_t E = ir::numElements(n.shape);
  for (const ir::Node *op : n.operands)
    if (ir::numElements(op->shape) != E)
      return k.error("operands must have the output's shape (no broadcasting)");
  bool isAdd = n.kind == ir::OpKind::Add;
  IRBuilder<> &b = k.b;
  forLoop(b, 0, E, [&](Value *i) {
    Value *x = k.load(k.in[0], i), *y = k.load(k.in[1], i);
    k.store(isAdd ? b.CreateFAdd(x, y) : b.CreateFMul(x, y), k.out, i);
  });
  return Error::success();
}

void emitCopy(IRBuilder<> &b, Value *dst, Value *src, int64_t n) {
  if (n <= 0)
    return;
  b.CreateMemCpy(dst, Align(4), src, Align(4), b.getInt64(n * 4));
}

} // namespace cnnc::codegen
