//===- LowerElementwise.cpp - activations and same-shape add / mul ---------===//
//
// Formulas follow PyTorch's CPU kernels; NaN propagates through the clamps.
// exp / log become LLVM intrinsics (libm expf / logf when not vectorised);
// tanh calls libm's tanhf.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

using namespace llvm;

namespace cnnc::codegen {

namespace {
/// x < lo ? lo : (x > hi ? hi : x): a NaN x stays NaN, like torch.clamp.
Value *clamp(Kernel &k, Value *x, double lo, double hi) {
  IRBuilder<> &b = k.b;
  Value *r = b.CreateSelect(b.CreateFCmpOGT(x, k.f(hi)), k.f(hi), x);
  return b.CreateSelect(b.CreateFCmpOLT(x, k.f(lo)), k.f(lo), r);
}

Value *expf(Kernel &k, Value *x) {
  return k.b.CreateUnaryIntrinsic(Intrinsic::exp, x);
}

Value *sigmoid(Kernel &k, Value *x) {
  IRBuilder<> &b = k.b;
  return b.CreateFDiv(k.f(1.0), b.CreateFAdd(k.f(1.0), expf(k, b.CreateFNeg(x))));
}
} // namespace

Error lowerUnary(Kernel &k) {
  const ir::Node &n = k.node;
  if (ir::numElements(n.operands[0]->shape) != ir::numElements(n.shape))
    return k.error("input and output sizes differ");
  IRBuilder<> &b = k.b;
  double alpha = n.attrs.alpha, beta = n.attrs.beta;
  FunctionCallee tanhF;
  if (n.kind == ir::OpKind::Tanh) {
    tanhF = k.m.getOrInsertFunction("tanhf", k.f32(), k.f32());
    if (auto *fn = dyn_cast<Function>(tanhF.getCallee())) {
      fn->setDoesNotThrow();
      fn->setDoesNotAccessMemory();
      fn->setWillReturn();
    }
  }
  auto apply = [&](Value *x) -> Value * {
    switch (n.kind) {
    case ir::OpKind::Relu:
      return b.CreateSelect(b.CreateFCmpOLT(x, k.f(0.0)), k.f(0.0), x);
    case ir::OpKind::Relu6:
      return clamp(k, x, 0.0, 6.0);
    case ir::OpKind::Hardtanh:
      return clamp(k, x, alpha, beta);
    case ir::OpKind::LeakyRelu:
      return b.CreateSelect(b.CreateFCmpOGT(x, k.f(0.0)), x,
                            b.CreateFMul(x, k.f(alpha)));
    case ir::OpKind::Elu: {
      Value *neg = b.CreateFMul(k.f(alpha), b.CreateFSub(expf(k, x), k.f(1.0)));
      return b.CreateSelect(b.CreateFCmpOGT(x, k.f(0.0)), x, neg);
    }
    case ir::OpKind::Sigmoid:
      return sigmoid(k, x);
    case ir::OpKind::Tanh: {
      CallInst *c = b.CreateCall(tanhF, {x});
      c->setDoesNotThrow();
      c->setDoesNotAccessMemory();
      return c;
    }
    case ir::OpKind::Silu:
      return b.CreateFMul(x, sigmoid(k, x));
    case ir::OpKind::Hardswish:
      return b.CreateFDiv(
          b.CreateFMul(x, clamp(k, b.CreateFAdd(x, k.f(3.0)), 0.0, 6.0)),
          k.f(6.0));
    default:
      return nullptr;
    }
  };
  // Reject unknown kinds before emitting anything.
  switch (n.kind) {
  case ir::OpKind::Relu: case ir::OpKind::Relu6: case ir::OpKind::Hardtanh:
  case ir::OpKind::LeakyRelu: case ir::OpKind::Elu: case ir::OpKind::Sigmoid:
  case ir::OpKind::Tanh: case ir::OpKind::Silu: case ir::OpKind::Hardswish:
    break;
  default:
    return k.error("not an elementwise activation");
  }
  forLoop(b, 0, ir::numElements(n.shape), [&](Value *i) {
    k.store(apply(k.load(k.in[0], i)), k.out, i);
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
