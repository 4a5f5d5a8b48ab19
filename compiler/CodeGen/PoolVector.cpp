//===- PoolVector.cpp - max pooling vectorised over output columns ---------===//
//
// Planes (n, c) run on the thread pool. Within a plane, the columns whose
// whole window lies inside the input (a static range) are computed VL output
// columns at a time: the window's rows are loaded as contiguous spans and
// max-reduced, then one constant stride-SW shuffle per kernel column picks
// each tap's VL values; a last vector overlapping the one before covers a
// range that is not a multiple of VL. Rows whose window crosses the padding
// or the ceil-mode overhang are peeled and reduce only the kernel rows
// inside the input. Only the few columns at the borders use the scalar
// formula (taps outside the input skipped). NaN propagates like PyTorch's
// kernel: a NaN tap wins. Interior rows go in blocks pooled first with
// maxps alone while the loaded rows are folded into a NaN check
// (emitNaNCheck); a block whose check finds a NaN (or an infinity) is
// pooled again with the NaN-aware max (a compare, a mask operation and a
// blend more per tap, which halved the speed on Zen 4).
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

#include "llvm/IR/Constants.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

using namespace llvm;

namespace cnnc::codegen {

namespace {
int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
/// Input bytes of a block of rows, pooled again if it holds a NaN.
constexpr int64_t kCheckBlockBytes = 8 * 1024;
} // namespace

Value *emitPoolSpan(Kernel &k, bool isMax, Value *base, Value *offset, int64_t rowStride,
                    ArrayRef<int64_t> khs, int64_t lanes, int64_t SW, int64_t KW, int64_t DW,
                    bool unsignedMax, Value *checkSlot) {
  IRBuilder<> &b = k.b;
  auto *spanTy = FixedVectorType::get(b.getFloatTy(), (lanes - 1) * SW + (KW - 1) * DW + 1);
  auto combine = [&](Value *acc, Value *v) {
    if (!acc)
      return v;
    if (!isMax)
      return b.CreateFAdd(acc, v);
    if (checkSlot)
      return k.fmaxNoNaN(acc, v);
    return unsignedMax ? k.fmaxNonNegative(acc, v) : k.fmaxNaN(acc, v);
  };
  Value *rows = nullptr;
  std::vector<Value *> loaded;
  for (int64_t kh : khs) {
    loaded.push_back(b.CreateAlignedLoad(spanTy, k.ptr(base, k.add(offset, kh * rowStride)),
                                         Align(4)));
    rows = combine(rows, loaded.back());
  }
  if (checkSlot) {
    // *checkSlot += emitNaNCheck of the span's whole vectors, once per
    // span (no FMA latency is carried from one span to the next). The
    // caller checks the floats after the last whole vector of a row's last
    // span: the spans of a row overlap or touch, so that is all a row's
    // spans leave out.
    const int64_t VL = lanes, parts = int64_t(spanTy->getNumElements()) / VL;
    auto *partTy = FixedVectorType::get(b.getFloatTy(), VL);
    std::vector<Value *> vecs;
    for (int64_t q = 0; q < parts; ++q) {
      std::vector<int> m;
      for (int64_t l = 0; l < VL; ++l)
        m.push_back(int(q * VL + l));
      for (Value *r : loaded)
        vecs.push_back(b.CreateShuffleVector(r, m));
    }
    Value *sum = emitNaNCheck(k, vecs);
    b.CreateStore(b.CreateFAdd(b.CreateLoad(partTy, checkSlot), sum), checkSlot);
  }
  Value *acc = nullptr;
  for (int64_t kw = 0; kw < KW; ++kw) {
    std::vector<int> m;
    for (int64_t l = 0; l < lanes; ++l)
      m.push_back(int(l * SW + kw * DW));
    acc = combine(acc, b.CreateShuffleVector(rows, m));
  }
  return acc;
}

Error lowerMaxPool2dVector(Kernel &k) {
  const ir::Shape &xs = k.node.operands[0]->shape, &ys = k.node.shape;
  if (xs.size() != 4 || ys.size() != 4 || xs[0] != ys[0] || xs[1] != ys[1])
    return k.error("expected 4-d input and output with equal N, C");
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], OH = ys[2],
                OW = ys[3];
  const ir::Attrs &a = k.node.attrs;
  const int64_t KH = a.kernel[0], KW = a.kernel[1], SH = a.stride[0],
                SW = a.stride[1], PH = a.padding[0], PW = a.padding[1],
                DH = a.dilation[0], DW = a.dilation[1];
  if (SH <= 0 || SW <= 0 || DH <= 0 || DW <= 0 || KH <= 0 || KW <= 0)
    return k.error("bad pooling attributes");

  IRBuilder<> &b = k.b;
  const double inf = std::numeric_limits<double>::infinity();

  // Rows whose window lies inside the input: oh*SH - PH >= 0 and
  // oh*SH - PH + (KH-1)*DH <= H-1; columns likewise.
  auto interior = [](int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d,
                     int64_t &lo, int64_t &hi) {
    lo = std::min(out, ceilDiv(p, s));
    int64_t last = in - 1 + p - (k - 1) * d;
    hi = last >= 0 ? std::min(out, last / s + 1) : 0;
    hi = std::max(hi, lo);
  };
  int64_t ohLo, ohHi, owLo, owHi;
  interior(H, OH, KH, SH, PH, DH, ohLo, ohHi);
  interior(W, OW, KW, SW, PW, DW, owLo, owHi);
  // Vectors of the target's width, or narrower ones (down to 4 floats)
  // where the interior columns are fewer (SqueezeNet's 13-column pooling:
  // 8 + an overlapping 8 instead of 13 scalar windows).
  int64_t VL = k.vec.width;
  while (VL > 4 && VL > owHi - owLo)
    VL /= 2;
  auto *vecTy = FixedVectorType::get(b.getFloatTy(), VL);
  // Interior columns go VL at a time; when they are not a multiple of VL,
  // one more vector ends at owHi and overlaps the one before it (pooling
  // the same columns twice stores the same values).
  const int64_t nVec = (owHi - owLo) / VL;
  const bool tailVec = nVec > 0 && (owHi - owLo) % VL != 0;
  const int64_t owVecHi = nVec > 0 ? owHi : owLo;

  // One output element, scalar, taps outside the input skipped.
  auto scalarAt = [&](Value *xp, Value *yp, Value *oh, Value *ow) {
    Value *ih0 = k.add(k.mul(oh, SH), -PH), *iw0 = k.add(k.mul(ow, SW), -PW);
    Value *acc = k.f(-inf);
    for (int64_t kh = 0; kh < KH; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw) {
        Value *ih = k.add(ih0, kh * DH), *iw = k.add(iw0, kw * DW);
        Value *ok = b.CreateAnd(b.CreateICmpULT(ih, k.i64(H)),
                                b.CreateICmpULT(iw, k.i64(W)));
        Value *idx = b.CreateSelect(ok, k.add(k.mul(ih, W), iw), k.i64(0));
        Value *v = b.CreateSelect(ok, k.load(xp, idx), k.f(-inf));
        acc = k.fmaxNaN(acc, v);
      }
    k.store(acc, yp, k.add(k.mul(oh, OW), ow));
  };
  auto scalarRange = [&](Value *xp, Value *yp, Value *oh, int64_t from,
                         int64_t to) {
    forLoop(b, from, to, [&](Value *ow) { scalarAt(xp, yp, oh, ow); });
  };

  // While the optimistic pass of a block is emitted: the vector of its
  // accumulated NaN check (emitPoolSpan).
  Value *checkSlot = nullptr;
  // VL outputs from column ow0 of row oh, over the kernel rows khs (those
  // inside the input).
  auto vectorAt = [&](Value *xp, Value *yp, Value *oh, Value *ow0, ArrayRef<int64_t> khs) {
    Value *row0 = k.mul(k.add(k.mul(oh, SH), -PH), W);
    Value *col0 = k.add(k.mul(ow0, SW), -PW);
    Value *acc = emitPoolSpan(k, true, xp, k.add(row0, col0), DH * W, khs, VL, SW, KW, DW,
                              /*unsignedMax=*/false, checkSlot);
    b.CreateAlignedStore(acc, k.ptr(yp, k.add(k.mul(oh, OW), ow0)), Align(4));
  };
  // One output row over the kernel rows khs: vectors over the interior
  // columns, the scalar formula at the column borders.
  auto emitRow = [&](Value *xp, Value *yp, Value *oh, ArrayRef<int64_t> khs) {
    if (khs.empty() || nVec == 0) {
      scalarRange(xp, yp, oh, 0, OW);
      return;
    }
    scalarRange(xp, yp, oh, 0, owLo);
    forLoop(b, 0, nVec, [&](Value *vi) { vectorAt(xp, yp, oh, k.add(k.mul(vi, VL), owLo), khs); });
    if (tailVec)
      vectorAt(xp, yp, oh, k.i64(owHi - VL), khs);
    const int64_t spanLen = (VL - 1) * SW + (KW - 1) * DW + 1;
    if (checkSlot && spanLen % VL) {
      // The last VL floats the row's last span reads, which its whole
      // vectors leave out (emitPoolSpan).
      Value *row0 = k.mul(k.add(k.mul(oh, SH), -PH), W);
      const int64_t end = (owVecHi - 1) * SW - PW + (KW - 1) * DW + 1;
      std::vector<Value *> vecs;
      for (int64_t kh : khs)
        vecs.push_back(k.vload(vecTy, xp, k.add(row0, kh * DH * W + end - VL)));
      b.CreateStore(b.CreateFAdd(b.CreateLoad(vecTy, checkSlot), emitNaNCheck(k, vecs)),
                    checkSlot);
    }
    scalarRange(xp, yp, oh, owVecHi, OW);
  };

  std::vector<int64_t> allRows;
  for (int64_t kh = 0; kh < KH; ++kh)
    allRows.push_back(kh);
  double cycles = double(N * C) * OH * OW * KH * KW / VL * 2;
  emitParallelFor(
      k, N * C, {k.in[0], k.out}, cycles,
      [&](ArrayRef<Value *> caps, Value *p) {
        Value *xp = k.ptr(caps[0], k.mul(p, H * W));
        Value *yp = k.ptr(caps[1], k.mul(p, OH * OW));
        // The check vector lives in a stack slot that SROA makes a register.
        Function *fn = b.GetInsertBlock()->getParent();
        IRBuilder<> eb(&fn->getEntryBlock(), fn->getEntryBlock().begin());
        Value *slot = eb.CreateAlloca(vecTy, nullptr, "pool.check");
        // Rows whose window crosses the padding or the ceil-mode overhang,
        // one by one with the kernel rows inside the input.
        auto borderRow = [&](int64_t oh) {
          std::vector<int64_t> khs;
          for (int64_t kh = 0; kh < KH; ++kh) {
            int64_t ih = oh * SH - PH + kh * DH;
            if (ih >= 0 && ih < H)
              khs.push_back(kh);
          }
          emitRow(xp, yp, k.i64(oh), khs);
        };
        for (int64_t oh = 0; oh < ohLo; ++oh)
          borderRow(oh);
        // Interior rows in blocks of R. A block is first pooled with maxps
        // alone while its loads accumulate a NaN check (emitPoolSpan); if
        // that finds a NaN (or an infinity), the block is pooled again
        // with the NaN-aware max. The border rows always take the latter.
        auto block = [&](Value *oh0, int64_t rows) {
          auto body = [&] {
            forLoop(b, 0, rows, [&](Value *r) { emitRow(xp, yp, k.add(oh0, r), allRows); });
          };
          if (nVec == 0) {
            body();
            return;
          }
          emitWithNaNRetry(k, slot, [&](bool fast) {
            checkSlot = fast ? slot : nullptr;
            body();
            checkSlot = nullptr;
          });
        };
        // CNNC_POOL_CHECK_BYTES: the block's input bytes (tests: small
        // blocks).
        const char *blockEnv = getenv("CNNC_POOL_CHECK_BYTES");
        const int64_t blockBytes = blockEnv && atol(blockEnv) > 0 ? atol(blockEnv) : kCheckBlockBytes;
        const int64_t R = std::max<int64_t>(1, blockBytes / (SH * W * 4));
        const int64_t nBlk = (ohHi - ohLo) / R, remRows = (ohHi - ohLo) % R;
        forLoop(b, 0, nBlk, [&](Value *bi) { block(k.add(k.mul(bi, R), ohLo), R); });
        if (remRows)
          block(k.i64(ohLo + nBlk * R), remRows);
        for (int64_t oh = ohHi; oh < OH; ++oh)
          borderRow(oh);
      });
  return Error::success();
}

} // namespace cnnc::codegen
