//===- KernelSupport.cpp - target SIMD facts and epilogue fusion -----------===//
#include "CodeGen/Lowering.h"

#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Target/TargetMachine.h"

using namespace llvm;

namespace cnnc::codegen {

VectorTarget vectorTargetOf(const TargetMachine &tm) {
  VectorTarget t;
  const MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  if (!sti || !tm.getTargetTriple().isX86())
    return t;
  if (sti->checkFeatures("+avx512f")) {
    t.width = 16;
    t.numRegs = 32;
    t.hasFMA = true;
  } else if (sti->checkFeatures("+avx2") || sti->checkFeatures("+avx")) {
    t.width = 8;
    t.numRegs = 16;
    t.hasFMA = sti->checkFeatures("+fma");
  } else {
    t.width = 4;
    t.numRegs = 16;
    t.hasFMA = false;
  }
  return t;
}

bool canFuseActivation(const ir::Node &producer, const ir::Node &act) {
  if (producer.kind != ir::OpKind::Conv2d &&
      producer.kind != ir::OpKind::Linear)
    return false;
  if (act.operands.size() != 1 || act.operands[0] != &producer)
    return false;
  switch (act.kind) {
  case ir::OpKind::Relu:
  case ir::OpKind::Relu6:
  case ir::OpKind::Hardtanh:
  case ir::OpKind::LeakyRelu:
    return ir::numElements(act.shape) == ir::numElements(producer.shape);
  default:
    return false;
  }
}

Value *applyFusedActivation(IRBuilder<> &b, const ir::Node &act, Value *x) {
  Type *ty = x->getType();
  auto c = [&](double v) { return ConstantFP::get(ty, v); };
  // Same formulas (and NaN behaviour) as LowerElementwise.cpp.
  auto clamp = [&](double lo, double hi) {
    Value *r = b.CreateSelect(b.CreateFCmpOGT(x, c(hi)), c(hi), x);
    return b.CreateSelect(b.CreateFCmpOLT(x, c(lo)), c(lo), r);
  };
  switch (act.kind) {
  case ir::OpKind::Relu:
    return b.CreateSelect(b.CreateFCmpOLT(x, c(0.0)), c(0.0), x);
  case ir::OpKind::Relu6:
    return clamp(0.0, 6.0);
  case ir::OpKind::Hardtanh:
    return clamp(act.attrs.alpha, act.attrs.beta);
  case ir::OpKind::LeakyRelu:
    return b.CreateSelect(b.CreateFCmpOGT(x, c(0.0)), x,
                          b.CreateFMul(x, c(act.attrs.alpha)));
  default:
    return x;
  }
}

} // namespace cnnc::codegen
