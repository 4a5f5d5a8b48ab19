//===- LowerPool.cpp - max / average / adaptive 2-d pooling ----------------===//
//
// Window arithmetic follows PyTorch's CPU kernels exactly:
//  * max pool: taps outside the input (padding, ceil_mode overhang) are
//    ignored; NaN propagates.
//  * avg pool: hstart = oh*S - P, hend = min(hstart + K, H + P),
//    pool_size = (hend - hstart) * (wend - wstart), then clamp to [0, H);
//    divisor = count_include_pad ? pool_size : clamped area; an empty window
//    gives 0.
//  * adaptive: start = floor(i*In/Out), end = ceil((i+1)*In/Out).
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

#include "llvm/IR/Constants.h"

#include <limits>

using namespace llvm;

namespace cnnc::codegen {

namespace {
struct Dims {
  int64_t N, C, H, W, OH, OW;
};

Expected<Dims> poolDims(Kernel &k) {
  const ir::Shape &xs = k.node.operands[0]->shape, &ys = k.node.shape;
  if (xs.size() != 4 || ys.size() != 4 || xs[0] != ys[0] || xs[1] != ys[1])
    return k.error("expected 4-d input and output with equal N, C");
  return Dims{xs[0], xs[1], xs[2], xs[3], ys[2], ys[3]};
}

/// Loops over n, c (as one plane index), oh, ow and stores body's value.
void forEachOutput(Kernel &k, const Dims &d,
                   function_ref<Value *(Value *xPlane, Value *oh, Value *ow)> body) {
  IRBuilder<> &b = k.b;
  forLoop(b, 0, d.N * d.C, [&](Value *p) {
    Value *xPlane = k.mul(p, d.H * d.W);
    Value *yPlane = k.mul(p, d.OH * d.OW);
    forLoop(b, 0, d.OH, [&](Value *oh) {
      forLoop(b, 0, d.OW, [&](Value *ow) {
        Value *v = body(xPlane, oh, ow);
        k.store(v, k.out, k.add(yPlane, k.add(k.mul(oh, d.OW), ow)));
      });
    });
  });
}
} // namespace

Error lowerMaxPool2d(Kernel &k) {
  // Vectorized over output columns, scalar at the borders (PoolVector.cpp).
  return lowerMaxPool2dVector(k);
}

Error lowerAvgPool2d(Kernel &k) {
  auto dOr = poolDims(k);
  if (!dOr)
    return dOr.takeError();
  Dims d = *dOr;
  const ir::Attrs &a = k.node.attrs;
  IRBuilder<> &b = k.b;
  forEachOutput(k, d, [&](Value *xPlane, Value *oh, Value *ow) {
    Value *hs = k.add(k.mul(oh, a.stride[0]), -a.padding[0]);
    Value *ws = k.add(k.mul(ow, a.stride[1]), -a.padding[1]);
    Value *he = k.smin(k.add(hs, a.kernel[0]), k.i64(d.H + a.padding[0]));
    Value *we = k.smin(k.add(ws, a.kernel[1]), k.i64(d.W + a.padding[1]));
    Value *poolSize = b.CreateMul(b.CreateSub(he, hs), b.CreateSub(we, ws));
    hs = k.smax(hs, k.i64(0));
    ws = k.smax(ws, k.i64(0));
    he = k.smin(he, k.i64(d.H));
    we = k.smin(we, k.i64(d.W));
    Value *sum = forRangeAcc(b, hs, he, k.f(0.0), [&](Value *ih, Value *acc) {
      Value *row = k.add(xPlane, k.mul(ih, d.W));
      return forRangeAcc(b, ws, we, acc, [&](Value *iw, Value *acc) {
        return k.fadd(acc, k.load(k.in[0], k.add(row, iw)));
      });
    });
    Value *div = poolSize;
    if (!a.countIncludePad)
      div = b.CreateMul(k.smax(b.CreateSub(he, hs), k.i64(0)),
                        k.smax(b.CreateSub(we, ws), k.i64(0)));
    // An empty window sums to 0; keep 0 / 0 from producing NaN.
    div = k.smax(div, k.i64(1));
    return b.CreateFDiv(sum, b.CreateSIToFP(div, k.f32()));
  });
  return Error::success();
}

/// A global pooling (1x1 output) of an nChw<B>c input: B channels per
/// vector, the pixels in the scalar kernel's order; the output [N][C][1][1]
/// is the same bytes in both layouts.
static Error lowerGlobalPoolBlocked(Kernel &k, const Dims &d, int64_t B, bool isMax) {
  if (d.OH != 1 || d.OW != 1 || d.C % B)
    return k.error("internal error: blocked input to a pooling that is not global");
  IRBuilder<> &b = k.b;
  auto *vt = FixedVectorType::get(k.f32(), B);
  const int64_t P = d.H * d.W;
  Constant *init =
      ConstantFP::get(vt, isMax ? -std::numeric_limits<double>::infinity() : 0.0);
  forLoop(b, 0, d.N * d.C / B, [&](Value *pl) {
    Value *x = k.ptr(k.in[0], k.mul(pl, P * B));
    Value *r = forLoopAcc(b, 0, P, init, [&](Value *p, Value *acc) {
      Value *v = b.CreateAlignedLoad(vt, k.ptr(x, k.mul(p, B)), Align(4));
      return isMax ? k.fmaxNaN(acc, v) : k.fadd(acc, v);
    });
    if (!isMax)
      r = b.CreateFDiv(r, ConstantFP::get(vt, double(P)));
    b.CreateAlignedStore(r, k.ptr(k.out, k.mul(pl, B)), Align(4));
  });
  return Error::success();
}

Error lowerAdaptivePool2d(Kernel &k) {
  auto dOr = poolDims(k);
  if (!dOr)
    return dOr.takeError();
  Dims d = *dOr;
  if (d.OH <= 0 || d.OW <= 0)
    return k.error("empty output");
  bool isMax = k.node.kind == ir::OpKind::AdaptiveMaxPool2d;
  IRBuilder<> &b = k.b;
  if (int64_t B = k.node.operands[0]->channelBlock)
    return lowerGlobalPoolBlocked(k, d, B, isMax);
  auto start = [&](Value *i, int64_t in, int64_t out) {
    return b.CreateUDiv(k.mul(i, in), k.i64(out));
  };
  auto end = [&](Value *i, int64_t in, int64_t out) {
    return b.CreateUDiv(k.add(k.mul(k.add(i, 1), in), out - 1), k.i64(out));
  };
  Value *negInf = k.f(-std::numeric_limits<double>::infinity());
  forEachOutput(k, d, [&](Value *xPlane, Value *oh, Value *ow) {
    Value *hs = start(oh, d.H, d.OH), *he = end(oh, d.H, d.OH);
    Value *ws = start(ow, d.W, d.OW), *we = end(ow, d.W, d.OW);
    Value *init = isMax ? negInf : k.f(0.0);
    Value *r = forRangeAcc(b, hs, he, init, [&](Value *ih, Value *acc) {
      Value *row = k.add(xPlane, k.mul(ih, d.W));
      return forRangeAcc(b, ws, we, acc, [&](Value *iw, Value *acc) {
        Value *v = k.load(k.in[0], k.add(row, iw));
        return isMax ? k.fmaxNaN(acc, v) : k.fadd(acc, v);
      });
    });
    if (isMax)
      return r;
    Value *cnt = b.CreateMul(b.CreateSub(he, hs), b.CreateSub(we, ws));
    return b.CreateFDiv(r, b.CreateSIToFP(cnt, k.f32()));
  });
  return Error::success();
}

} // namespace cnnc::codegen
