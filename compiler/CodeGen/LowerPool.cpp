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

#include <algorithm>
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

/// Max pooling of an nChw<B>c input into an nChw<B>c output: B channels per
/// vector, taps outside the input (padding, ceil_mode overhang) ignored
/// (read clamped and replaced by -inf), NaN propagating. An item's interior
/// columns are pooled with maxps alone while their loads are checked for
/// NaNs, and again with the NaN-aware max if the check finds one (as in
/// PoolVector.cpp).
static Error lowerMaxPoolBlocked(Kernel &k, const Dims &d, int64_t B) {
  const ir::Attrs &a = k.node.attrs;
  if (d.C % B || k.node.channelBlock != B)
    return k.error("internal error: blocked max pooling in another layout");
  IRBuilder<> &b = k.b;
  auto *vt = FixedVectorType::get(k.f32(), B);
  Constant *negInf = ConstantFP::get(vt, -std::numeric_limits<double>::infinity());
  const int64_t planes = d.N * d.C / B;
  emitParallelFor(
      k, planes * d.OH, {k.in[0], k.out},
      double(planes * d.OH * d.OW) * a.kernel[0] * a.kernel[1],
      [&](ArrayRef<Value *> caps, Value *item) {
        Value *oh = b.CreateURem(item, k.i64(d.OH)), *pl = b.CreateUDiv(item, k.i64(d.OH));
        Value *x = k.ptr(caps[0], k.mul(pl, d.H * d.W * B));
        Value *y = k.ptr(caps[1], k.mul(item, d.OW * B));
        // The NaN check of the optimistic pass over the interior columns.
        Function *fn = b.GetInsertBlock()->getParent();
        IRBuilder<> eb(&fn->getEntryBlock(), fn->getEntryBlock().begin());
        Value *slot = eb.CreateAlloca(vt, nullptr, "pool.check");
        bool optimistic = false;
        // One output pixel; `checked`: some taps may fall outside the input.
        // In the optimistic pass, maxps alone, and what was loaded is added
        // to the NaN check (emitNaNCheck).
        auto pixel = [&](Value *ow, bool checked) {
          Value *acc = negInf;
          std::vector<Value *> taps;
          for (int64_t kh = 0; kh < a.kernel[0]; ++kh) {
            Value *ih = k.add(k.mul(oh, a.stride[0]), kh * a.dilation[0] - a.padding[0]);
            Value *okH = checked ? b.CreateICmpULT(ih, k.i64(d.H)) : nullptr;
            Value *row = k.mul(checked ? b.CreateSelect(okH, ih, k.i64(0)) : ih, d.W);
            for (int64_t kw = 0; kw < a.kernel[1]; ++kw) {
              Value *iw = k.add(k.mul(ow, a.stride[1]), kw * a.dilation[1] - a.padding[1]);
              if (!checked) {
                Value *v = k.vload(vt, x, k.mul(k.add(row, iw), B));
                taps.push_back(v);
                acc = optimistic ? k.fmaxNoNaN(acc, v) : k.fmaxNaN(acc, v);
                continue;
              }
              Value *ok = b.CreateAnd(okH, b.CreateICmpULT(iw, k.i64(d.W)));
              Value *px = k.add(row, b.CreateSelect(ok, iw, k.i64(0)));
              Value *v = k.vload(vt, x, k.mul(px, B));
              acc = k.fmaxNaN(acc, b.CreateSelect(ok, v, negInf));
            }
          }
          if (optimistic)
            b.CreateStore(b.CreateFAdd(b.CreateLoad(vt, slot), emitNaNCheck(k, taps)), slot);
          k.store(acc, y, k.mul(ow, B));
        };
        // Interior rows and columns: every tap inside the input.
        auto lo = [](int64_t P, int64_t S) { return (P + S - 1) / S; };
        auto hi = [](int64_t P, int64_t S, int64_t span, int64_t in, int64_t out) {
          // largest o + 1 with o*S - P + span - 1 <= in - 1
          int64_t h = in - 1 + P - (span - 1) < 0 ? 0 : (in - 1 + P - (span - 1)) / S + 1;
          return std::min(h, out);
        };
        const int64_t spanH = (a.kernel[0] - 1) * a.dilation[0] + 1;
        const int64_t spanW = (a.kernel[1] - 1) * a.dilation[1] + 1;
        const int64_t ohLo = std::min(lo(a.padding[0], a.stride[0]), d.OH);
        const int64_t ohHi = std::max(ohLo, hi(a.padding[0], a.stride[0], spanH, d.H, d.OH));
        const int64_t owLo = std::min(lo(a.padding[1], a.stride[1]), d.OW);
        const int64_t owHi = std::max(owLo, hi(a.padding[1], a.stride[1], spanW, d.W, d.OW));
        auto checkedRow = [&] { forLoop(b, 0, d.OW, [&](Value *ow) { pixel(ow, true); }); };
        ifElse(
            b, b.CreateAnd(b.CreateICmpUGE(oh, k.i64(ohLo)), b.CreateICmpULT(oh, k.i64(ohHi))),
            [&] {
              if (owLo > 0)
                forLoop(b, 0, owLo, [&](Value *ow) { pixel(ow, true); });
              // The interior columns with maxps alone, then again with the
              // NaN-aware max if what they loaded holds a NaN.
              auto interior = [&] {
                forLoop(b, owLo, owHi, [&](Value *ow) { pixel(ow, false); });
              };
              if (owHi > owLo)
                emitWithNaNRetry(k, slot, [&](bool fast) {
                  optimistic = fast;
                  interior();
                  optimistic = false;
                });
              if (d.OW > owHi)
                forLoop(b, owHi, d.OW, [&](Value *ow) { pixel(ow, true); });
            },
            checkedRow);
      });
  return Error::success();
}

Error lowerMaxPool2d(Kernel &k) {
  if (int64_t B = k.node.operands[0]->channelBlock) {
    auto dOr = poolDims(k);
    if (!dOr)
      return dOr.takeError();
    return lowerMaxPoolBlocked(k, *dOr, B);
  }
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

/// A global pooling (1x1 output) of an NCHW input: each plane reduced VL
/// floats at a time into one vector (the last floats one by one), then
/// across the vector's lanes.
static Error lowerGlobalPoolVector(Kernel &k, const Dims &d, bool isMax) {
  IRBuilder<> &b = k.b;
  const int64_t VL = k.vec.width, P = d.H * d.W, nv = P / VL;
  auto *vt = FixedVectorType::get(k.f32(), VL);
  const double init = isMax ? -std::numeric_limits<double>::infinity() : 0.0;
  auto combine = [&](Value *acc, Value *v) { return isMax ? k.fmaxNaN(acc, v) : k.fadd(acc, v); };
  forLoop(b, 0, d.N * d.C, [&](Value *pl) {
    Value *x = k.ptr(k.in[0], k.mul(pl, P));
    Value *r = forLoopAcc(b, 0, nv, ConstantFP::get(vt, init), [&](Value *i, Value *acc) {
      return combine(acc, b.CreateAlignedLoad(vt, k.ptr(x, k.mul(i, VL)), Align(4)));
    });
    Value *s = k.f(init);
    for (int64_t l = 0; l < VL; ++l)
      s = combine(s, b.CreateExtractElement(r, uint64_t(l)));
    for (int64_t i = nv * VL; i < P; ++i)
      s = combine(s, k.load(x, k.i64(i)));
    if (!isMax)
      s = b.CreateFDiv(s, k.f(double(P)));
    k.store(s, k.out, pl);
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
  if (d.OH == 1 && d.OW == 1 && d.H * d.W >= k.vec.width)
    return lowerGlobalPoolVector(k, d, isMax);
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
