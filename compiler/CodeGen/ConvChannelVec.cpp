//===- ConvChannelVec.cpp - convolution vectorised over output channels ----===//
//
// The direct kernel (ConvDirect.cpp) puts VL output columns of one channel
// in a register; a narrow output (7x7) wastes lanes and a strided one needs
// phase-split copies. This kernel puts VL *output channels* of one output
// pixel in a register instead, so the output's width and the stride do not
// matter:
//  * output pixels are flattened per image, p = oh * OW + ow (P = OH * OW),
//    and covered by tiles of RP consecutive pixels (one static remainder
//    tile), so a 7x7 output is 49 pixels with no lane wasted;
//  * output channels are padded to KV = ceil(K / VL) vectors and grouped in
//    blocks of RK vectors; the weights are packed at compile time per block
//    as [C][KH][KW][rk][VL] (rk = RK, fewer for the last block; zeros in the
//    lanes past K), so one tap's weights for the whole block are contiguous;
//  * a register tile holds RK x RP accumulators (RK channel vectors x RP
//    pixels). Its inner loop runs over the input channels with the taps
//    unrolled (or, with very many taps, a loop over the kernel rows); each
//    tap does RK weight-vector loads, RP scalar broadcasts of the input and
//    RK * RP FMAs. The input offset of every pixel of a tile is computed
//    once per tile; the taps' offsets are constants;
//  * when a block's weights exceed half of L1, the input channels are split
//    into passes of Cb channels: every tile of a work item runs one pass
//    while that pass's weights stay in L1, keeping its partial sums in a
//    stack buffer ([tile pixel][rk][VL]) until the next pass;
//  * padding: the input is first copied into scratch with the zero border
//    made explicit, per (image, channel) plane [Hp][Wp]; an unpadded conv
//    reads its input directly;
//  * output: each channel's RP pixels are consecutive floats of its NCHW
//    plane, so the accumulators are transposed through a stack buffer into
//    one RP-float vector per channel (a loop over the block's channels, not
//    unrolled: an unrolled shuffle network made this kernel the compile
//    time's largest part), to which bias (the accumulators' initial value)
//    and the fused epilogue (activations, residual adds) apply like in the
//    other kernels before it is stored.
// Work items are (image, pixel group, channel block), the channel block
// fastest, so a group's input (sized to stay in L2) is reused by all blocks
// while the weights stream; every output element is computed by one item
// with a fixed reduction order, so results do not depend on the thread
// count. A fused pooling runs over the whole output afterwards
// (emitPoolAfterConv); grouped convolutions are left to the direct kernel.
// The choice against the direct kernel is made by estimated cycles
// (chanVecChosen).
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace llvm;

namespace cnnc::codegen {

namespace {

constexpr double kFmaPerCycle = 2.0;
constexpr double kLoadsPerCycle = 2.0;
constexpr double kFmaLatency = 4.0;
/// Largest per-item buffer of partial sums (between input-channel passes).
constexpr int64_t kMaxPartialBytes = 32 * 1024;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Experiments: CNNC_CONV_PADSKIP=0 keeps the taps that read padding.
bool padSkipEnabled() {
  const char *e = getenv("CNNC_CONV_PADSKIP");
  return !(e && *e == '0');
}

/// The unfolded geometry (the direct kernel's view folds pointwise convs
/// into one long row; this kernel flattens pixels anyway).
bool geomOf(const ir::Node &n, ConvGeom &g) {
  if (!unfoldedConvGeom(n, g))
    return false;
  if (g.G != 1 || g.N <= 0 || g.C <= 0 || g.K <= 0 || g.OH <= 0 ||
      g.OW <= 0 || g.SH <= 0 || g.SW <= 0 || g.DH <= 0 || g.DW <= 0 ||
      g.PH < 0 || g.PW < 0 || g.KH <= 0 || g.KW <= 0)
    return false;
  g.Cg = g.C;
  g.Kg = g.K;
  // The last output pixel's window must lie inside the padded input.
  if ((g.OH - 1) * g.SH + (g.KH - 1) * g.DH >= g.H + 2 * g.PH ||
      (g.OW - 1) * g.SW + (g.KW - 1) * g.DW >= g.W + 2 * g.PW)
    return false;
  return true;
}

/// Whether the kernel can run the node at all.
bool eligible(const ir::Node &n, ConvGeom &g) {
  if (!geomOf(n, g))
    return false;
  for (const ir::EpilogueStep &st : n.epilogue)
    if (st.kind != ir::OpKind::Add && !ir::isActivation(st.kind) &&
        !ir::isPooling(st.kind))
      return false;
  return true;
}

/// Layout, tiling and cost of the kernel for one geometry and target.
struct ChanVecPlan {
  int64_t VL, KV;       ///< lanes; channel vectors (K padded to VL)
  int64_t RK, RP;       ///< register tile: channel vectors x pixels
  int64_t KB;           ///< channel blocks (the last may have fewer vectors)
  int64_t P, Tf, rpRem; ///< pixels per image, full pixel tiles, remainder
  int64_t TPG, NGrp;    ///< full-size tiles per pixel group, groups
  int64_t Cb, NCh;      ///< input channels per pass, passes
  bool copy;            ///< the input is copied with explicit zero padding
  int64_t Hp, Wp;       ///< rows and columns of the (padded) input read
  int64_t plane;        ///< floats per (image, channel) input plane
  double cost;          ///< estimated cycles for the whole conv
  int64_t tiles() const { return Tf + (rpRem ? 1 : 0); }
};

double stepCycles(int64_t rk, int64_t rp) {
  double fma = double(rk * rp) / kFmaPerCycle;
  double ld = double(rk + rp) / kLoadsPerCycle;
  return std::max({fma, ld, kFmaLatency});
}

/// Share of a conv's taps that read an input element, not padding, for
/// tiles of whole output rows (all taps counted in `steps`).
double insideShare(const ConvGeom &g) {
  auto inside = [](int64_t out, int64_t in, int64_t taps, int64_t s, int64_t d, int64_t pad) {
    int64_t n = 0;
    for (int64_t o = 0; o < out; ++o)
      for (int64_t t = 0; t < taps; ++t) {
        int64_t i = o * s + t * d - pad;
        n += i >= 0 && i < in;
      }
    return double(n) / double(out * taps);
  };
  return inside(g.OH, g.H, g.KH, g.SH, g.DH, g.PH) * inside(g.OW, g.W, g.KW, g.SW, g.DW, g.PW);
}

/// Input rows and columns of the padded copy a layout needs (at most the
/// padded input's).
void paddedExtent(const ConvGeom &g, int64_t &Hp, int64_t &Wp) {
  Hp = (g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1;
  Wp = (g.OW - 1) * g.SW + (g.KW - 1) * g.DW + 1;
}

/// The plan with the register tile of the cheapest estimate; ties go to
/// the larger tile, or with `exactFirst` to one whose pixel count divides
/// the output's (see plan).
ChanVecPlan planTiled(const ConvGeom &g, const VectorTarget &t, bool exactFirst) {
  ChanVecPlan p;
  p.VL = t.width;
  p.KV = ceilDiv(g.K, p.VL);
  p.P = g.OH * g.OW;
  p.copy = g.PH > 0 || g.PW > 0;
  if (p.copy) {
    paddedExtent(g, p.Hp, p.Wp);
  } else {
    p.Hp = g.H;
    p.Wp = g.W;
  }
  p.plane = p.Hp * p.Wp;
  const int64_t taps = g.KH * g.KW, steps = g.C * taps;
  const int64_t spare = t.hasFMA ? 1 : 2;
  const int64_t budget = t.numRegs > 16 ? t.numRegs - 4 : t.numRegs;
  double best = -1;
  p.RK = p.RP = 1;
  for (int64_t rk = 1; rk <= std::min<int64_t>(p.KV, 8); ++rk)
    for (int64_t rp = 1; rp <= std::min<int64_t>(p.P, 16); ++rp) {
      if (rk * rp + std::min(rk, rp) + spare > budget)
        break;
      int64_t kFull = p.KV / rk, kRem = p.KV % rk;
      int64_t pFull = p.P / rp, pRem = p.P % rp;
      double c = 0;
      for (int ki = 0; ki < 2; ++ki)
        for (int pi = 0; pi < 2; ++pi) {
          int64_t kn = ki ? (kRem ? 1 : 0) : kFull, kt = ki ? kRem : rk;
          int64_t pn = pi ? (pRem ? 1 : 0) : pFull, pt = pi ? pRem : rp;
          if (kn > 0 && pn > 0)
            // Steps, plus the epilogue's transpose and stores (about a
            // cycle per output element) and the tile's setup.
            c += double(kn * pn) *
                 (steps * stepCycles(kt, pt) + 1.0 * kt * p.VL * pt + 20);
        }
      bool tie = best >= 0 && c <= best * 1.001 && c >= best * 0.999;
      bool exact = p.P % rp == 0, bestExact = p.P % p.RP == 0;
      bool better = exactFirst && exact != bestExact ? exact : rk * rp > p.RK * p.RP;
      // Tiles of whole rows leave out the taps that read padding.
      if (p.copy && rp % g.OW == 0 && padSkipEnabled())
        c *= insideShare(g);
      if (best < 0 || c < best * 0.999 || (tie && better)) {
        best = c;
        p.RK = rk;
        p.RP = rp;
      }
    }
  // Experiments: CNNC_CHANVEC_TILE=RK,RP forces the register tile.
  if (int64_t rk, rp; envTile2("CNNC_CHANVEC_TILE", rk, rp)) {
    p.RK = std::min(rk, p.KV);
    p.RP = std::min(rp, p.P);
  }
  p.KB = ceilDiv(p.KV, p.RK);
  p.Tf = p.P / p.RP;
  p.rpRem = p.P % p.RP;
  // Input-channel passes: a block's weights for one pass (Cb x taps x RK
  // vectors) stay in half of L1 while every tile of the group runs over
  // them; between passes the tiles' partial sums go to a buffer.
  const int64_t blockBytes = taps * p.RK * p.VL * 4;
  p.Cb = g.C;
  if (double(g.C * blockBytes) > t.l1Bytes / 2)
    p.Cb = std::min(g.C, std::max<int64_t>({1, ceilDiv(32, taps),
                                             int64_t(t.l1Bytes / 2) / blockBytes}));
  p.NCh = ceilDiv(g.C, p.Cb);
  // Even passes: 64 channels at 21 per pass would run 21, 21, 21, 1, the
  // last pass paying a full round of partial-sum traffic for one channel.
  p.Cb = ceilDiv(g.C, p.NCh);
  p.NCh = ceilDiv(g.C, p.Cb);
  // Pixel groups: as many tiles as keep the group's input rows within half
  // of L2 (so they stay cached while every channel block's weights stream
  // through) and, with several passes, the partial sums within their buffer.
  auto groupBytes = [&](int64_t tiles) {
    int64_t rows = std::min(g.OH, ceilDiv(tiles * p.RP, g.OW) + 1);
    int64_t inRows = std::min(p.Hp, (rows - 1) * g.SH + (g.KH - 1) * g.DH + 1);
    return double(g.C) * inRows * p.Wp * 4;
  };
  auto partialBytes = [&](int64_t tiles) {
    return p.NCh > 1 ? tiles * p.RP * p.RK * p.VL * 4 : 0;
  };
  const int64_t T = p.tiles();
  p.TPG = T;
  while (p.TPG > 1 && (groupBytes(p.TPG) > t.l2Bytes / 2 ||
                       partialBytes(p.TPG) > kMaxPartialBytes))
    p.TPG = ceilDiv(p.TPG, 2);
  p.NGrp = ceilDiv(T, p.TPG);
  // Every group streams all weights; beyond L2 they come at ~8 bytes per
  // cycle (per image).
  double wBytes = double(p.KV) * p.VL * steps * 4;
  double weights = wBytes > t.l2Bytes / 2 ? double(g.N) * p.NGrp * wBytes / 8 : 0;
  double copy = p.copy ? double(g.N) * g.C * p.plane * 0.5 : 0;
  // Partial sums saved and reloaded between passes.
  double partials = double(g.N) * p.KV * p.P * 2.0 * (p.NCh - 1);
  p.cost = best * g.N + weights + copy + partials;
  return p;
}

/// The register tile estimated cheapest; among tiles estimated at the same
/// cycles the larger, unless one whose pixel count divides the output's (no
/// partial last tile) gives a whole-plan estimate within 2 % (its passes
/// and groups differ): measured on AVX-512, 512->512 at 7x7, 3 x 7 and
/// 2 x 7 were 7-15 % faster than 2 x 11 with its 5-pixel last tile, which
/// the estimates cannot tell apart.
ChanVecPlan plan(const ConvGeom &g, const VectorTarget &t) {
  ChanVecPlan a = planTiled(g, t, false), e = planTiled(g, t, true);
  return e.cost <= a.cost * 1.02 ? e : a;
}

/// Whether the direct kernel folds the conv into one long row (1x1,
/// stride 1, unpadded): it then wastes no lanes and packs its input like a
/// GEMM panel, and stays the better kernel (measured: 64->256 at 56x56,
/// 512->2048 and 2048->512 at 7x7 are 1.2-1.4x faster direct).
bool foldsToRow(const ConvGeom &g) {
  return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 &&
         g.PW == 0 && g.OH == g.H && g.OW == g.W;
}

/// The direct kernel's estimate for the same node: its register tiles
/// (chooseConvTile) plus its padded, phase-split input copy, which that
/// estimate leaves out (a strided copy goes element by element).
double directCost(const ConvGeom &g, const VectorTarget &t) {
  double tiles = chooseConvTile(g, t).cost;
  if (tiles <= 0)
    return tiles;
  ConvInputLayout L = convInputLayout(g, t.width);
  return tiles + double(L.floats()) * (g.SW > 1 ? 2.0 : 0.5);
}

} // namespace

double chanVecCost(const ir::Node &n, const VectorTarget &t) {
  ConvGeom g;
  if (!eligible(n, g) || foldsToRow(g))
    return -1;
  return plan(g, t).cost;
}

bool directBlockedEnabled() {
  const char *e = getenv("CNNC_DIRECT_BLOCKED");
  return !(e && *e == '0');
}

bool chanVecEligible(const ir::Node &n) {
  ConvGeom g;
  return eligible(n, g);
}

bool chanVecChosen(const ir::Node &n, const VectorTarget &t) {
  ConvGeom g;
  if (!eligible(n, g) || foldsToRow(g))
    return false;
  double direct = directCost(g, t);
  return direct > 0 && plan(g, t).cost < direct;
}

int64_t chanVecScratchBytes(const ir::Node &n) {
  ConvGeom g;
  if (!eligible(n, g) || (g.PH == 0 && g.PW == 0))
    return 0;
  int64_t Hp, Wp;
  paddedExtent(g, Hp, Wp);
  return g.N * g.C * Hp * Wp * 4;
}

Error lowerConv2dChanVec(Kernel &k) {
  const ir::Node &n = k.node;
  ConvGeom g;
  if (!eligible(n, g))
    return k.error("internal error: geometry unfit for the channel-vector kernel");
  ChanVecPlan P = plan(g, k.vec);
  if (P.copy && !k.scratch)
    return k.error("internal error: channel-vector convolution without scratch");
  const int64_t VL = P.VL, RK = P.RK, RP = P.RP, KV = P.KV;
  const int64_t C = g.C, K = g.K, taps = g.KH * g.KW;
  // Layouts (ir::Node::channelBlock): the input is read with `cs` floats
  // between a pixel's successive elements of one channel (1 in NCHW, VL in
  // nChw<VL>c), so a plane of cs channels is interleaved; a blocked output
  // is stored one accumulator per vector, without the transpose.
  const int64_t inB = n.operands[0]->channelBlock, outB = n.channelBlock;
  if ((inB && (inB != VL || C % VL)) || (outB && (outB != VL || K % VL || n.pooling())))
    return k.error("internal error: channel-vector conv in a layout it cannot run");
  const int64_t cs = inB ? inB : 1;
  // A blocked input's passes hold whole planes of cs channels (the channel
  // loop runs over planes, then their channels): passes of a multiple of
  // cs channels, rounded down (weights within the L1 share), at least one
  // plane. The tiles' partial-sum buffer is there whenever NCh > 1.
  if (cs > 1 && P.NCh > 1) {
    P.Cb = std::max(cs, P.Cb / cs * cs);
    P.NCh = ceilDiv(C, P.Cb);
  }
  if (getenv("CNNC_CONV_DEBUG"))
    errs() << "conv " << n.name << ": channel-vectorised VL " << VL << " RK "
           << RK << " RP " << RP << " pixels " << P.P << " groups " << P.NGrp
           << "x" << P.TPG << " tiles, " << P.NCh << " passes of " << P.Cb
           << " channels" << (P.copy ? ", padded copy" : "")
           << " est " << P.cost << " cycles (direct "
           << directCost(g, k.vec) << ")"
           << (n.pooling() ? ", pooled afterwards" : "")
           << (inB ? ", blocked input" : "") << (outB ? ", blocked output" : "") << "\n";

  // --- weights [KB][C][KH][KW][rk][VL] --------------------------------------
  auto wtOr = k.tensor("weight");
  if (!wtOr)
    return wtOr.takeError();
  if (!*wtOr)
    return k.error("missing weight param");
  const std::vector<float> &wsrc = (*wtOr)->data;
  if ((int64_t)wsrc.size() != K * C * taps)
    return k.error("weight has the wrong size");
  std::vector<float> packed(size_t(KV * VL * C * taps), 0.0f);
  for (int64_t kb = 0; kb < P.KB; ++kb) {
    int64_t v0 = kb * RK, rk = std::min(RK, KV - v0);
    int64_t base = v0 * VL * C * taps;
    for (int64_t kk = 0; kk < rk; ++kk)
      for (int64_t l = 0; l < VL; ++l) {
        int64_t ko = (v0 + kk) * VL + l;
        if (ko >= K)
          continue;
        for (int64_t c = 0; c < C; ++c)
          for (int64_t t = 0; t < taps; ++t)
            packed[size_t(base + ((c * taps + t) * rk + kk) * VL + l)] =
                wsrc[size_t((ko * C + c) * taps + t)];
      }
  }
  const ir::Param *wp = n.param("weight");
  Value *wPacked = k.constant("chanvec.pack." + wp->key, packed);
  // Taps that read the copy's zero padding add w * 0 = 0 when w is finite
  // (an infinite weight makes it NaN, as in PyTorch) and are left out where
  // a tile knows them (tiles of whole rows, emitTile).
  auto finite = [](float w) { return std::isfinite(w); };
  const bool skipPad =
      P.copy && padSkipEnabled() && std::all_of(wsrc.begin(), wsrc.end(), finite);
  if (getenv("CNNC_CONV_DEBUG") && skipPad && RP % g.OW == 0)
    errs() << "conv " << n.name << ": tiles of whole rows leave out the taps that read padding\n";
  auto bOr = k.param("bias");
  if (!bOr)
    return bOr.takeError();
  Value *biasG = *bOr;

  IRBuilder<> &b = k.b;
  Type *f32 = b.getFloatTy();
  auto *vecTy = FixedVectorType::get(f32, VL);

  // --- 1. zero-padded input copy, per (image, channel) plane ---------------
  // (of cs interleaved channels; positions below count pixels).
  if (P.copy) {
    int64_t planes = g.N * C / cs;
    emitParallelFor(
        k, planes, {k.in[0], k.scratch}, double(planes) * cs * P.plane * 0.5,
        [&](ArrayRef<Value *> caps, Value *pl) {
          Value *src = k.ptr(caps[0], k.mul(pl, g.H * g.W * cs));
          Value *dst = k.ptr(caps[1], k.mul(pl, P.plane * cs));
          auto zero = [&](Value *base, int64_t from, int64_t to) {
            if (from < to)
              b.CreateMemSet(k.ptr(base, k.i64(from * cs)), b.getInt8(0),
                             (to - from) * cs * 4, MaybeAlign(4));
          };
          // Padded row r is input row r - PH; column q is input column q - PW.
          int64_t rowLo = std::min(g.PH, P.Hp);
          int64_t rowHi = std::min(g.PH + g.H, P.Hp);
          int64_t colLo = std::min(g.PW, P.Wp);
          int64_t colHi = std::min(g.PW + g.W, P.Wp);
          zero(dst, 0, rowLo * P.Wp);
          zero(dst, rowHi * P.Wp, P.Hp * P.Wp);
          if (rowHi > rowLo)
            forLoop(b, rowLo, rowHi, [&](Value *r) {
              Value *drow = k.ptr(dst, k.mul(r, P.Wp * cs));
              zero(drow, 0, colLo);
              zero(drow, colHi, P.Wp);
              if (colHi > colLo)
                b.CreateMemCpy(k.ptr(drow, k.i64(colLo * cs)), MaybeAlign(4),
                               k.ptr(src, k.mul(k.add(k.mul(k.add(r, -g.PH), g.W),
                                                      colLo - g.PW),
                                                cs)),
                               MaybeAlign(4), (colHi - colLo) * cs * 4);
            });
        });
  }

  // --- 2. the tiles -----------------------------------------------------------
  Function *fmuladd = Intrinsic::getDeclaration(&k.m, Intrinsic::fmuladd, {vecTy});
  const bool rowLoop =
      g.KH > 1 && taps * (RK * RP + RK + RP) > kMaxUnrolledOps;
  // One tile: image nIdx, channel vectors [kb*RK, kb*RK + rk) (`valid`
  // lanes of the last one hold channels < K), pixels [p0, p0 + rp), input
  // channels [c0, c1). The first pass starts from the bias, later ones from
  // the partial sums in `part` ([rp][rk][VL] at the tile's slot), which all
  // but the last pass write back; the last applies the epilogue and stores.
  // `first` and `last` are i1 values: constants where the pass is known,
  // else the pass loop's tests, so that one copy of the tile's channel loop
  // serves every pass of Cb channels (a short last pass gets its own; three
  // static copies, first / middle / last, made ResNet-18's IR 47.7k lines
  // against 41.1k).
  // Weights that do not stay in L2 between inferences come from memory in
  // bursts: a pass's first tile reads them all (faster than memory can
  // deliver), the other tiles reuse them from L1. So every tile of a pass
  // also prefetches its share of the *next* pass's weights into L2 (the
  // next pass's, or the next block's, follow in memory one pass later):
  // per input channel, tile j of the group takes lines [j*m, j*m+m) of that
  // channel's taps*rk lines, and the stream reaches memory evenly.
  const bool prefetchW = double(KV) * VL * C * taps * 4 > k.vec.l1Bytes / 2;
  // The last pass's end of a tile: the fused epilogue and the stores, in
  // the output's layout.
  auto finishTile = [&](const std::vector<Value *> &acc, ArrayRef<Value *> caps,
                        Value *nIdx, Value *v0, int64_t rk, int64_t valid,
                        Value *p0, int64_t rp, Value *tb) {
    std::vector<Value *> opPtrs(n.operands.size(), nullptr);
    for (size_t i = 1; i < n.operands.size(); ++i)
      opPtrs[i] = caps[1 + i];
    if (outB) {
      // nChw<VL>c: vector v0 + kk of pixel p0 + j is VL consecutive floats.
      for (int64_t kk = 0; kk < rk; ++kk)
        for (int64_t j = 0; j < rp; ++j) {
          Value *idx = k.mul(k.add(k.mul(k.add(k.add(k.mul(nIdx, KV), v0), kk), P.P),
                                   k.add(p0, j)),
                             VL);
          Value *v = acc[kk * rp + j];
          if (!n.epilogue.empty())
            v = emitEpilogue(k, v, opPtrs, idx);
          b.CreateAlignedStore(v, k.ptr(caps[1], idx), Align(4));
        }
      return;
    }
    // Transpose through the tile buffer `tb` ([rp][rk][VL], as the partial
    // sums): channel (v0 + kk) * VL + l reads lane l of its rp accumulators
    // as rp floats (consecutive pixels of its plane) in a loop over the
    // block's channels, so the IR stays small for any tile.
    for (int64_t kk = 0; kk < rk; ++kk)
      for (int64_t j = 0; j < rp; ++j)
        b.CreateAlignedStore(acc[kk * rp + j], k.ptr(tb, k.i64((j * rk + kk) * VL)),
                             Align(64));
    Type *rowTy = rp == 1 ? f32 : (Type *)FixedVectorType::get(f32, rp);
    Value *plane0 = k.add(k.mul(nIdx, K), k.mul(v0, VL)); // first channel's plane
    forLoop(b, 0, (rk - 1) * VL + valid, [&](Value *ch) {
      Value *v = PoisonValue::get(rowTy);
      for (int64_t j = 0; j < rp; ++j) {
        Value *e = b.CreateAlignedLoad(
            f32, k.ptr(tb, k.add(ch, j * rk * VL)), Align(4));
        v = rp == 1 ? e : b.CreateInsertElement(v, e, j);
      }
      Value *idx = k.add(k.mul(k.add(plane0, ch), P.P), p0);
      if (!n.epilogue.empty())
        v = emitEpilogue(k, v, opPtrs, idx);
      b.CreateAlignedStore(v, k.ptr(caps[1], idx), Align(4));
    });
  };
  auto emitTile = [&](ArrayRef<Value *> caps, Value *nIdx, Value *kb,
                      int64_t rk, int64_t valid, Value *p0, int64_t rp,
                      Value *c0, Value *c1, Value *firstV, Value *lastV,
                      Value *part, Value *tileInGroup, Value *tb) {
    // Known pass position: fold the branches away; otherwise branch.
    auto known = [](Value *v, bool &val) {
      auto *ci = dyn_cast<ConstantInt>(v);
      if (ci)
        val = !ci->isZero();
      return ci != nullptr;
    };
    bool firstVal = false, lastVal = false;
    const bool firstKnown = known(firstV, firstVal), lastKnown = known(lastV, lastVal);
    LLVMContext &cx = b.getContext();
    Function *tileFn = b.GetInsertBlock()->getParent();
    Value *xImg = k.ptr(caps[0], k.mul(nIdx, C * P.plane));
    Value *v0 = k.mul(kb, RK);                  // first channel vector
    Value *wBlk = k.ptr(wPacked, k.mul(v0, VL * C * taps));
    // Input offset of each pixel's window origin. The freeze makes each
    // offset opaque to scalar evolution: loop strength reduction otherwise
    // tries to split the rp udiv/urem expressions across the ~100 loads of
    // the channel loop, which took 3/4 of LLVM's time for ResNet-18
    // (and gave a loop with more address arithmetic, not less).
    std::vector<Value *> xPix;
    for (int64_t j = 0; j < rp; ++j) {
      Value *p = k.add(p0, j);
      Value *oh = b.CreateUDiv(p, k.i64(g.OW)), *ow = b.CreateURem(p, k.i64(g.OW));
      Value *off = k.add(k.mul(oh, g.SH * P.Wp * cs), k.mul(ow, g.SW * cs));
      xPix.push_back(k.ptr(xImg, b.CreateFreeze(off)));
    }
    // Padding: a tile of whole output rows knows its pixels' columns
    // (pixel j is column j % OW), so taps reading a column of the padding
    // are not emitted; kernel rows that read padding for all its rows are
    // branched around (unrolled rows) or outside the row loop's bounds.
    const bool skip = skipPad && rp % g.OW == 0;
    auto colInside = [&](int64_t j, int64_t kw) {
      int64_t iw = (j % g.OW) * g.SW + kw * g.DW - g.PW;
      return !skip || (iw >= 0 && iw < g.W);
    };
    Value *ohFirst = nullptr, *ohLast = nullptr;
    if (skip) {
      ohFirst = b.CreateUDiv(p0, k.i64(g.OW));
      ohLast = k.add(ohFirst, rp / g.OW - 1);
    }
    // Whether kernel row kh may read only padding in some tile (compile
    // time), and whether it reads an input row in this one (i1).
    auto rowMayMiss = [&](int64_t kh) {
      return skip && (kh * g.DH < g.PH || (g.OH - 1) * g.SH + kh * g.DH - g.PH >= g.H);
    };
    auto rowInside = [&](int64_t kh) {
      Value *last = k.add(k.mul(ohLast, g.SH), kh * g.DH - g.PH);
      Value *first = k.add(k.mul(ohFirst, g.SH), kh * g.DH - g.PH);
      return b.CreateAnd(b.CreateICmpSGE(last, k.i64(0)), b.CreateICmpSLT(first, k.i64(g.H)));
    };
    // This tile's share of the next pass's weights, relative to the current
    // channel's (see prefetchW): m lines from `pfOff` floats on.
    const int64_t lineFloats = 16; // a 64-byte line
    const int64_t pfLines = ceilDiv(ceilDiv(taps * rk * VL, lineFloats), P.TPG);
    Value *pfOff = prefetchW ? k.add(k.mul(tileInGroup, pfLines * lineFloats),
                                     k.i64(P.Cb * taps * rk * VL))
                             : nullptr;
    auto partPtr = [&](int64_t kk, int64_t j) {
      return k.ptr(part, k.i64((j * rk + kk) * VL));
    };
    // Bias vectors (when this may be the first pass), then the initial
    // accumulators: the bias, the partial sums, or a branch between them.
    std::vector<Value *> biasV;
    for (int64_t kk = 0; kk < rk; ++kk) {
      Value *bv = ConstantFP::get(vecTy, 0.0);
      if ((!firstKnown || firstVal) && biasG) {
        // The bias of the vector's channels; past K (only in the block's
        // last vector) zero.
        Value *bp = k.ptr(biasG, k.mul(k.add(v0, kk), VL));
        if (kk == rk - 1 && valid < VL) {
          bv = b.CreateMaskedLoad(vecTy, bp, Align(4), laneMask(b.getContext(), VL, 0, valid),
                                  ConstantFP::get(vecTy, 0.0));
        } else {
          bv = b.CreateAlignedLoad(vecTy, bp, Align(4));
        }
      }
      biasV.push_back(bv);
    }
    auto loadPartials = [&] {
      std::vector<Value *> v;
      for (int64_t kk = 0; kk < rk; ++kk)
        for (int64_t j = 0; j < rp; ++j)
          v.push_back(b.CreateAlignedLoad(vecTy, partPtr(kk, j), Align(32)));
      return v;
    };
    std::vector<Value *> init;
    if (firstKnown && firstVal) {
      for (int64_t kk = 0; kk < rk; ++kk)
        init.insert(init.end(), size_t(rp), biasV[size_t(kk)]);
    } else if (firstKnown) {
      init = loadPartials();
    } else {
      BasicBlock *from = b.GetInsertBlock();
      BasicBlock *ld = BasicBlock::Create(cx, "tile.partials", tileFn);
      BasicBlock *join = BasicBlock::Create(cx, "tile.init", tileFn);
      b.CreateCondBr(firstV, join, ld);
      b.SetInsertPoint(ld);
      std::vector<Value *> pv = loadPartials();
      b.CreateBr(join);
      b.SetInsertPoint(join);
      for (int64_t kk = 0; kk < rk; ++kk)
        for (int64_t j = 0; j < rp; ++j) {
          PHINode *phi = b.CreatePHI(vecTy, 2);
          phi->addIncoming(biasV[size_t(kk)], from);
          phi->addIncoming(pv[size_t(kk * rp + j)], ld);
          init.push_back(phi);
        }
    }
    // Taps of kernel row kh (kernel row 0 of channel c at offset cOff of
    // each pixel's origin; wc: that channel's weights).
    auto emitRowTaps = [&](Value *cOff, Value *wc, int64_t kh,
                           std::vector<Value *> &r) {
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        int64_t tapOff = (kh * g.DH * P.Wp + kw * g.DW) * cs;
        auto xload = [&](int64_t j) -> Value * {
          if (!colInside(j, kw))
            return nullptr;
          Value *s = b.CreateAlignedLoad(
              f32, k.ptr(k.ptr(xPix[j], cOff), k.i64(tapOff)), Align(4));
          return b.CreateVectorSplat(VL, s);
        };
        auto wload = [&](int64_t kk) {
          return b.CreateAlignedLoad(
              vecTy, k.ptr(wc, k.i64(((kh * g.KW + kw) * rk + kk) * VL)), Align(4));
        };
        emitOuterProductFma(b, fmuladd, rk, rp, xload, wload, r);
      }
    };
    // The row loop's kernel rows: [0, KH), or those that read an input row
    // for some of the tile's rows, kh in [ceil((PH - last * SH) / DH),
    // ceil((H + PH - first * SH) / DH)).
    Value *rowLo = k.i64(0), *rowHi = k.i64(g.KH);
    if (skip && rowLoop) {
      auto ceilDivS = [&](Value *x) {
        return b.CreateSDiv(k.add(x, g.DH - 1), k.i64(g.DH));
      };
      Value *lo = ceilDivS(b.CreateSub(k.i64(g.PH), k.mul(ohLast, g.SH)));
      Value *hi = ceilDivS(b.CreateSub(k.i64(g.H + g.PH), k.mul(ohFirst, g.SH)));
      rowLo = b.CreateBinaryIntrinsic(Intrinsic::smax, lo, k.i64(0));
      rowHi = b.CreateBinaryIntrinsic(Intrinsic::smax, rowLo, k.smin(hi, k.i64(g.KH)));
    }
    // One input channel: its offset in each pixel's window (cOff) and its
    // weights (wc).
    auto channel = [&](Value *cOff, Value *wc, ArrayRef<Value *> a) {
      std::vector<Value *> r(a.begin(), a.end());
      if (prefetchW) {
        // Not inbounds: past the last block it points beyond the weights
        // (a prefetch does not fault).
        Value *next = b.CreateGEP(f32, wc, pfOff);
        for (int64_t i = 0; i < pfLines; ++i)
          b.CreateIntrinsic(Intrinsic::prefetch, {b.getPtrTy()},
                            {b.CreateGEP(f32, next, k.i64(i * lineFloats)),
                             b.getInt32(0), b.getInt32(2), b.getInt32(1)});
      }
      if (!rowLoop) {
        for (int64_t kh = 0; kh < g.KH; ++kh) {
          if (!rowMayMiss(kh)) {
            emitRowTaps(cOff, wc, kh, r);
            continue;
          }
          BasicBlock *from = b.GetInsertBlock();
          BasicBlock *rowBB = BasicBlock::Create(cx, "tile.row", tileFn);
          BasicBlock *join = BasicBlock::Create(cx, "tile.rowdone", tileFn);
          b.CreateCondBr(rowInside(kh), rowBB, join);
          b.SetInsertPoint(rowBB);
          std::vector<Value *> r2 = r;
          emitRowTaps(cOff, wc, kh, r2);
          BasicBlock *tapsEnd = b.GetInsertBlock();
          b.CreateBr(join);
          b.SetInsertPoint(join);
          for (size_t i = 0; i < r.size(); ++i) {
            PHINode *phi = b.CreatePHI(vecTy, 2);
            phi->addIncoming(r[i], from);
            phi->addIncoming(r2[i], tapsEnd);
            r[i] = phi;
          }
        }
        return r;
      }
      return forLoopMulti(
          b, rowLo, rowHi, r,
          [&](Value *kh, ArrayRef<Value *> a2) {
            std::vector<Value *> r2(a2.begin(), a2.end());
            emitRowTaps(k.add(cOff, k.mul(kh, g.DH * P.Wp * cs)),
                        k.ptr(wc, k.mul(kh, g.KW * rk * VL)), 0, r2);
            return r2;
          },
          /*knownNonEmpty=*/!skip);
    };
    const int64_t wStep = taps * rk * VL; // weights per input channel
    std::vector<Value *> acc;
    if (cs == 1) {
      acc = forLoopMulti(
          b, c0, c1, init,
          [&](Value *c, ArrayRef<Value *> a) {
            return channel(k.mul(c, P.plane), k.ptr(wBlk, k.mul(c, wStep)), a);
          },
          /*knownNonEmpty=*/true);
    } else {
      // Blocked input: a loop over the pass's planes of cs channels, and in
      // it over their cs interleaved channels (the passes start at whole
      // planes), so that every address is an induction variable plus a
      // constant. One loop over c with c / cs and c % cs (or an offset
      // stepped by a select) left loop strength reduction without a
      // formula: the 12-pixel tiles' loads then took their bases from the
      // stack, and the conv ran 1.4x slower than on NCHW (64 -> 64 at
      // 56x56, AVX-512; LSR's search also took a third of the code
      // generator's time for ResNet-18).
      Value *pl0 = b.CreateUDiv(c0, k.i64(cs), "", /*isExact=*/true);
      Value *pl1 = b.CreateUDiv(c1, k.i64(cs), "", /*isExact=*/true);
      acc = forLoopMulti(
          b, pl0, pl1, init,
          [&](Value *pl, ArrayRef<Value *> a) {
            Value *plOff = k.mul(pl, P.plane * cs);
            Value *plW = k.ptr(wBlk, k.mul(pl, cs * wStep));
            return forLoopMulti(
                b, k.i64(0), k.i64(cs), a,
                [&](Value *l, ArrayRef<Value *> a2) {
                  return channel(k.add(plOff, l), k.ptr(plW, k.mul(l, wStep)), a2);
                },
                /*knownNonEmpty=*/true);
          },
          /*knownNonEmpty=*/true);
    }
    auto storePartials = [&] {
      for (int64_t kk = 0; kk < rk; ++kk)
        for (int64_t j = 0; j < rp; ++j)
          b.CreateAlignedStore(acc[kk * rp + j], partPtr(kk, j), Align(32));
    };
    if (lastKnown && !lastVal) {
      storePartials();
      return;
    }
    // Not known to be the last pass: store the partial sums unless it is,
    // then continue with the epilogue in its own block.
    BasicBlock *tileDone = nullptr;
    if (!lastKnown) {
      BasicBlock *st = BasicBlock::Create(cx, "tile.partial", tileFn);
      BasicBlock *epi = BasicBlock::Create(cx, "tile.final", tileFn);
      tileDone = BasicBlock::Create(cx, "tile.done", tileFn);
      b.CreateCondBr(lastV, epi, st);
      b.SetInsertPoint(st);
      storePartials();
      b.CreateBr(tileDone);
      b.SetInsertPoint(epi);
    }
    finishTile(acc, caps, nIdx, v0, rk, valid, p0, rp, tb);
    if (tileDone) {
      b.CreateBr(tileDone);
      b.SetInsertPoint(tileDone);
    }
  };

  // Items: (image, pixel group, channel block), the channel block fastest.
  const int64_t kRemV = KV % RK;              // vectors of a short last block
  const int64_t lastValid = K - (KV - 1) * VL; // lanes of the last vector
  const int64_t items = g.N * P.NGrp * P.KB;
  // With a fused pooling the conv output goes to the end of the scratch and
  // is pooled afterwards (ConvPool.cpp).
  Value *convOut = n.pooling() ? convOutputInScratch(k) : k.out;
  std::vector<Value *> captures{P.copy ? k.scratch : k.in[0], convOut};
  for (size_t i = 1; i < n.operands.size(); ++i)
    captures.push_back(k.in[i]);
  LLVMContext &ctx = b.getContext();
  emitParallelFor(
      k, items, captures, P.cost, [&](ArrayRef<Value *> caps, Value *item) {
        Function *fn = b.GetInsertBlock()->getParent();
        IRBuilder<> eb(&fn->getEntryBlock(), fn->getEntryBlock().begin());
        auto stackBuf = [&](int64_t floats, int64_t align) {
          auto *buf = eb.CreateAlloca(ArrayType::get(f32, floats));
          buf->setAlignment(Align(align));
          return buf;
        };
        // Partial sums, [TPG * RP][RK][VL]; one tile's transpose buffer.
        Value *part = P.NCh > 1 ? stackBuf(P.TPG * RP * RK * VL, 32) : nullptr;
        Value *tb = stackBuf(RP * RK * VL, 64);
        Value *kb = b.CreateURem(item, k.i64(P.KB));
        Value *t = b.CreateUDiv(item, k.i64(P.KB));
        Value *grp = b.CreateURem(t, k.i64(P.NGrp));
        Value *nIdx = b.CreateUDiv(t, k.i64(P.NGrp));
        Value *t0 = k.mul(grp, P.TPG);
        // One pass over the group's tiles: full ones in
        // [grp*TPG, min(Tf, grp*TPG+TPG)), then, in the last group, the
        // remainder tile.
        auto pass = [&](int64_t rk, int64_t valid, Value *c0, Value *c1,
                        Value *first, Value *last) {
          auto slot = [&](Value *ti) {
            return part ? k.ptr(part, k.mul(b.CreateSub(ti, t0), RP * rk * VL))
                        : nullptr;
          };
          Value *t1 = k.smin(k.add(t0, P.TPG), k.i64(P.Tf));
          forRange(b, t0, t1, [&](Value *ti) {
            emitTile(caps, nIdx, kb, rk, valid, k.mul(ti, RP), RP, c0, c1,
                     first, last, slot(ti), b.CreateSub(ti, t0), tb);
          });
          if (P.rpRem) {
            Function *f = b.GetInsertBlock()->getParent();
            BasicBlock *rem = BasicBlock::Create(ctx, "pix.rem", f);
            BasicBlock *done = BasicBlock::Create(ctx, "pix.done", f);
            b.CreateCondBr(b.CreateICmpEQ(grp, k.i64(P.NGrp - 1)), rem, done);
            b.SetInsertPoint(rem);
            emitTile(caps, nIdx, kb, rk, valid, k.i64(P.Tf * RP), P.rpRem, c0,
                     c1, first, last, slot(k.i64(P.Tf)),
                     b.CreateSub(k.i64(P.Tf), t0), tb);
            b.CreateBr(done);
            b.SetInsertPoint(done);
          }
        };
        // The passes over the input channels.
        auto passes = [&](int64_t rk, int64_t valid) {
          if (P.NCh == 1) {
            pass(rk, valid, k.i64(0), k.i64(C), b.getTrue(), b.getTrue());
            return;
          }
          // Passes of Cb channels in a loop whose tiles branch on the first
          // (a constant trip count: with the short last pass's smin bound
          // in the same loop, 512 -> 512 at 7x7 ran 10 % slower); a
          // shorter last pass after it.
          const bool even = C % P.Cb == 0;
          const int64_t looped = even ? P.NCh : P.NCh - 1;
          forLoop(b, 0, looped, [&](Value *cc) {
            Value *c0 = k.mul(cc, P.Cb);
            pass(rk, valid, c0, k.add(c0, P.Cb), b.CreateICmpEQ(cc, k.i64(0)),
                 even ? b.CreateICmpEQ(cc, k.i64(P.NCh - 1)) : b.getFalse());
          });
          if (!even)
            pass(rk, valid, k.i64((P.NCh - 1) * P.Cb), k.i64(C), b.getFalse(),
                 b.getTrue());
        };
        // Blocks: full ones (RK whole vectors), then the last one, which has
        // kRemV vectors (RK if KV divides) and lastValid lanes in its last.
        bool lastDiffers = kRemV != 0 || lastValid != VL;
        if (!lastDiffers) {
          passes(RK, VL);
          return;
        }
        Function *f = b.GetInsertBlock()->getParent();
        BasicBlock *full = BasicBlock::Create(ctx, "chans.full", f);
        BasicBlock *lastB = BasicBlock::Create(ctx, "chans.last", f);
        BasicBlock *done = BasicBlock::Create(ctx, "chans.done", f);
        b.CreateCondBr(b.CreateICmpULT(kb, k.i64(P.KB - 1)), full, lastB);
        b.SetInsertPoint(full);
        passes(RK, VL);
        b.CreateBr(done);
        b.SetInsertPoint(lastB);
        passes(kRemV ? kRemV : RK, lastValid);
        b.CreateBr(done);
        b.SetInsertPoint(done);
      });
  if (n.pooling())
    emitPoolAfterConv(k, convOut);
  return Error::success();
}

} // namespace cnnc::codegen
