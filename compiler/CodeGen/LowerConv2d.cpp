//===- LowerConv2d.cpp - direct convolution, the simple version ------------===//
//
// out[n,k,oh,ow] = bias[k] + sum_{c,kh,kw} x[n, g*Cg+c, ih, iw] * w[k,c,kh,kw]
// with ih = oh*SH - PH + kh*DH (likewise iw) and g = k / (K/groups). Taps that
// fall into the zero padding read a clamped in-bounds element and select 0,
// keeping the inner loops branch-free; the check is emitted only along a
// dimension that has padding.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

using namespace llvm;

namespace cnnc::codegen {

ConvKernel chosenConvKernel(const ir::Node &n, const VectorTarget &t) {
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
      return lowerConv2dWinograd(k);
    case ConvKernel::ChanVec:
      return lowerConv2dChanVec(k);
    case ConvKernel::Direct:
      return lowerConv2dDirect(k);
    }
  }
  const ir::Node &n = k.node;
  if (n.pooling())
    return k.error("internal error: a fused pooling needs the direct kernel");
  const ir::Shape &xs = n.operands[0]->shape, &ys = n.shape;
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
  Value *x = k.in[0], *y = k.out;
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
              Value *xPlane = k.mul(k.add(k.mul(ni, C), ci), H * W);
              Value *wBase = k.mul(k.add(k.mul(ko, Cg), c), KH * KW);
              return forLoopAcc(b, 0, KH, acc, [&](Value *kh, Value *acc) {
                Value *ih = k.add(ih0, k.mul(kh, a.dilation[0]));
                Value *okH = nullptr;
                if (checkH) {
                  okH = b.CreateICmpULT(ih, k.i64(H));
                  ih = b.CreateSelect(okH, ih, k.i64(0));
                }
                Value *xRow = k.add(xPlane, k.mul(ih, W));
                Value *wRow = k.add(wBase, k.mul(kh, KW));
                return forLoopAcc(b, 0, KW, acc, [&](Value *kw, Value *acc) {
                  Value *iw = k.add(iw0, k.mul(kw, a.dilation[1]));
                  Value *ok = okH;
                  if (checkW) {
                    Value *okW = b.CreateICmpULT(iw, k.i64(W));
                    iw = b.CreateSelect(okW, iw, k.i64(0));
                    ok = ok ? b.CreateAnd(ok, okW) : okW;
                  }
                  Value *xv = k.load(x, k.add(xRow, iw));
                  if (ok)
                    xv = b.CreateSelect(ok, xv, k.f(0.0));
                  Value *wv = k.load(wt, k.add(wRow, kw));
                  return k.fmuladd(xv, wv, acc);
                });
              });
            });
            Value *idx = k.index({ni, ko, oh, ow}, {N, K, OH, OW});
            acc = emitEpilogue(k, acc, k.in, idx);
            k.store(acc, y, idx);
          });
        });
      });
    });
  });
  return Error::success();
}

} // namespace cnnc::codegen
