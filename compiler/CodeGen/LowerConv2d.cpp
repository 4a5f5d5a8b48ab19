//===- LowerConv2d.cpp - direct convolution, the simple version ------------===//
//
// out[n,k,oh,ow] = bias[k] + sum_{c,kh,kw} x[n, g*Cg+c, ih, iw] * w[k,c,kh,kw]
// with ih = oh*SH - PH + kh*DH (likewise iw) and g = k / (K/groups). Taps that
// fall into the zero padding read a clamped in-bounds element and select 0,
// keeping the inner loops branch-free; the check is emitted only along a
// dimension that has padding. It runs where there is no scratch for the
// fast kernels, and as Winograd's fallback for inputs with NaNs or
// infinities (lowerWinogradGuarded).
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

#include "llvm/IR/Intrinsics.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>

using namespace llvm;

namespace cnnc::codegen {

namespace {

/// The convolution one output element at a time, from the weights as
/// given, into y (the conv output, NCHW; the epilogue's elementwise steps
/// applied, a fused pooling left to the caller).
Error emitReferenceConv(Kernel &k, Value *y) {
  const ir::Node &n = k.node;
  const ir::Shape &xs = n.operands[0]->shape, ys = n.opShape();
  if (xs.size() != 4 || ys.size() != 4)
    return k.error("expected 4-d input and output");
  const ir::Attrs &a = n.attrs;
  int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  int64_t K = ys[1], OH = ys[2], OW = ys[3];
  int64_t G = a.groups;
  if (G <= 0 || C % G || K % G)
    return k.error("channels not divisible by groups");
  int64_t Cg = C / G, Kg = K / G, KH = a.kernel[0], KW = a.kernel[1];

  auto wOr = k.param("weight");
  if (!wOr)
    return wOr.takeError();
  Value *wt = *wOr;
  if (!wt)
    return k.error("missing weight param");
  auto bOr = k.param("bias");
  if (!bOr)
    return bOr.takeError();
  Value *bias = *bOr;

  IRBuilder<> &b = k.b;
  Value *x = k.in[0];
  // Floats between a pixel's successive elements of one channel, in the
  // input and the output (1 in NCHW; see ir::Node::channelBlock).
  const int64_t xStep = std::max<int64_t>(1, n.operands[0]->channelBlock);
  const int64_t yStep = std::max<int64_t>(1, n.channelBlock);
  bool checkH = a.padding[0] > 0, checkW = a.padding[1] > 0;

  forLoop(b, 0, N, [&](Value *ni) {
    forLoop(b, 0, G, [&](Value *gi) {
      forLoop(b, 0, Kg, [&](Value *kk) {
        Value *ko = k.add(k.mul(gi, Kg), kk);
        Value *init = bias ? k.load(bias, ko) : k.f(0.0);
        forLoop(b, 0, OH, [&](Value *oh) {
          Value *ih0 = k.add(k.mul(oh, a.stride[0]), -a.padding[0]);
          forLoop(b, 0, OW, [&](Value *ow) {
            Value *iw0 = k.add(k.mul(ow, a.stride[1]), -a.padding[1]);
            Value *acc = forLoopAcc(b, 0, Cg, init, [&](Value *c, Value *acc) {
              Value *ci = k.add(k.mul(gi, Cg), c);
              // NCHW, or nChw<xStep>c: plane ci / xStep, element ci % xStep.
              Value *xPlane =
                  xStep == 1
                      ? k.mul(k.add(k.mul(ni, C), ci), H * W)
                      : k.add(k.mul(k.add(k.mul(ni, C / xStep), b.CreateUDiv(ci, k.i64(xStep))),
                                    H * W * xStep),
                              b.CreateURem(ci, k.i64(xStep)));
              Value *wBase = k.mul(k.add(k.mul(ko, Cg), c), KH * KW);
              return forLoopAcc(b, 0, KH, acc, [&](Value *kh, Value *acc) {
                Value *ih = k.add(ih0, k.mul(kh, a.dilation[0]));
                Value *okH = nullptr;
                if (checkH) {
                  okH = b.CreateICmpULT(ih, k.i64(H));
                  ih = b.CreateSelect(okH, ih, k.i64(0));
                }
                Value *xRow = k.add(xPlane, k.mul(ih, W * xStep));
                Value *wRow = k.add(wBase, k.mul(kh, KW));
                return forLoopAcc(b, 0, KW, acc, [&](Value *kw, Value *acc) {
                  Value *iw = k.add(iw0, k.mul(kw, a.dilation[1]));
                  Value *ok = okH;
                  if (checkW) {
                    Value *okW = b.CreateICmpULT(iw, k.i64(W));
                    iw = b.CreateSelect(okW, iw, k.i64(0));
                    ok = ok ? b.CreateAnd(ok, okW) : okW;
                  }
                  Value *xv = k.load(x, k.add(xRow, k.mul(iw, xStep)));
                  if (ok)
                    xv = b.CreateSelect(ok, xv, k.f(0.0));
                  Value *wv = k.load(wt, k.add(wRow, kw));
                  return k.fmuladd(xv, wv, acc);
                });
              });
            });
            Value *idx =
                yStep == 1 ? k.index({ni, ko, oh, ow}, {N, K, OH, OW})
                           : k.add(k.mul(k.index({ni, b.CreateUDiv(ko, k.i64(yStep)), oh, ow},
                                                 {N, K / yStep, OH, OW}),
                                         yStep),
                                   b.CreateURem(ko, k.i64(yStep)));
            acc = emitEpilogue(k, acc, k.in, idx);
            k.store(acc, y, idx);
          });
        });
      });
    });
  });
  return Error::success();
}

/// Winograd mixes an input tile into all the outputs of its tile, so a NaN
/// or an infinity would reach outputs whose window does not touch it (where
/// PyTorch's convolution gives numbers). The input is checked first; with
/// any non-finite value the reference convolution runs instead: slow
/// (scalar), but NaN exactly where PyTorch's is, and small to compile; the
/// weights as given are then in the object beside the transformed ones.
/// With `fallback` (the few-channel kernel's: the direct kernel) that runs
/// instead of the reference convolution.
Error lowerWinogradGuarded(Kernel &k, Error (*kernel)(Kernel &),
                           Error (*fallback)(Kernel &) = nullptr) {
  IRBuilder<> &b = k.b;
  LLVMContext &ctx = b.getContext();
  Value *finite = emitAllFinite(k, k.in[0], ir::numElements(k.node.operands[0]->shape));
  Function *f = b.GetInsertBlock()->getParent();
  BasicBlock *wino = BasicBlock::Create(ctx, "wino", f);
  BasicBlock *ref = BasicBlock::Create(ctx, "wino.nonfinite", f);
  BasicBlock *join = BasicBlock::Create(ctx, "wino.done", f);
  b.CreateCondBr(finite, wino, ref);
  b.SetInsertPoint(wino);
  if (Error e = kernel(k))
    return e;
  b.CreateBr(join);
  b.SetInsertPoint(ref);
  if (getenv("CNNC_CONV_DEBUG"))
    errs() << "conv " << k.node.name << ": the " << (fallback ? "direct kernel" : "reference convolution")
           << " for inputs with NaNs or infinities\n";
  if (fallback) {
    if (Error e = fallback(k))
      return e;
  } else {
    Value *convOut = k.node.pooling() ? convOutputInScratch(k) : k.out;
    if (Error e = emitReferenceConv(k, convOut))
      return e;
    if (k.node.pooling())
      emitPoolAfterConv(k, convOut);
  }
  b.CreateBr(join);
  b.SetInsertPoint(join);
  return Error::success();
}

} // namespace

ConvKernel chosenConvKernel(const ir::Node &n, const VectorTarget &t) {
  // block-channels blocks only what these kernels run (ir::Node::channelBlock):
  // a blocked Winograd conv has a blocked output.
  if (n.channelBlock || n.operands[0]->channelBlock)
    return n.channelBlock && winogradChosen(n, t) && winogradBlockedEligible(n, t)
               ? ConvKernel::WinogradBlocked
               : ConvKernel::ChanVec;
  if (winogradChosen(n, t))
    return ConvKernel::Winograd;
  if (chanVecChosen(n, t))
    return ConvKernel::ChanVec;
  return ConvKernel::Direct;
}

Error lowerConv2d(Kernel &k) {
  if (k.scratch) { // the fast paths (ConvWinograd.cpp, ConvChannelVec.cpp,
                   // ConvDirect.cpp)
    switch (chosenConvKernel(k.node, k.vec)) {
    case ConvKernel::Winograd:
      // The few-channel kernel's fallback is the direct kernel (exact NaNs,
      // its pooling in its own items: no scratch for the conv output).
      if (winogradFewChosen(k.node, k.vec))
        return lowerWinogradGuarded(k, lowerConv2dWinograd, lowerConv2dDirect);
      return lowerWinogradGuarded(k, lowerConv2dWinograd);
    case ConvKernel::WinogradBlocked:
      return lowerWinogradGuarded(k, lowerConv2dWinogradBlocked);
    case ConvKernel::ChanVec:
      return lowerConv2dChanVec(k);
    case ConvKernel::Direct:
      return lowerConv2dDirect(k);
    }
  }
  if (k.node.pooling())
    return k.error("internal error: a fused pooling needs the direct kernel");
  return emitReferenceConv(k, k.out);
}

} // namespace cnnc::codegen
