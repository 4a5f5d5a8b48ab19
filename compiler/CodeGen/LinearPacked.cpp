//===- LinearPacked.cpp - fully connected layer as a packed GEMV/GEMM ------===//
//
// y[r, o] = bias[o] + sum_i x[r, i] * w[o, i], vectorised over o. The weight
// is transposed and packed at compile time into [ceil(Out/VL)][In][VL]
// (zero-padded output lanes) so a block of VL outputs streams one contiguous
// vector per input element. A register tile is RR rows x RO output vectors:
// per input element it broadcasts RR inputs, loads RO weight vectors and
// issues RR*RO FMAs. Tiles of output blocks run on the thread pool; bias and
// the fused epilogue are applied in registers, the last partial vector is
// stored with a constant mask.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"

#include <algorithm>

using namespace llvm;

namespace cnnc::codegen {

Error lowerLinearPacked(Kernel &k) {
  const ir::Shape &xs = k.node.operands[0]->shape, &ys = k.node.shape;
  if (xs.empty() || ys.empty())
    return k.error("expected at least 1-d input and output");
  const int64_t In = xs.back(), Out = ys.back();
  if (In <= 0 || Out <= 0)
    return k.error("empty linear layer");
  const int64_t R = ir::numElements(xs) / In;
  if (R * Out != ir::numElements(ys))
    return k.error("input and output row counts differ");
  auto wOr = k.tensor("weight");
  if (!wOr)
    return wOr.takeError();
  if (!*wOr)
    return k.error("missing weight param");
  auto bOr = k.tensor("bias");
  if (!bOr)
    return bOr.takeError();
  const std::vector<float> &w = (*wOr)->data;
  if ((int64_t)w.size() != In * Out)
    return k.error("weight has the wrong size");

  const int64_t VL = k.vec.width;
  const int64_t NVo = (Out + VL - 1) / VL;
  // Tile: one row streams up to 8 output vectors (memory-bound GEMV);
  // several rows share 2 weight vectors across up to 6 rows.
  int64_t regs = k.vec.numRegs;
  int64_t RO, RR;
  if (R == 1) {
    RO = std::min<int64_t>(NVo, std::max<int64_t>(1, regs / 2));
    RR = 1;
  } else {
    RO = std::min<int64_t>(NVo, 2);
    RR = std::min<int64_t>(R, std::max<int64_t>(1, (regs - 1 - RO) / RO));
  }

  std::vector<float> packed(NVo * In * VL, 0.0f);
  for (int64_t o = 0; o < Out; ++o)
    for (int64_t i = 0; i < In; ++i)
      packed[((o / VL) * In + i) * VL + o % VL] = w[o * In + i];
  std::vector<float> bias(NVo * VL, 0.0f);
  if (*bOr) {
    if ((int64_t)(*bOr)->data.size() != Out)
      return k.error("bias has the wrong size");
    std::copy((*bOr)->data.begin(), (*bOr)->data.end(), bias.begin());
  }
  const std::string &key = k.node.param("weight")->key;
  Value *wp = k.constant("linpack." + key, packed);
  Value *bp = k.constant("linbias." + key, bias);

  IRBuilder<> &b = k.b;
  LLVMContext &ctx = b.getContext();
  Type *f32 = b.getFloatTy();
  auto *vecTy = FixedVectorType::get(f32, VL);
  Function *fmuladd =
      Intrinsic::getDeclaration(&k.m, Intrinsic::fmuladd, {vecTy});

  const int64_t OB = (NVo + RO - 1) / RO, RBk = (R + RR - 1) / RR;
  // rows [r0, r0+rr), output vectors [v0, v0+ro).
  // caps: x, y, then the epilogue's residual operands.
  auto tile = [&](ArrayRef<Value *> caps, Value *r0, int64_t rr, Value *v0,
                  int64_t ro, bool lastCol) {
    Value *x = caps[0], *y = caps[1];
    std::vector<Value *> opPtrs(k.node.operands.size(), nullptr);
    for (size_t i = 1; i < opPtrs.size(); ++i)
      opPtrs[i] = caps[1 + i];
    std::vector<Value *> init;
    for (int64_t r = 0; r < rr; ++r)
      for (int64_t j = 0; j < ro; ++j)
        init.push_back(b.CreateAlignedLoad(
            vecTy, k.ptr(bp, k.mul(k.add(v0, j), VL)), Align(4)));
    Value *xRow = k.ptr(x, k.mul(r0, In));
    Value *wBlk = k.ptr(wp, k.mul(v0, In * VL));
    std::vector<Value *> acc = forLoopMulti(
        b, b.getInt64(0), b.getInt64(In), init,
        [&](Value *i, ArrayRef<Value *> a) {
          std::vector<Value *> res(a.begin(), a.end());
          std::vector<Value *> wv;
          for (int64_t j = 0; j < ro; ++j)
            wv.push_back(b.CreateAlignedLoad(
                vecTy, k.ptr(wBlk, k.add(k.mul(i, VL), j * In * VL)),
                Align(4)));
          for (int64_t r = 0; r < rr; ++r) {
            Value *s = b.CreateAlignedLoad(f32, k.ptr(xRow, k.add(i, r * In)),
                                           Align(4));
            Value *xb = b.CreateVectorSplat(VL, s);
            for (int64_t j = 0; j < ro; ++j)
              res[r * ro + j] =
                  b.CreateCall(fmuladd, {xb, wv[j], res[r * ro + j]});
          }
          return res;
        },
        /*knownNonEmpty=*/true);
    for (int64_t r = 0; r < rr; ++r)
      for (int64_t j = 0; j < ro; ++j) {
        Value *v = acc[r * ro + j];
        Value *idx = k.add(k.mul(k.add(r0, r), Out), k.mul(k.add(v0, j), VL));
        Value *p = k.ptr(y, idx);
        int64_t valid = VL;
        if (lastCol && j == ro - 1)
          valid = Out - (NVo - 1) * VL;
        Constant *mask = laneMask(ctx, VL, 0, valid);
        v = emitEpilogue(k, v, opPtrs, idx, mask);
        if (!mask)
          b.CreateAlignedStore(v, p, Align(4));
        else
          b.CreateMaskedStore(v, p, Align(4), mask);
      }
  };

  double cycles = double(R) * In * NVo;
  std::vector<Value *> captures{k.in[0], k.out};
  for (size_t i = 1; i < k.node.operands.size(); ++i)
    captures.push_back(k.in[i]);
  emitParallelFor(
      k, OB * RBk, captures, cycles,
      [&](ArrayRef<Value *> caps, Value *item) {
        Value *ob = b.CreateURem(item, b.getInt64(OB));
        Value *rb = b.CreateUDiv(item, b.getInt64(OB));
        Function *f = b.GetInsertBlock()->getParent();
        BasicBlock *done = BasicBlock::Create(ctx, "lin.done", f);
        int64_t oRem = NVo % RO, rRem = R % RR;
        auto rows = [&](int64_t ro, bool lastCol, Value *v0) {
          auto go = [&](int64_t rr) {
            tile(caps, k.mul(rb, RR), rr, v0, ro, lastCol);
            b.CreateBr(done);
          };
          if (!rRem) {
            go(RR);
            return;
          }
          BasicBlock *full = BasicBlock::Create(ctx, "lin.rows", f);
          BasicBlock *rem = BasicBlock::Create(ctx, "lin.rowsrem", f);
          b.CreateCondBr(b.CreateICmpULT(rb, b.getInt64(RBk - 1)), full, rem);
          b.SetInsertPoint(full);
          go(RR);
          b.SetInsertPoint(rem);
          go(rRem);
        };
        // The last output block holds vector NVo-1 (maybe partial).
        BasicBlock *mid = BasicBlock::Create(ctx, "lin.mid", f);
        BasicBlock *last = BasicBlock::Create(ctx, "lin.last", f);
        b.CreateCondBr(b.CreateICmpULT(ob, b.getInt64(OB - 1)), mid, last);
        b.SetInsertPoint(mid);
        rows(RO, false, k.mul(ob, RO));
        b.SetInsertPoint(last);
        int64_t lastRo = oRem ? oRem : RO;
        rows(lastRo, true, b.getInt64(NVo - lastRo));
        b.SetInsertPoint(done);
      });
  return Error::success();
}

} // namespace cnnc::codegen
