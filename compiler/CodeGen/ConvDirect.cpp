//===- ConvDirect.cpp - register-blocked direct convolution ----------------===//
//
// Activations stay NCHW at kernel boundaries. The kernel
//  1. copies the input into scratch with the zero padding made explicit and
//     each padded row split into SW phases (phase p holds columns p, p+SW,
//     ...), so every tap of every output vector is one contiguous,
//     branch-free vector load, whatever the stride, dilation or padding
//     (small inputs: each work item copies the rows it reads into a stack
//     buffer of its own instead, see DirectPlan::ownRows);
//  2. packs the weights at compile time as, per group and per block of RK
//     output channels, [C/G][KH][KW][RK] (a constant global);
//  3. runs register tiles (ConvPlan.h) over (image, group, channel block,
//     row block) work items through the runtime's thread pool. A tile keeps
//     RK x RH x RV accumulator vectors of VL output columns; its inner loop
//     over input channels runs the KH x KW taps unrolled (with many taps,
//     a loop over the kernel rows with the KW taps unrolled), each tap
//     doing RH*RV input-vector loads, RK weight broadcasts and RK*RH*RV FMAs.
//     Bias and the fused epilogue (activations, residual adds) are applied
//     in registers; the last, partial vector of a row is stored with a
//     constant mask. A fused pooling (ConvPool.cpp) pools each work item's
//     rows right after they are computed, from a stack buffer of the item
//     (or the whole conv output in scratch when an item is too large).
// A 1x1, stride-1, unpadded convolution is treated as one long row (H*W
// columns) so no lanes are wasted at row ends, and reads its input in column
// groups of RV vectors with the channels of a group contiguous: a work item
// is one group (Cg x RV*VL floats) and all channel blocks over it. Its first
// tile reads the group from the input, storing it into a stack buffer as it
// goes (and prefetching the next group), the other tiles read that buffer
// from L1 (a GEMM's packed panel). When a group is too large for that, step
// 1 copies the whole input in that layout instead.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>

using namespace llvm;

namespace cnnc::codegen {

namespace {

bool convGeom(const ir::Node &n, ConvGeom &g) {
  if (!unfoldedConvGeom(n, g))
    return false;
  if (g.G <= 0 || g.C % g.G || g.K % g.G || g.SH <= 0 || g.SW <= 0 ||
      g.DH <= 0 || g.DW <= 0 || g.OH <= 0 || g.OW <= 0 || g.N <= 0)
    return false;
  g.Cg = g.C / g.G;
  g.Kg = g.K / g.G;
  // Pointwise: one long row.
  if (g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 &&
      g.PW == 0 && g.OH == g.H && g.OW == g.W) {
    g.W = g.OW = g.H * g.W;
    g.H = g.OH = 1;
  }
  return true;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Largest stack buffer for a work item's conv output before its fused
/// pooling (DirectPlan::localPool): well inside L1 with the tile's inputs.
constexpr int64_t kMaxItemBufBytes = 32 * 1024;
/// Largest stack buffer for a work item's own padded input rows
/// (DirectPlan::ownRows): with the block's weights, within L1.
constexpr int64_t kMaxOwnInputBytes = 16 * 1024;
/// Fewest row-block work items for which items that copy their own rows
/// run all channel blocks themselves (so the rows are copied once).
constexpr int64_t kMinRowItems = 8;
/// How far ahead a packed pointwise pass prefetches its input: the pass
/// this many passes later (256 -> 64 at 56x56, input 3.2 MB, AVX-512,
/// alternating: 1 pass ahead as before, 2 0.99x, 3 0.95x, 4 0.96x; SqueezeNet
/// and ResNet-50, whose 1x1 inputs mostly stay in L2, 0.99x / 1.01x).
constexpr int64_t kPrefetchPasses = 3;

/// Whether the tile loops over the kernel rows instead of unrolling all taps:
/// with many taps (a 7x7 stem: ~900 instructions per input channel) the
/// unrolled loop no longer fits the op cache and is decoder-bound (measured:
/// the loop is 10% faster on the stem, no faster at 3x3 and 5x5).
bool loopKernelRows(const ConvGeom &g, int64_t rk, int64_t rw) {
  return g.KH > 1 && g.KH * g.KW * (rk * rw + rk + rw) > kMaxUnrolledOps;
}

/// Whether a pointwise convolution (folded to one long row) reads its input
/// in column groups of RV vectors (see lowerConv2dDirect).
bool pointwiseGrouped(const ConvGeom &g, int64_t RV) {
  if (getenv("CNNC_CONV_GROUPED") && *getenv("CNNC_CONV_GROUPED") == '0')
    return false;
  return foldedPointwise(g) && RV <= kMaxGroupVectors;
}

/// The direct kernel's choices for a node on a target: the register tile,
/// the input layout, and how the input is read (shared by the lowering and
/// the scratch size, which must agree).
struct DirectPlan {
  ConvTile tile;
  ConvInputLayout L;
  int64_t GW, NG; ///< pointwise column groups: floats per group, groups
  bool grouped;   ///< pointwise input read in column groups
  bool packGroups; ///< ... packed per work item (no copy)
  bool inPlace;   ///< the padded layout is the input itself (no copy)
  /// A fused pooling, done by each work item right after its rows when they
  /// hold whole pooling windows: a row block of RH rows (RH a multiple of
  /// the window height), or a band of window-height rows computed as row
  /// blocks (rows past the last whole window are then not computed at all).
  bool poolPerBlock = false;
  bool band = false;    ///< ... items are bands of window-height rows
  int64_t rowStep = 1;  ///< output rows per work item
  /// ... and the item's conv output fits a worker's stack buffer
  /// (kMaxItemBufBytes), so the whole output needs no scratch.
  bool localPool = false;
  int64_t RB = 1;       ///< row blocks (work items per image and channel block)
  /// Each work item copies the padded input rows it reads into a stack
  /// buffer of its own, [Cg][ownRowsIn][rowPitch], instead of one shared
  /// copy in scratch before the parallel loop (see planDirect).
  bool ownRows = false;
  int64_t ownRowsIn = 0;
  /// ... and runs every channel block over them (items are row blocks),
  /// when there are enough row blocks to share between threads.
  bool kbInner = false;
  /// No shared input copy in scratch: the work items pack their groups,
  /// copy their own rows or read the input in place.
  bool noSharedCopy() const { return packGroups || inPlace || ownRows; }
  /// Floats of the input copy in scratch.
  int64_t copyFloats() const {
    if (noSharedCopy())
      return 0;
    return grouped ? L.N * NG * L.C * GW : L.floats();
  }
};

DirectPlan planDirect(const ir::Node &n, const ConvGeom &g, const VectorTarget &t) {
  DirectPlan p;
  const unsigned VL = t.width;
  const ir::EpilogueStep *pool = n.pooling();
  p.tile = chooseConvTile(g, t, pool ? pool->window[0] : 0);
  p.L = convInputLayout(g, VL);
  p.GW = p.tile.RV * VL;
  p.NG = ceilDiv(p.L.NV, p.tile.RV);
  p.grouped = pointwiseGrouped(g, p.tile.RV);
  p.packGroups = p.grouped && !n.pooling() && pointwisePacks(g, p.tile.RV, VL);
  // Without padding, at stride 1, with rows that are whole vectors, the
  // padded layout is the input itself: the tiles read it in place.
  p.inPlace = !p.grouped && g.PH == 0 && g.PW == 0 && g.SW == 1 &&
              p.L.phasePitch == g.W && p.L.Hp == g.H;
  const int64_t RH = p.tile.RH, CB = g.Cg / p.tile.Cb;
  const int64_t ps = pool ? pool->window[0] : 1;
  const PoolGeom Y = poolGeom(n);
  p.poolPerBlock = pool && CB == 1 && Y.OH == g.OH && (RH % ps == 0 || ps % RH == 0);
  p.band = p.poolPerBlock && RH < ps;
  p.rowStep = p.band ? ps : RH;
  p.localPool = p.poolPerBlock && p.tile.RK * p.rowStep * g.OW * 4 <= kMaxItemBufBytes &&
                !(getenv("CNNC_POOL_LOCAL") && *getenv("CNNC_POOL_LOCAL") == '0');
  p.RB = p.band ? Y.OHp : ceilDiv(g.OH, RH);
  // Small padded inputs: the shared copy is a serial step before the
  // parallel loop (too little work to pay for the pool), and at 2 threads
  // its lines move between the cores twice (the producer's output in, the
  // previous run's readers' copies out): 24 us of seed.conv2's 59 at 2
  // threads, 7 of 78 at 1 (measured against the same layer unpadded). So
  // when an item's rows fit a small buffer and copying them per item (once
  // per channel block, rows shared by neighbouring items copied by each)
  // costs little against the tiles, every item copies its own. Stride-1
  // columns only: the phase split of strided rows stays in the shared copy.
  p.ownRowsIn = (p.rowStep - 1) * g.SH + (g.KH - 1) * g.DH + 1;
  // (Experiments: CNNC_CONV_OWNROWS=0 turns this off, =1 keeps the channel
  // blocks in separate items.)
  const char *own = getenv("CNNC_CONV_OWNROWS");
  if (!p.grouped && !p.inPlace && CB == 1 && g.SW == 1 && !(own && *own == '0')) {
    const int64_t KB = ceilDiv(g.Kg, p.tile.RK);
    const bool inner = KB > 1 && g.N * g.G * p.RB >= kMinRowItems && !(own && *own == '1');
    double bytes = double(g.Cg) * p.ownRowsIn * p.L.rowPitch * 4;
    // A vector load and store per VL floats of every row an item copies.
    double copy = double(g.N) * g.G * (inner ? 1 : KB) * p.RB * g.Cg *
                  p.ownRowsIn * ceilDiv(p.L.rowPitch, VL) * 2.0;
    p.ownRows = bytes <= kMaxOwnInputBytes && copy <= 0.1 * p.tile.cost;
    p.kbInner = p.ownRows && inner;
  }
  return p;
}

} // namespace

int64_t kernelScratchBytes(const ir::Node &n, const VectorTarget &t) {
  if (n.kind != ir::OpKind::Conv2d)
    return 0;
  ConvGeom g;
  if (!convGeom(n, g))
    return 0;
  // What the kernel chosen for this target uses; at least one line, so that
  // a conv always gets scratch (its fast paths).
  int64_t bytes = 0, pool = poolScratchBytes(n);
  switch (chosenConvKernel(n, t)) {
  case ConvKernel::Winograd:
    // (A pooling in the fused schedule's items needs no scratch for the
    // conv output, but the fallback for non-finite inputs does; the
    // few-channel kernel's fallback is the direct kernel.)
    if (!winogradFewChosen(n, t)) {
      bytes = winogradScratchBytes(n, t);
      break;
    }
    [[fallthrough]];
  case ConvKernel::Direct: {
    DirectPlan d = planDirect(n, g, t);
    bytes = d.copyFloats() * 4;
    if (d.localPool) // the conv output stays in the work items' buffers
      pool = 0;
    break;
  }
  case ConvKernel::WinogradBlocked:
    bytes = winogradBlockedScratchBytes(n, t);
    break;
  case ConvKernel::ChanVec:
    bytes = chanVecScratchBytes(n);
    break;
  }
  return (std::max<int64_t>(bytes, 64) + 63) / 64 * 64 + pool;
}

int64_t poolScratchBytes(const ir::Node &n) {
  if (n.kind != ir::OpKind::Conv2d || !n.pooling())
    return 0;
  return (ir::numElements(n.opShape()) * 4 + 63) / 64 * 64;
}

Error lowerConv2dDirect(Kernel &k) {
  const ir::Node &n = k.node;
  ConvGeom g;
  if (!convGeom(n, g))
    return k.error("unsupported convolution geometry");
  if (!k.scratch)
    return k.error("internal error: direct convolution without scratch");
  const unsigned VL = k.vec.width;
  const DirectPlan D = planDirect(n, g, k.vec);
  const ConvTile &tile = D.tile;
  const ConvInputLayout &L = D.L;
  const int64_t RK = tile.RK, RH = tile.RH, RV = tile.RV;
  const int64_t Cb = tile.Cb, CB = g.Cg / tile.Cb;
  if (getenv("CNNC_CONV_DEBUG"))
    errs() << "conv " << n.name << ": VL " << VL << " RK " << RK << " RH "
           << RH << " RV " << RV << " Cb " << Cb << " NV " << L.NV << " est "
           << tile.cost << " cycles, "
           << (tile.rowsOuter ? "rows" : "channel blocks") << " outer"
           << (loopKernelRows(g, RK, RH * RV) ? ", kernel rows looped" : "") << "\n";

  // --- weights, packed --------------------------------------------------
  auto wtOr = k.tensor("weight");
  if (!wtOr)
    return wtOr.takeError();
  if (!*wtOr)
    return k.error("missing weight param");
  const std::vector<float> &wsrc = (*wtOr)->data;
  const int64_t taps = g.KH * g.KW;
  if ((int64_t)wsrc.size() != g.K * g.Cg * taps)
    return k.error("weight has the wrong size");
  std::vector<float> packed(wsrc.size());
  for (int64_t gi = 0; gi < g.G; ++gi)
    for (int64_t k0 = 0; k0 < g.Kg; k0 += RK) {
      int64_t rk = std::min(RK, g.Kg - k0);
      int64_t base = (gi * g.Kg + k0) * g.Cg * taps;
      for (int64_t kk = 0; kk < rk; ++kk)
        for (int64_t c = 0; c < g.Cg; ++c)
          for (int64_t t = 0; t < taps; ++t)
            packed[base + (c * taps + t) * rk + kk] =
                wsrc[((gi * g.Kg + k0 + kk) * g.Cg + c) * taps + t];
    }
  const ir::Param *wp = n.param("weight");
  Value *wPacked = k.constant("convpack." + wp->key, packed);
  auto bOr = k.param("bias");
  if (!bOr)
    return bOr.takeError();
  Value *biasG = *bOr;

  IRBuilder<> &b = k.b;
  LLVMContext &ctx = b.getContext();
  Type *f32 = b.getFloatTy();
  auto *vecTy = FixedVectorType::get(f32, VL);

  // Pointwise convolutions (one long row) read the input as column groups
  // of RV vectors with all channels of a group contiguous, [N][NG][C][GW]:
  // the loop over input channels then streams one contiguous block instead
  // of jumping a whole plane per channel (which also maps every channel's
  // lines onto a few L1 sets).
  const int64_t GW = D.GW, NG = D.NG;
  const bool grouped = D.grouped, packGroups = D.packGroups, inPlace = D.inPlace;
  const ir::EpilogueStep *pool = n.pooling();
  if (grouped && getenv("CNNC_CONV_DEBUG"))
    errs() << "conv " << n.name << ": pointwise input in column groups of " << RV
           << " vectors" << (packGroups ? ", packed per work item" : "")
           << (packGroups && CB > 1 ? " in " + std::to_string(CB) + " channel passes" : "")
           << "\n";

  const bool ownRows = D.ownRows;
  if (inPlace && getenv("CNNC_CONV_DEBUG"))
    errs() << "conv " << n.name << ": input read in place\n";
  if (ownRows && getenv("CNNC_CONV_DEBUG"))
    errs() << "conv " << n.name << ": each work item copies its " << D.ownRowsIn
           << " padded input rows"
           << (D.kbInner ? " and runs every channel block" : "") << "\n";

  // --- 1. padded, phase-split input copy (parallel over planes) ----------
  if (D.noSharedCopy()) {
    // Nothing to copy: the work items pack their groups or copy their own
    // rows, or read the input.
  } else if (grouped) {
    int64_t planes = g.N * g.C;
    emitParallelFor(
        k, planes, {k.in[0], k.scratch}, double(planes) * NG * GW * 0.5,
        [&](ArrayRef<Value *> caps, Value *p) {
          Value *nI = b.CreateUDiv(p, k.i64(g.C)), *cI = b.CreateURem(p, k.i64(g.C));
          Value *src = k.ptr(caps[0], k.mul(p, g.W));
          // Group q of this channel: ((n * NG + q) * C + c) * GW.
          auto dstOf = [&](Value *q) {
            return k.ptr(caps[1], k.mul(k.add(k.mul(k.add(k.mul(nI, NG), q), g.C), cI), GW));
          };
          int64_t full = g.W / GW, rest = g.W - full * GW;
          if (full > 0)
            forLoop(b, 0, full, [&](Value *q) {
              b.CreateMemCpy(dstOf(q), MaybeAlign(4), k.ptr(src, k.mul(q, GW)), MaybeAlign(4),
                             GW * 4);
            });
          if (full < NG) {
            Value *d = dstOf(k.i64(full));
            if (rest > 0)
              b.CreateMemCpy(d, MaybeAlign(4), k.ptr(src, k.i64(full * GW)), MaybeAlign(4),
                             rest * 4);
            b.CreateMemSet(k.ptr(d, k.i64(rest)), b.getInt8(0), (GW - rest) * 4, MaybeAlign(4));
          }
        });
  } else {
    int64_t planes = g.N * g.C;
    double cycles = double(planes) * L.plane * 0.5;
    emitParallelFor(
        k, planes, {k.in[0], k.scratch}, cycles,
        [&](ArrayRef<Value *> caps, Value *p) {
          Value *src = k.ptr(caps[0], k.mul(p, g.H * g.W));
          Value *dst = k.ptr(caps[1], k.mul(p, L.plane));
          auto zero = [&](Value *base, int64_t from, int64_t to) {
            if (from < to)
              b.CreateMemSet(k.ptr(base, k.i64(from)), b.getInt8(0),
                             (to - from) * 4, MaybeAlign(4));
          };
          int64_t rowLo = std::min(g.PH, L.Hp);
          int64_t rowHi = std::min(g.PH + g.H, L.Hp);
          zero(dst, 0, rowLo * L.rowPitch);
          zero(dst, rowHi * L.rowPitch, L.Hp * L.rowPitch);
          forLoop(b, rowLo, rowHi, [&](Value *ih) {
            Value *srow = k.ptr(src, k.mul(k.add(ih, -g.PH), g.W));
            Value *drow = k.ptr(dst, k.mul(ih, L.rowPitch));
            for (int64_t ph = 0; ph < g.SW; ++ph) {
              // Column q of phase ph is input column q*SW + ph - PW.
              int64_t qlo = std::max<int64_t>(0, ceilDiv(g.PW - ph, g.SW));
              int64_t qhi = ceilDiv(g.W + g.PW - ph, g.SW);
              qlo = std::min(qlo, L.phasePitch);
              qhi = std::max(qlo, std::min(qhi, L.phasePitch));
              Value *dph = k.ptr(drow, k.i64(ph * L.phasePitch));
              zero(dph, 0, qlo);
              zero(dph, qhi, L.phasePitch);
              if (g.SW == 1) {
                if (qhi > qlo)
                  b.CreateMemCpy(k.ptr(dph, k.i64(qlo)), MaybeAlign(4),
                                 k.ptr(srow, k.i64(qlo - g.PW)), MaybeAlign(4),
                                 (qhi - qlo) * 4);
              } else {
                forLoop(b, qlo, qhi, [&](Value *q) {
                  Value *v = k.load(srow, k.add(k.mul(q, g.SW), ph - g.PW));
                  k.store(v, dph, q);
                });
              }
            }
          });
        });
  }

  // --- 2. the tiles ---------------------------------------------------------
  // A fused pooling (DirectPlan::poolPerBlock): each work item pools its
  // rows right after computing them, from a stack buffer of its own
  // (localPool) or from the whole conv output in scratch; otherwise the
  // whole output is pooled afterwards.
  PoolGeom Y = poolGeom(n);
  const bool poolPerBlock = D.poolPerBlock, band = D.band, localPool = D.localPool;
  const int64_t ps = pool ? pool->window[0] : 1;
  Value *convOut = pool && !localPool ? convOutputInScratch(k) : k.out;
  if (pool && getenv("CNNC_CONV_DEBUG"))
    errs() << "conv " << n.name << ": fused " << ir::opName(pool->kind) << " "
           << (band ? "per band of rows" : poolPerBlock ? "per row block" : "after the conv")
           << (localPool ? " from the item's own buffer" : "") << "\n";

  const int64_t rowStep = D.rowStep; // output rows per work item
  const int64_t KB = ceilDiv(g.Kg, RK), RB = D.RB;
  const int64_t NV = L.NV;
  const bool kbInner = D.kbInner;
  const int64_t items = g.N * g.G * (kbInner ? 1 : KB) * RB;
  Function *fmuladd =
      Intrinsic::getDeclaration(&k.m, Intrinsic::fmuladd, {vecTy});

  // One tile: channels [k0, k0+rk), rows [oh0, oh0+rh), column vectors
  // [v0, v0+rv) (v0 runtime; `last` marks the group holding vector NV-1).
  Value *packBuf = nullptr; // the packed group the tiles read, if any
  // Set for the first tile of a packed group: it reads the group from the
  // input (packSrc, channel stride W), stores it into packBuf as it goes and
  // prefetches the input of the pass kPrefetchPasses later (packNext).
  Value *packSrc = nullptr, *packNext = nullptr;
  // The channel pass of a packed group when the channels run in passes
  // (CB > 1): the pack holds channels [packPass*Cb, packPass*Cb + Cb).
  Value *packPass = nullptr;
  // With a fused pooling and a small enough item, the conv output of the
  // item's rows goes to a stack buffer of the worker, [rk][rowStep][OW]
  // from conv row itemRow0, instead of the whole output in scratch: it
  // stays in L1 until pooled, and no cache line of it moves between cores.
  Value *itemBuf = nullptr, *itemRow0 = nullptr;
  // With ownRows, the item's padded input rows ([Cg][ownRowsIn][rowPitch],
  // buffer row 0 = padded row ownRow0 * SH).
  Value *ownIn = nullptr, *ownRow0 = nullptr;
  auto emitTile = [&](ArrayRef<Value *> caps, Value *nIdx, Value *gIdx,
                      Value *k0, int64_t rk, Value *oh0, int64_t rh,
                      Value *v0, int64_t rv, bool last) {
    Value *xs = caps[0], *out = caps[1];
    int64_t rw = rh * rv;
    Value *kAbs = k.add(k.mul(gIdx, g.Kg), k0); // first output channel
    // Input-channel block [cb*Cb, cb*Cb+Cb) when the channels are split.
    Value *cb = CB == 1 ? nullptr
                : packPass ? packPass
                           : b.CreatePtrToInt(caps.back(), b.getInt64Ty());
    Value *isFirst = cb ? b.CreateICmpEQ(cb, k.i64(0)) : nullptr;
    Value *isLast = cb ? b.CreateICmpEQ(cb, k.i64(CB - 1)) : nullptr;
    // Flat output index of vector j of channel kk (residuals use it too).
    Value *imgBase = k.mul(k.add(k.mul(nIdx, g.K), kAbs), g.OH * g.OW);
    auto outIdx = [&](int64_t kk, int64_t j) {
      int64_t rr = j / rv, vv = j % rv;
      Value *idx = k.add(k.mul(k.add(oh0, k.i64(rr)), g.OW),
                         k.mul(k.add(v0, k.i64(vv)), VL));
      return k.add(imgBase, k.add(idx, k.i64(kk * g.OH * g.OW)));
    };
    auto outPtr = [&](int64_t kk, int64_t j) {
      if (!itemBuf)
        return k.ptr(out, outIdx(kk, j));
      int64_t rr = j / rv, vv = j % rv;
      Value *row = b.CreateSub(k.add(oh0, rr), itemRow0);
      return k.ptr(itemBuf, k.add(k.mul(row, g.OW),
                                  k.add(k.mul(k.add(v0, vv), VL), kk * rowStep * g.OW)));
    };
    auto storeMask = [&](int64_t j) -> Constant * {
      int64_t vv = j % rv;
      int64_t valid = VL;
      if (last && vv == rv - 1)
        valid = g.OW - (NV - 1) * VL;
      return laneMask(ctx, VL, 0, valid);
    };
    // Accumulator init: bias or zero; the partial sums of earlier channel
    // blocks when the channels are split.
    std::vector<Value *> init;
    for (int64_t kk = 0; kk < rk; ++kk) {
      Value *bv = ConstantFP::get(vecTy, 0.0);
      if (biasG) {
        Value *s = b.CreateAlignedLoad(f32, k.ptr(biasG, k.add(kAbs, kk)),
                                       Align(4));
        bv = b.CreateVectorSplat(VL, s);
      }
      for (int64_t j = 0; j < rw; ++j) {
        Value *v = bv;
        if (cb) {
          Value *p = outPtr(kk, j);
          Value *prev;
          if (Constant *m = storeMask(j))
            prev = b.CreateMaskedLoad(vecTy, p, Align(4), m,
                                      ConstantFP::get(vecTy, 0.0));
          else
            prev = b.CreateAlignedLoad(vecTy, p, Align(4));
          v = b.CreateSelect(isFirst, bv, prev);
        }
        init.push_back(v);
      }
    }
    Value *cOff = cb ? k.mul(cb, Cb) : k.i64(0);
    Value *xTile, *cStride;
    if (packSrc) {
      xTile = packSrc;
      cStride = k.i64(g.W);
    } else if (packBuf) { // [Cg][GW]
      xTile = packBuf;
      cStride = k.i64(GW);
    } else if (grouped) { // v0 is a multiple of RV: the tile is one column group
      Value *grp = b.CreateUDiv(v0, k.i64(RV));
      Value *ch = k.add(k.mul(gIdx, g.Cg), cOff);
      xTile = k.ptr(xs, k.mul(k.add(k.mul(k.add(k.mul(nIdx, NG), grp), g.C), ch), GW));
      cStride = k.i64(GW);
    } else if (ownIn) {
      xTile = k.ptr(ownIn, k.add(k.mul(b.CreateSub(oh0, ownRow0), g.SH * L.rowPitch),
                                 k.mul(v0, VL)));
      cStride = k.i64(D.ownRowsIn * L.rowPitch);
    } else {
      Value *xImg = k.ptr(xs, k.mul(k.add(k.add(k.mul(nIdx, g.C), k.mul(gIdx, g.Cg)),
                                       cOff),
                                 L.plane));
      xTile = k.ptr(xImg, k.add(k.mul(k.mul(oh0, g.SH), L.rowPitch),
                              k.mul(v0, VL)));
      cStride = k.i64(L.plane);
    }
    Value *wBlk = k.ptr(wPacked, k.add(k.mul(kAbs, g.Cg * taps),
                                     k.mul(cOff, taps * rk)));
    // The taps of kernel row kh, unrolled: xc / wc point at kernel row 0 of
    // one input channel's input and weights.
    auto emitRowTaps = [&](Value *xc, Value *wc, int64_t kh, std::vector<Value *> &r,
                           Value *packDst = nullptr) {
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        int64_t colOff = ((kw * g.DW) % g.SW) * L.phasePitch + (kw * g.DW) / g.SW;
        auto xload = [&](int64_t j) -> Value * {
          int64_t rr = j / rv, vv = j % rv;
          int64_t off = (rr * g.SH + kh * g.DH) * L.rowPitch + colOff + vv * VL;
          if (!packDst)
            return b.CreateAlignedLoad(vecTy, k.ptr(xc, k.i64(off)), Align(4));
          // Packing: the row's partial last vector is loaded masked (zeros
          // past the end), then every vector goes to the pack buffer.
          Value *v;
          if (Constant *m = storeMask(j))
            v = b.CreateMaskedLoad(vecTy, k.ptr(xc, k.i64(off)), Align(4), m,
                                   ConstantFP::get(vecTy, 0.0));
          else
            v = b.CreateAlignedLoad(vecTy, k.ptr(xc, k.i64(off)), Align(4));
          b.CreateAlignedStore(v, k.ptr(packDst, k.i64(off)), Align(VL * 4));
          return v;
        };
        auto wload = [&](int64_t kk) {
          Value *s = b.CreateAlignedLoad(f32, k.ptr(wc, k.i64((kh * g.KW + kw) * rk + kk)),
                                         Align(4));
          return b.CreateVectorSplat(VL, s);
        };
        emitOuterProductFma(b, fmuladd, rk, rw, xload, wload, r);
      }
    };
    const bool rowLoop = loopKernelRows(g, rk, rw);
    std::vector<Value *> acc = forLoopMulti(
        b, k.i64(0), k.i64(Cb), init,
        [&](Value *c, ArrayRef<Value *> a) {
          std::vector<Value *> r(a.begin(), a.end());
          Value *xc = k.ptr(xTile, b.CreateMul(c, cStride, "", false, true));
          Value *wc = k.ptr(wBlk, k.mul(c, taps * rk));
          // A later pass's rows (packNext) into L2 while this one is
          // computed: a stream per channel is too many for the hardware
          // prefetcher.
          if (packNext)
            for (int64_t off = 0; off < GW; off += 16) // 16 floats: a line
              b.CreateIntrinsic(Intrinsic::prefetch, {b.getPtrTy()},
                                {b.CreateGEP(f32, packNext, k.add(k.mul(c, g.W), k.i64(off))),
                                 b.getInt32(0), b.getInt32(2), b.getInt32(1)});
          Value *packDst = packSrc ? k.ptr(packBuf, k.mul(c, GW)) : nullptr;
          if (!rowLoop) {
            for (int64_t kh = 0; kh < g.KH; ++kh)
              emitRowTaps(xc, wc, kh, r, packDst);
            return r;
          }
          return forLoopMulti(
              b, k.i64(0), k.i64(g.KH), r,
              [&](Value *kh, ArrayRef<Value *> a2) {
                std::vector<Value *> r2(a2.begin(), a2.end());
                emitRowTaps(k.ptr(xc, k.mul(kh, g.DH * L.rowPitch)),
                            k.ptr(wc, k.mul(kh, g.KW * rk)), 0, r2);
                return r2;
              },
              /*knownNonEmpty=*/true);
        },
        /*knownNonEmpty=*/true);
    // Epilogue (after the last channel block): the fused activations and
    // residual adds; store (masked for the row's partial vector).
    std::vector<Value *> opPtrs(n.operands.size(), nullptr);
    for (size_t i = 1; i < n.operands.size(); ++i)
      opPtrs[i] = caps[1 + i];
    for (int64_t kk = 0; kk < rk; ++kk)
      for (int64_t j = 0; j < rw; ++j) {
        Value *v = acc[kk * rw + j];
        if (!n.epilogue.empty()) {
          Value *a = emitEpilogue(k, v, opPtrs, outIdx(kk, j), storeMask(j));
          v = isLast ? b.CreateSelect(isLast, a, v) : a;
        }
        Value *p = outPtr(kk, j);
        if (Constant *m = storeMask(j))
          b.CreateMaskedStore(v, p, Align(4), m);
        else
          b.CreateAlignedStore(v, p, Align(4));
      }
  };

  // A row block: every column group, the last one static.
  auto emitRowBlock = [&](ArrayRef<Value *> caps, Value *nIdx, Value *gIdx,
                          Value *k0, int64_t rk, Value *oh0, int64_t rh) {
    int64_t vFull = NV / RV, vRem = NV % RV;
    int64_t loopGroups = vRem ? vFull : vFull - 1;
    if (loopGroups > 0)
      forLoop(b, 0, loopGroups, [&](Value *gi) {
        emitTile(caps, nIdx, gIdx, k0, rk, oh0, rh, k.mul(gi, RV), RV, false);
      });
    int64_t lastRv = vRem ? vRem : RV;
    emitTile(caps, nIdx, gIdx, k0, rk, oh0, rh, k.i64(NV - lastRv), lastRv,
             true);
  };

  // A packed pointwise work item: every channel block over column group
  // `grp` of image nIdx, group gIdx, the group packed ([Cg][GW]) into
  // packBuf by the first tile. `last`: the group holding vector NV-1.
  auto emitPackedGroup = [&](ArrayRef<Value *> caps, Value *nIdx, Value *gIdx,
                             Value *grp, bool last) {
    int64_t rv = last ? NV - (NG - 1) * RV : RV;
    Value *src = k.ptr(caps[0], k.add(k.mul(k.add(k.mul(nIdx, g.C), k.mul(gIdx, g.Cg)), g.W),
                                    k.mul(grp, GW)));
    Value *v0 = k.mul(grp, RV);
    int64_t kFull = g.Kg / RK, kRem = g.Kg % RK;
    // Per channel pass, the first tile packs the pass's channels (and
    // prefetches a later pass's input), the others read the pack.
    int64_t rk0 = kFull ? RK : kRem;
    auto pass = [&](Value *p) {
      Value *passSrc = p ? k.ptr(src, k.mul(p, Cb * g.W)) : src;
      // The pass kPrefetchPasses later in a worker's order (group by group,
      // passes within a group): (p + kPrefetchPasses) / CB groups on, pass
      // (p + kPrefetchPasses) % CB. Past the image's last group the address
      // may lie beyond the input, so it is formed without inbounds (a
      // prefetch does not fault).
      Value *ahead = k.add(p ? p : k.i64(0), kPrefetchPasses);
      Value *tg = b.CreateUDiv(ahead, k.i64(CB)), *tp = b.CreateURem(ahead, k.i64(CB));
      Value *next = nullptr;
      if (!last)
        next = b.CreateGEP(f32, src, k.add(k.mul(tg, GW), k.mul(tp, Cb * g.W)));
      packPass = p;
      packSrc = passSrc;
      packNext = next;
      emitTile(caps, nIdx, gIdx, k.i64(0), rk0, k.i64(0), 1, v0, rv, last);
      packSrc = packNext = nullptr;
      forLoop(b, 1, kFull, [&](Value *kb) {
        emitTile(caps, nIdx, gIdx, k.mul(kb, RK), RK, k.i64(0), 1, v0, rv, last);
      });
      if (kRem && kFull)
        emitTile(caps, nIdx, gIdx, k.i64(kFull * RK), kRem, k.i64(0), 1, v0, rv, last);
      packPass = nullptr;
    };
    if (CB == 1)
      pass(nullptr);
    else
      forLoop(b, 0, CB, [&](Value *p) { pass(p); });
  };
  auto runPackedItems = [&](ArrayRef<Value *> captures) {
    emitParallelFor(k, g.N * g.G * NG, captures, tile.cost + double(g.N) * g.C * g.W,
                    [&](ArrayRef<Value *> caps, Value *item) {
      Function *f = b.GetInsertBlock()->getParent();
      { // in the outlined function's entry block: one buffer per thread
        IRBuilder<> eb(&f->getEntryBlock(), f->getEntryBlock().begin());
        auto *buf = eb.CreateAlloca(ArrayType::get(f32, Cb * GW));
        buf->setAlignment(Align(64));
        packBuf = buf;
      }
      Value *grp = b.CreateURem(item, k.i64(NG)), *t = b.CreateUDiv(item, k.i64(NG));
      Value *gIdx = b.CreateURem(t, k.i64(g.G)), *nIdx = b.CreateUDiv(t, k.i64(g.G));
      if (NG == 1) {
        emitPackedGroup(caps, nIdx, gIdx, grp, true);
        return;
      }
      BasicBlock *full = BasicBlock::Create(ctx, "group.full", f);
      BasicBlock *rest = BasicBlock::Create(ctx, "group.last", f);
      BasicBlock *done = BasicBlock::Create(ctx, "group.done", f);
      b.CreateCondBr(b.CreateICmpULT(grp, k.i64(NG - 1)), full, rest);
      b.SetInsertPoint(full);
      emitPackedGroup(caps, nIdx, gIdx, grp, false);
      b.CreateBr(done);
      b.SetInsertPoint(rest);
      emitPackedGroup(caps, nIdx, gIdx, grp, true);
      b.CreateBr(done);
      b.SetInsertPoint(done);
    });
  };

  // ownRows: the item's padded input rows, from padded row oh0 * SH on, of
  // the group's channels, into ownIn. Rows outside the input are zeros; in
  // a row, column q is input column q - PW, every VL-float piece one
  // (masked) load and store with constant masks: a row's pieces are
  // static, only its source row is not.
  auto emitOwnRows = [&](Value *x, Value *nIdx, Value *gIdx, Value *oh0) {
    const int64_t rows = D.ownRowsIn, pitch = L.rowPitch;
    Value *src = k.ptr(x, k.mul(k.add(k.mul(nIdx, g.C), k.mul(gIdx, g.Cg)), g.H * g.W));
    Value *r0 = k.add(k.mul(oh0, g.SH), -g.PH); // input row of buffer row 0
    // Lane l is buffer column q0 + l (< pitch), input column q0 + l - PW.
    auto mask = [&](int64_t q0, bool load) -> Constant * {
      int64_t lo = load ? g.PW - q0 : 0;
      int64_t hi = std::min(pitch - q0, load ? g.W + g.PW - q0 : pitch - q0);
      return laneMask(ctx, VL, lo, hi);
    };
    auto store = [&](Value *v, Value *p, int64_t q0) {
      if (Constant *m = mask(q0, false))
        b.CreateMaskedStore(v, p, Align(4), m);
      else
        b.CreateAlignedStore(v, p, Align(4));
    };
    Value *zero = ConstantFP::get(vecTy, 0.0);
    forLoop(b, 0, g.Cg, [&](Value *c) {
      forLoop(b, 0, rows, [&](Value *r) {
        Value *ih = k.add(r0, r);
        Value *drow = k.ptr(ownIn, k.mul(k.add(k.mul(c, rows), r), pitch));
        Function *f = b.GetInsertBlock()->getParent();
        BasicBlock *copyB = BasicBlock::Create(ctx, "own.copy", f);
        BasicBlock *zeroB = BasicBlock::Create(ctx, "own.zero", f);
        BasicBlock *next = BasicBlock::Create(ctx, "own.next", f);
        // Unsigned: rows above the input are negative.
        b.CreateCondBr(b.CreateICmpULT(ih, k.i64(g.H)), copyB, zeroB);
        b.SetInsertPoint(copyB);
        Value *srow = k.ptr(src, k.add(k.mul(c, g.H * g.W), k.mul(ih, g.W)));
        for (int64_t q0 = 0; q0 < pitch; q0 += VL) {
          int64_t lo = q0 - g.PW; // input column of lane 0
          Value *v = zero;
          if (lo + (int64_t)VL > 0 && lo < g.W) {
            // Not inbounds: lanes before column 0 are masked off, and the
            // address of lane 0 may lie before the row.
            Value *p = b.CreateGEP(f32, srow, k.i64(lo));
            if (Constant *m = mask(q0, true))
              v = b.CreateMaskedLoad(vecTy, p, Align(4), m, zero);
            else
              v = b.CreateAlignedLoad(vecTy, p, Align(4));
          }
          store(v, k.ptr(drow, k.i64(q0)), q0);
        }
        b.CreateBr(next);
        b.SetInsertPoint(zeroB);
        for (int64_t q0 = 0; q0 < pitch; q0 += VL)
          store(zero, k.ptr(drow, k.i64(q0)), q0);
        b.CreateBr(next);
        b.SetInsertPoint(next);
      });
    });
  };

  double cycles = tile.cost;
  bool rowsOuter = tile.rowsOuter;
  if (const char *o = getenv("CNNC_CONV_ORDER")) // experiments: 0 / 1
    rowsOuter = *o == '1';
  auto runItems = [&](ArrayRef<Value *> captures) {
  emitParallelFor(
      k, items, captures, cycles / CB,
      [&](ArrayRef<Value *> caps, Value *item) {
        Value *rb, *kb = nullptr, *t;
        if (kbInner) {
          rb = b.CreateURem(item, k.i64(RB));
          t = b.CreateUDiv(item, k.i64(RB));
        } else if (rowsOuter) {
          kb = b.CreateURem(item, k.i64(KB));
          t = b.CreateUDiv(item, k.i64(KB));
          rb = b.CreateURem(t, k.i64(RB));
          t = b.CreateUDiv(t, k.i64(RB));
        } else {
          rb = b.CreateURem(item, k.i64(RB));
          t = b.CreateUDiv(item, k.i64(RB));
          kb = b.CreateURem(t, k.i64(KB));
          t = b.CreateUDiv(t, k.i64(KB));
        }
        Value *gIdx = b.CreateURem(t, k.i64(g.G));
        Value *nIdx = b.CreateUDiv(t, k.i64(g.G));
        Value *k0 = nullptr; // the channel block's first channel
        Value *oh0 = k.mul(rb, rowStep);
        int64_t kRem = g.Kg % RK, hRem = band ? 0 : g.OH % RH;
        Function *f = b.GetInsertBlock()->getParent();
        if (localPool) {
          IRBuilder<> eb(&f->getEntryBlock(), f->getEntryBlock().begin());
          auto *buf = eb.CreateAlloca(ArrayType::get(f32, RK * rowStep * g.OW));
          buf->setAlignment(Align(64));
          itemBuf = buf;
          itemRow0 = oh0;
        }
        if (ownRows) {
          IRBuilder<> eb(&f->getEntryBlock(), f->getEntryBlock().begin());
          auto *buf = eb.CreateAlloca(ArrayType::get(f32, g.Cg * D.ownRowsIn * L.rowPitch));
          buf->setAlignment(Align(64));
          ownIn = buf;
          ownRow0 = oh0;
          emitOwnRows(caps[0], nIdx, gIdx, oh0);
        }
        BasicBlock *done = nullptr; // where a channel block's variants join
        // Variant dispatch on (last channel block?, last row block?).
        auto variant = [&](int64_t rk, int64_t rh) {
          if (band)
            for (int64_t j = 0; j < ps / RH; ++j)
              emitRowBlock(caps, nIdx, gIdx, k0, rk, k.add(oh0, j * RH), RH);
          else
            emitRowBlock(caps, nIdx, gIdx, k0, rk, oh0, rh);
          if (poolPerBlock) {
            // Pooled rows whose windows lie in [oh0, oh0 + rh).
            int64_t s = ps;
            int64_t rows = band ? 1 : std::min(rh / s, Y.OHp);
            Value *plane = k.add(k.mul(nIdx, g.K), k.add(k.mul(gIdx, g.Kg), k0));
            // (oh0 is a multiple of s, so these rows are all < OHp.)
            Value *p0 = b.CreateUDiv(oh0, k.i64(s));
            PoolBand own{rowStep * g.OW, oh0};
            if (rows > 0)
              emitPoolRows(k, *pool, Y, itemBuf ? itemBuf : caps[1],
                           caps[1 + n.operands.size()], plane, rk, p0, rows,
                           itemBuf ? &own : nullptr);
          }
          b.CreateBr(done);
        };
        auto splitRows = [&](int64_t rk) {
          if (!hRem) {
            variant(rk, RH);
            return;
          }
          BasicBlock *full = BasicBlock::Create(ctx, "rows.full", f);
          BasicBlock *rem = BasicBlock::Create(ctx, "rows.rem", f);
          b.CreateCondBr(b.CreateICmpULT(rb, k.i64(RB - 1)), full, rem);
          b.SetInsertPoint(full);
          variant(rk, RH);
          b.SetInsertPoint(rem);
          variant(rk, hRem);
        };
        // One channel block from k0: its variants, joining at `done`.
        auto block = [&](Value *first, function_ref<void()> variants) {
          k0 = first;
          done = BasicBlock::Create(ctx, "tile.done", f);
          variants();
          b.SetInsertPoint(done);
        };
        if (kbInner) { // every channel block, the short last one static
          int64_t kFull = g.Kg / RK;
          if (kFull > 0)
            forLoop(b, 0, kFull,
                    [&](Value *kbi) { block(k.mul(kbi, RK), [&] { splitRows(RK); }); });
          if (kRem)
            block(k.i64(kFull * RK), [&] { splitRows(kRem); });
        } else if (!kRem) {
          block(k.mul(kb, RK), [&] { splitRows(RK); });
        } else { // the item's block, full or the short last one
          block(k.mul(kb, RK), [&] {
            BasicBlock *full = BasicBlock::Create(ctx, "chans.full", f);
            BasicBlock *rem = BasicBlock::Create(ctx, "chans.rem", f);
            b.CreateCondBr(b.CreateICmpULT(kb, k.i64(KB - 1)), full, rem);
            b.SetInsertPoint(full);
            splitRows(RK);
            b.SetInsertPoint(rem);
            splitRows(kRem);
          });
        }
      });
  };
  // Captures: scratch, out (the conv output in scratch when a pooling is
  // fused), the residual operands, [the pooled output,] the channel block.
  std::vector<Value *> captures{D.noSharedCopy() ? k.in[0] : k.scratch, convOut};
  for (size_t i = 1; i < n.operands.size(); ++i)
    captures.push_back(k.in[i]);
  if (poolPerBlock)
    captures.push_back(k.out);
  if (packGroups)
    runPackedItems(captures);
  else if (CB == 1)
    runItems(captures);
  else // channel blocks in order, each over the whole pool
    forLoop(b, 0, CB, [&](Value *cbi) {
      std::vector<Value *> c = captures;
      c.push_back(b.CreateIntToPtr(cbi, b.getPtrTy()));
      runItems(c);
    });
  if (pool && !poolPerBlock)
    emitPoolAfterConv(k, convOut);
  return Error::success();
}

} // namespace cnnc::codegen
