//===- ConvPool.cpp - pooling fused into a convolution's epilogue ---------===//
//
// The fuse-pool pass gives a conv2d a last epilogue step "maxpool2d" or
// "avgpool2d" whose windows tile the conv output (kernel == stride, no
// padding, floor mode). The direct convolution writes each work item's
// output rows into a stack buffer of the worker (or, for items too large
// for one, into the whole conv output in scratch) and calls emitPoolRows
// right after computing them, so the pooling reads data still in L1, no
// line of it moves between cores, and the full-size output needs no arena
// (the seed model's arena: 680 KiB -> 91 KiB). Max follows PyTorch's NaN
// rule (a NaN wins); average divides by the window size. When the tiles
// cannot hold whole windows (and after the Winograd kernel) the whole output
// is pooled after the convolution instead (emitPoolAfterConv).
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

#include "llvm/IR/Constants.h"

#include <cstdlib>

using namespace llvm;

namespace cnnc::codegen {

PoolGeom poolGeom(const ir::Node &conv) {
  PoolGeom y;
  const ir::EpilogueStep *p = conv.pooling();
  ir::Shape c = conv.opShape();
  if (!p || c.size() != 4 || conv.shape.size() != 4)
    return y;
  y.OH = c[2];
  y.OW = c[3];
  y.OHp = conv.shape[2];
  y.OWp = conv.shape[3];
  y.SH = p->window[0];
  y.SW = p->window[1];
  return y;
}

void emitPoolRows(Kernel &k, const ir::EpilogueStep &pool, const PoolGeom &y, Value *src,
                  Value *dst, Value *plane0, int64_t planes, Value *p0, int64_t rows,
                  const PoolBand *band) {
  IRBuilder<> &b = k.b;
  bool isMax = pool.kind == ir::OpKind::MaxPool2d;
  const bool unsignedMax = isMax && reluFeedsMaxPool(k);
  const int64_t VL = k.vec.width;
  std::vector<int64_t> khs;
  for (int64_t i = 0; i < y.SH; ++i)
    khs.push_back(i);
  // VL pooled columns at a time; the rest of a row as one vector ending at
  // the row's end (overlapping the one before), or as one narrower vector
  // when the row is shorter than VL.
  const int64_t nVec = y.OWp / VL, rem = y.OWp % VL;
  forLoop(b, 0, planes, [&](Value *pl) {
    Value *plane = k.add(plane0, pl);
    Value *in = band ? k.ptr(src, k.mul(pl, band->planeStride))
                     : k.ptr(src, k.mul(plane, y.OH * y.OW));
    Value *out = k.ptr(dst, k.mul(plane, y.OHp * y.OWp));
    forLoop(b, 0, rows, [&](Value *r) {
      Value *p = k.add(p0, r);
      Value *convRow = k.mul(p, y.SH);
      if (band)
        convRow = b.CreateSub(convRow, band->row0);
      Value *inRow = k.mul(convRow, y.OW);
      Value *outRow = k.ptr(out, k.mul(p, y.OWp));
      auto at = [&](Value *q, int64_t lanes) {
        Value *acc = emitPoolSpan(k, isMax, in, k.add(inRow, k.mul(q, y.SW)), y.OW, khs, lanes,
                                  y.SW, y.SW, 1, unsignedMax);
        if (!isMax)
          acc = b.CreateFDiv(acc, ConstantFP::get(acc->getType(), double(y.SH * y.SW)));
        b.CreateAlignedStore(acc, k.ptr(outRow, q), Align(4));
      };
      forLoop(b, 0, nVec, [&](Value *v) { at(k.mul(v, VL), VL); });
      if (rem && nVec)
        at(k.i64(y.OWp - VL), VL);
      else if (rem)
        at(k.i64(0), rem);
    });
  });
}

bool reluFeedsMaxPool(const Kernel &k) {
  static const bool off = getenv("CNNC_POOL_UMAX") && *getenv("CNNC_POOL_UMAX") == '0';
  if (off || k.vec.width < 8) // experiments: the NaN-aware float max instead
    return false;
  const auto &e = k.node.epilogue;
  return e.size() >= 2 && e.back().kind == ir::OpKind::MaxPool2d &&
         e[e.size() - 2].kind == ir::OpKind::Relu;
}

Value *convOutputInScratch(Kernel &k) {
  return k.b.CreateInBoundsGEP(
      k.b.getInt8Ty(), k.scratch,
      k.i64(kernelScratchBytes(k.node, k.vec) - poolScratchBytes(k.node)), "conv.out");
}

void emitPoolAfterConv(Kernel &k, Value *convOut) {
  const ir::EpilogueStep *pool = k.node.pooling();
  PoolGeom y = poolGeom(k.node);
  int64_t planes = y.OH ? ir::numElements(k.node.shape) / (y.OHp * y.OWp) : 0;
  emitParallelFor(k, planes, {convOut, k.out}, double(planes) * y.OH * y.OW,
                  [&](ArrayRef<Value *> caps, Value *plane) {
                    emitPoolRows(k, *pool, y, caps[0], caps[1], plane, 1, k.i64(0), y.OHp);
                  });
}

} // namespace cnnc::codegen
