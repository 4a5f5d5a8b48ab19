//===- ConvCostModel.cpp - register-tile choice for the direct convolution -===//
//
// A register tile of RK output channels x RW = RH*RV output vectors needs
// RK*RW accumulators plus min(RK, RW) operand registers (the broadcast
// weights or the input vectors, whichever side is held) plus one temporary
// (two without FMA). Every (input channel, tap) step of a tile issues RK*RW
// FMAs and RK + RW loads and cannot finish faster than one FMA latency (each
// accumulator is a dependence chain). The cost of a tiling is the sum over
// all tiles it produces, remainder tiles included, of steps x step time plus
// a per-tile epilogue; the cheapest tiling wins, ties going to larger tiles.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/ConvPlan.h"
#include "IR/Graph.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cnnc::codegen {

namespace {
constexpr double kFmaPerCycle = 2.0;
constexpr double kLoadsPerCycle = 2.0;
constexpr double kFmaLatency = 4.0;
/// Bytes per cycle a kernel streams from L2 or beyond with many streams.
constexpr double kStreamBytesPerCycle = 8.0;
/// Bytes per cycle weights that are not cached come from memory with
/// little compute to overlap (one core; see planWinograd).
constexpr double kMemoryBytesPerCycle = 3.0;
/// Bytes per cycle one core's loads get from L2.
constexpr double kL2BytesPerCycle = 32.0;
/// Largest per-item buffers (P, V, M and the conv rows of a fused pooling)
/// of a fused Winograd convolution: they are on the stack of the thread
/// running the item (docs/c-api.md gives the stack a model needs).
constexpr double kMaxFusedItemBytes = 1024 * 1024;
/// Most of the core's L3 share that Winograd's P/V/M, written by one loop
/// and read by the next, can count on (planWinograd).
constexpr double kMaxLiveL3Bytes = 4 * 1024 * 1024;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// One (input channel, tap) step of an rk x rw tile issuing `loads` loads.
double stepCycles(int64_t rk, int64_t rw, double loads) {
  double fma = double(rk * rw) / kFmaPerCycle;
  double ld = loads / kLoadsPerCycle;
  return std::max({fma, ld, kFmaLatency});
}
double stepCycles(int64_t rk, int64_t rw) { return stepCycles(rk, rw, double(rk + rw)); }
} // namespace

int64_t ConvInputLayout::floats() const { return N * C * plane; }

ConvInputLayout convInputLayout(const ConvGeom &g, unsigned vl) {
  ConvInputLayout l;
  l.N = g.N;
  l.C = g.C;
  l.NV = ceilDiv(g.OW, vl);
  l.Hp = (g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1;
  l.phasePitch = l.NV * vl + ((g.KW - 1) * g.DW) / g.SW;
  l.rowPitch = g.SW * l.phasePitch;
  l.plane = l.Hp * l.rowPitch;
  return l;
}

ConvTile chooseConvTile(const ConvGeom &g, const VectorTarget &t, int64_t poolRows) {
  int64_t NV = ceilDiv(g.OW, t.width);
  int64_t steps = g.Cg * g.KH * g.KW;
  int64_t spare = t.hasFMA ? 1 : 2;
  // With 32 registers the scheduler hoists loads far enough to spill when
  // the tile uses them all; keep a few free.
  int64_t budget = t.numRegs > 16 ? t.numRegs - 4 : t.numRegs;
  // First layers (few input channels, stride-1 rows): a tile of several
  // output rows with unrolled kernel rows loads each of its rh + KH - 1
  // input rows' vectors once for all the kernel rows reading it (see the
  // row loop below).
  const bool rowReuse = g.Cg <= kFirstLayerChannels && g.KH > 1 && g.SH == 1 && g.DH == 1;
  // Input vectors loaded per step by an h x v tile.
  auto inLoads = [&](int64_t h, int64_t v) {
    return rowReuse ? double(h + g.KH - 1) * v / g.KH : double(h * v);
  };
  // Loads per FMA of an rk x rh x rv tile (the broadcasts and the inputs).
  auto loadsPerFma = [&](int64_t rk, int64_t rh, int64_t rv) {
    return (rk + inLoads(rh, rv)) / double(rk * rh * rv);
  };
  ConvTile best;
  best.cost = -1;
  for (int64_t rk = 1; rk <= std::min<int64_t>(g.Kg, 24); ++rk) {
    for (int64_t rv = 1; rv <= NV; ++rv) {
      // More than one row only when a row's vectors all fit in the tile,
      // and only for one kernel row: with KH > 1 the rows' taps load the
      // same input vectors, which LLVM then keeps live across the taps and
      // spills (measured: 2 x 3 rows x 2 vectors at 256 channels @14x14 is
      // 7% slower than 6 x 1 x 2).
      // First layers are the exception (rowReuse; measured on AVX-512, the
      // seed's 3->10 conv at 130x130: 5 x 2 x 2 and 5 x 4 x 1 are 5-7%
      // faster than 5 x 1 x 4), and ties between their tiles go to fewer
      // loads per FMA.
      int64_t maxRh = rv == NV && g.KH == 1 ? g.OH
                      : rowReuse            ? std::min<int64_t>(g.OH, g.KH + 1)
                                            : 1;
      for (int64_t rh = 1; rh <= maxRh; ++rh) {
        int64_t rw = rh * rv;
        if (rk * rw + std::min(rk, rw) + spare > budget)
          break;
        if (rh > 1 && g.KH > 1) {
          if (poolRows > 1 && rh % poolRows != 0 && poolRows % rh != 0)
            continue;
          if (g.KH * g.KW * (rk * rw + rk + rw) > kMaxUnrolledOps)
            break; // kernel rows looped: nothing shared
          // An input vector stays live from the first kernel row reading
          // it to the last, rh - 1 rows of KW taps later (2 x 3 rows x 4
          // vectors spills: 16% slower than 5 x 1 x 4).
          if (rk * rw + ((rh - 1) * g.KW + 1) * rv + spare > int64_t(t.numRegs))
            break;
        }
        // Tiles along each dimension: full ones plus one remainder.
        auto dims = [](int64_t total, int64_t blk) {
          return std::pair<int64_t, int64_t>{total / blk, total % blk};
        };
        auto [kFull, kRem] = dims(g.Kg, rk);
        auto [hFull, hRem] = dims(g.OH, rh);
        auto [vFull, vRem] = dims(NV, rv);
        double cost = 0;
        for (int ki = 0; ki < 2; ++ki) {
          int64_t kn = ki ? (kRem ? 1 : 0) : kFull, kt = ki ? kRem : rk;
          for (int hi = 0; hi < 2; ++hi) {
            int64_t hn = hi ? (hRem ? 1 : 0) : hFull, ht = hi ? hRem : rh;
            for (int vi = 0; vi < 2; ++vi) {
              int64_t vn = vi ? (vRem ? 1 : 0) : vFull, vt = vi ? vRem : rv;
              int64_t tiles = kn * hn * vn;
              if (!tiles)
                continue;
              double perTile =
                  steps * stepCycles(kt, ht * vt, kt + inLoads(ht, vt)) + 2.0 * kt * ht * vt + 8;
              cost += tiles * perTile;
            }
          }
        }
        cost *= g.N * g.G;
        // A folded pointwise conv whose column group is not packed per
        // work item re-reads its whole input from beyond L1 for every
        // channel block (measured on AVX-512, 256->64 at 56x56: 2 x 12
        // unpacked tiles 3.2 ms, 4 x 4 packed 0.62 ms, ~10 bytes/cycle).
        if (foldedPointwise(g) && !pointwisePacks(g, rv, t.width)) {
          double inBytes = double(g.N) * g.C * NV * t.width * 4;
          cost += double(ceilDiv(g.Kg, rk)) * inBytes / kStreamBytesPerCycle;
        }
        bool tie = best.cost >= 0 && cost <= best.cost * 1.001 && cost >= best.cost * 0.999;
        bool better = rk * rw > best.RK * best.RH * best.RV;
        if (tie && rowReuse) {
          double perFma = loadsPerFma(rk, rh, rv);
          double bestPerFma = loadsPerFma(best.RK, best.RH, best.RV);
          if (std::abs(perFma - bestPerFma) > 1e-9)
            better = perFma < bestPerFma;
        }
        if (best.cost < 0 || cost < best.cost * 0.999 || (tie && better)) {
          best.RK = rk;
          best.RH = rh;
          best.RV = rv;
          best.cost = cost;
        }
      }
    }
  }
  // Experiments: CNNC_CONV_TILE=RK,RH,RV forces the register tile.
  if (const char *e = getenv("CNNC_CONV_TILE")) {
    long rk, rh, rv;
    if (sscanf(e, "%ld,%ld,%ld", &rk, &rh, &rv) == 3 && rk > 0 && rh > 0 && rv > 0) {
      best.RK = std::min<int64_t>(rk, g.Kg);
      best.RH = std::min<int64_t>(rh, g.OH);
      best.RV = std::min<int64_t>(rv, NV);
    }
  }
  // Input-channel block: the largest divisor of C/G whose weight block
  // (Cb x taps x RK floats) fits half of L1, but at least 16 channels of
  // work per pass (fewer passes when the channels are few anyway).
  best.Cb = g.Cg;
  if (best.cost >= 0) {
    int64_t taps = g.KH * g.KW;
    // A packed pointwise group (ConvDirect.cpp) is read once per channel
    // block of the tile: the channels go in passes when a pass's pack and
    // a tile's weights would not fit L1. 256->64 at 56x56: on AVX-512 (48
    // KiB L1, 52 KiB of pack and weights) 2 passes of 128 are 3% faster
    // than one, 4 of 64 no faster; on AVX2 (Zen 3, 32 KiB L1, 28 KiB) one
    // pass is 20-24% faster than 2 and 4 (1 thread; 8% on 2).
    const bool packed = foldedPointwise(g) && pointwisePacks(g, best.RV, t.width);
    auto fits = [&](int64_t cb) {
      if (packed)
        return double(cb * (best.RV * t.width + taps * best.RK) * 4) <= t.l1Bytes;
      return double(cb * taps * best.RK * 4) <= t.l1Bytes / 2;
    };
    if (!fits(g.Cg)) {
      for (int64_t cb = g.Cg - 1; cb >= 16; --cb)
        if (g.Cg % cb == 0 && fits(cb)) {
          best.Cb = cb;
          break;
        }
    }
    // Experiments: CNNC_CONV_CB=Cb forces the channels per pass (a divisor).
    if (const char *e = getenv("CNNC_CONV_CB")) {
      long cb = atol(e);
      if (cb > 0 && g.Cg % cb == 0)
        best.Cb = cb;
    }
  }
  // Loop order: what each order streams from beyond L2, per image/group
  // and channel pass.
  if (best.cost >= 0) {
    ConvInputLayout L = convInputLayout(g, t.width);
    double inBytes = double(best.Cb) * L.plane * 4;
    double wBytes = double(g.Kg) * best.Cb * g.KH * g.KW * 4;
    double KB = double((g.Kg + best.RK - 1) / best.RK);
    double RB = double((g.OH + best.RH - 1) / best.RH);
    double kbOuter = inBytes > t.l2Bytes / 2 ? KB * inBytes : inBytes;
    // Streamed weights are read as broadcasts with little reuse per load,
    // so they count double (measured: 128->128 at 28x28 prefers channel
    // blocks outer, 64->64 at 112x112 rows outer).
    double rowsOuter = wBytes > t.l2Bytes / 2 ? 2 * RB * wBytes : wBytes;
    best.rowsOuter = rowsOuter < kbOuter;
  }
  return best;
}

bool winogradEligible(const ConvGeom &g) {
  return (g.KH == 3 || g.KH == 5) && g.KW == g.KH && g.SH == 1 && g.SW == 1 &&
         g.DH == 1 && g.DW == 1 && g.G == 1 && g.OH == g.H + 2 * g.PH - (g.KH - 1) &&
         g.OW == g.W + 2 * g.PW - (g.KW - 1) && g.PH >= 0 && g.PW >= 0;
}

WinogradPlan planWinograd(const ConvGeom &g, const VectorTarget &t, int64_t m) {
  const int64_t VL = t.width;
  WinogradPlan p;
  p.m = m;
  p.r = g.KH;
  p.a = m + p.r - 1;
  p.TH = ceilDiv(g.OH, m);
  p.TW = ceilDiv(g.OW, m);
  p.T = p.TH * p.TW;
  p.NG = ceilDiv(p.TW, VL);
  p.TWv = p.NG * VL;
  // Tile column j of an input tile is phase j % m, entry j / m.
  p.PP = p.TWv + (p.a - 1) / m;
  p.Hp = m * p.TH + p.r - 1;
  p.NTV = ceilDiv(p.T, VL);
  p.Tp = std::max(p.NTV * VL, (p.TH - 1) * p.TW + p.TWv);
  const int64_t E = p.E();
  p.Cin = g.C;
  p.Kout = g.K;
  p.pFloats = g.N * g.C * p.Hp * m * p.PP;
  p.vFloats = g.N * E * g.C * p.Tp;
  p.mFloats = g.N * E * g.K * p.Tp;
  // GEMM register tile, like the direct kernel's: rk x rt accumulators plus
  // the held operands (the smaller side) plus a temporary.
  int64_t spare = t.hasFMA ? 1 : 2;
  // A group of rt tile vectors (C x rt vectors of V) is meant to stay in
  // L1 while every channel block passes over it; when it cannot, each
  // step's rt vector loads come from L2 at ~32 bytes per cycle (measured:
  // 128->128 at 28x28, F(2x2) with all 13 tile vectors in one group, 1.32
  // ms against F(4x4)'s 0.92 with groups of 2).
  auto gemmStep = [&](int64_t rk, int64_t rt) {
    double s = stepCycles(rk, rt);
    if (double(g.C) * rt * VL * 4 > t.l1Bytes / 2)
      s = std::max(s, double(rt) * VL * 4 / kL2BytesPerCycle);
    return s;
  };
  // The transformed weights (4x the direct kernel's for F(4x4), 16/9 for
  // F(2x2)) are read once per image and group of rt tile vectors, with
  // little reuse (rt FMAs per broadcast); what L2 cannot hold comes at ~8
  // bytes per cycle if they stay cached between inferences, else from
  // memory at ~3 (measured inside ResNet-18 against the layer alone:
  // 256->256 at 14x14, F(4x4), 9.4 MB, 1.85 against 1.0 ms; 128->128 at
  // 28x28, F(4x4), 2.4 MB, 0.92 against 0.88; F(2x2) at 256->256 14x14,
  // 4.2 MB, 10 % faster with one group of 4 tile vectors than with 2 of 2).
  const double uBytes = double(E) * g.K * g.C * 4;
  const double beyondL2 = std::max(0.0, uBytes - double(t.l2Bytes));
  const double uCycles = g.N * beyondL2 /
                         (weightsStayCached(t) ? kStreamBytesPerCycle : kMemoryBytesPerCycle);
  // The best register tile for GEMMs over `tv` tile vectors, run `reps`
  // times per image (once, or per tile row when fused), `wGroup` cycles of
  // weight reads per group of tile vectors: {cycles, weight cycles, rk, rt}.
  struct Tile {
    double cycles = -1, weights = 0;
    int64_t rk = 1, rt = 1;
  };
  auto searchTile = [&](int64_t tv, int64_t reps, double wGroup) {
    Tile best;
    for (int64_t rk = 1; rk <= std::min<int64_t>(g.K, 16); ++rk)
      for (int64_t rt = 1; rt <= tv; ++rt) {
        if (rk * rt + std::min(rk, rt) + spare > int64_t(t.numRegs))
          break;
        int64_t kFull = g.K / rk, kRem = g.K % rk;
        int64_t tFull = tv / rt, tRem = tv % rt;
        double c = 0;
        for (int ki = 0; ki < 2; ++ki)
          for (int ti = 0; ti < 2; ++ti) {
            int64_t kn = ki ? (kRem ? 1 : 0) : kFull, kt = ki ? kRem : rk;
            int64_t tn = ti ? (tRem ? 1 : 0) : tFull, tt = ti ? tRem : rt;
            if (kn > 0 && tn > 0)
              c += double(kn * tn) *
                   (g.C * gemmStep(kt, tt) + 2.0 * kt * tt + 8);
          }
        double w = wGroup * double(reps * ceilDiv(tv, rt));
        c = c * E * g.N * reps + w;
        if (best.cycles < 0 || c < best.cycles * 0.999 ||
            (c <= best.cycles * 1.001 && rk * rt > best.rk * best.rt)) {
          best.cycles = c;
          best.weights = w;
          best.rk = rk;
          best.rt = rt;
        }
      }
    return best;
  };
  Tile global = searchTile(p.NTV, 1, uCycles);
  double best = global.cycles, weights = global.weights;
  p.RK = global.rk;
  p.RT = global.rt;
  double gemm = best - weights;
  // Transforms: ~36 loads, ~240 adds/FMAs, 36 stores (input) or 16 shuffled
  // stores (output) per tile vector, at ~3 vector ops per cycle; F(2x2,3x3):
  // 16 loads, ~48 adds, 16 stores (or 4 shuffled stores). F(2x2,5x5) has
  // F(4x4,3x3)'s 6x6 input transform and a 6x6 -> 2x2 output transform.
  double groups = double(g.N) * p.TH * p.NG;
  // F(4x4,5x5)'s 8x8 input transform: 64 loads, ~600 adds/FMAs, 64
  // stores; its 8x8 -> 4x4 output transform ~330 ops and 16 stores.
  double perIn = p.a == 8 ? 250 : p.a == 6 ? 100 : 30;
  double perOut = p.a == 8 ? 150 : p.a == 6 ? (m == 4 ? 100 : 50) : 30;
  double inT = groups * g.C * perIn, outT = groups * g.K * perOut;
  double copy = double(p.pFloats) * 1.0;
  // P, V and M are each written once and read once by the next phase; from
  // L2, from this core's L3 share (at most 4 MiB of it) or from memory, by
  // the bytes live between phases (measured: 32 channels at 112x112, 7 MB
  // of V + M, is slower than the direct kernel; 64 at 56x56, 3.8 MB, is
  // 2.5x faster; on Zen 3, with a 16 MiB L3 share that is a victim cache
  // shared with other guests, that 32-channel layer's three loops took
  // 3.2-3.7 ms, ~2.7 bytes per cycle, against 2.1 ms for the fused F(2x2)).
  double live =
      double(std::max(p.pFloats + p.vFloats, p.vFloats + p.mFloats)) * 4;
  double bytesPerCycle =
      live <= t.l2Bytes ? 32 : live <= std::min(t.l3Bytes, kMaxLiveL3Bytes) ? 16 : 3;
  double traffic =
      double(p.pFloats + p.vFloats + p.mFloats) * 4 * 2 / bytesPerCycle;
  p.cost = gemm + inT + outT + copy + traffic + weights;
  p.fused = false;
  p.TR = 1;
  // Fused (one item per TR tile rows, TR dividing TH): no P/V/M traffic
  // beyond the item's buffers, but the transformed weights are read once per
  // item (from L2) and a GEMM group spans the item's TR * NG tile vectors
  // only (a tile row's last vector may be part empty). Only where an
  // item's buffers and the weights together stay within 3/4 of L2
  // (measured, 1 thread, medians of 7-9 alternating rounds: the seed's
  // conv2, 10 -> 20 at 32x32: direct 0.076 ms, three-loop F(2x2,5x5) 0.064,
  // fused with 1 / 2 / 4 / 8 / 16 tile rows per item 0.058 / 0.045 / 0.049
  // / 0.056 / 0.059, 78 / 150 / 294 / 582 / 1158 KB of buffers; 64 -> 64
  // at 56x56, F(4x4): three loops 0.89 ms, fused 1 / 2 rows 0.99 / 0.71,
  // 400 / 764 KB with 590 KB of weights).
  const char *force = getenv("CNNC_WINOGRAD_FUSED"); // experiments: 0|1
  const bool forced = force && *force == '1', off = force && *force == '0';
  // TR: CNNC_WINOGRAD_ROWS if it divides the tile rows, else the fewest
  // rows whose tiles (dense, see WinogradPlan) give the GEMMs two tile
  // vectors (the measured optimum in both cases above; more rows per item
  // only made it slower and leave fewer items for the threads; the seed's
  // conv2 as F(4x4,5x5), 8 tiles per row: 4 rows 0.052 ms, 2 rows 0.060).
  const char *rowsEnv = getenv("CNNC_WINOGRAD_ROWS"); // experiments: TR
  int64_t tr = rowsEnv ? atoi(rowsEnv) : 0;
  WinogradPlan f = p;
  auto vectors = [&](int64_t rows) { // the GEMMs' tile vectors with `rows` per item
    WinogradPlan q = p;
    q.TR = rows;
    return q.fusedVectors();
  };
  if (tr <= 0 || p.TH % tr) {
    tr = 1;
    while (tr < p.TH && (p.TH % tr || vectors(tr) < 2))
      ++tr;
  }
  f.TR = tr;
  // Tile rows per transform vector: whole rows of output vectors only (see
  // WinogradPlan::rpv).
  for (int64_t q = VL / 2; q >= 2; q /= 2)
    if (p.NG == 1 && p.TW * q == VL && m % q == 0 && tr % q == 0 && g.OW == m * p.TW &&
        g.OH == m * p.TH) {
      f.rpv = q;
      break;
    }
  // The buffers, the conv rows of an in-item pooling counted.
  const double itemBytes =
      double(f.plFloats() + f.vlFloats() + f.mlFloats() + g.K * tr * m * g.OW) * 4;
  if (!off && itemBytes <= kMaxFusedItemBytes &&
      (forced || itemBytes + uBytes <= 0.75 * double(t.l2Bytes))) {
    const int64_t items = g.N * p.TH / tr;
    const int64_t nfv = f.fusedVectors();
    Tile row = searchTile(nfv, p.TH / tr, uBytes / kL2BytesPerCycle / nfv);
    f.cost = row.cycles + (inT + outT) / f.rpv +
             double(items) * g.C * f.plRows() * m * p.PP * 0.5;
    f.RK = row.rk;
    f.RT = row.rt;
    f.fused = true;
    if (f.cost < p.cost || forced)
      p = f;
  }
  if (const char *e = getenv("CNNC_WINOGRAD_TILE")) { // experiments: RK,RT
    int rk = 0, rt = 0;
    if (sscanf(e, "%d,%d", &rk, &rt) == 2 && rk > 0 && rt > 0 &&
        rt <= (p.fused ? p.fusedVectors() : p.NTV)) {
      p.RK = std::min<int64_t>(rk, g.K);
      p.RT = rt;
    }
  }
  return p;
}

WinogradPlan bestWinograd(const ConvGeom &g, const VectorTarget &t) {
  if (const char *e = getenv("CNNC_WINOGRAD_M"))
    if (*e == '2' || *e == '4')
      return planWinograd(g, t, *e - '0');
  // F(2x2) needs 2.25x the GEMM FLOPs of F(4x4) per output (for 5x5 too:
  // 36/4 against 64/16) but 16/36 of its transformed weights (36/64 for
  // 5x5) and V/M traffic. Its estimate is the more
  // optimistic of the two (measured: 128->128 at 28x28, F(2x2) 0.99 ms
  // against F(4x4) 0.89 where the estimates were 5 % apart the other way),
  // so for 3x3 it must be 10 % cheaper to be chosen. For 5x5 the cheaper
  // estimate wins (measured on AVX-512, 1 thread, F(2x2) against F(4x4):
  // the seed's conv2, 10->20 at 32x32, 0.045 against 0.049 ms, estimates
  // 5 % apart; 64->64 at 28x28 0.55 / 0.53, 64->192 at 27x27 1.62 / 1.03,
  // 32->64 at 56x56 1.14 / 0.60, estimates 1.3-2.1x apart).
  WinogradPlan p4 = planWinograd(g, t, 4), p2 = planWinograd(g, t, 2);
  return p2.cost < (g.KH == 5 ? 1.0 : 0.9) * p4.cost ? p2 : p4;
}

bool unfoldedConvGeom(const ir::Node &n, ConvGeom &g) {
  if (n.kind != ir::OpKind::Conv2d || n.operands.empty())
    return false;
  const ir::Shape &xs = n.operands[0]->shape, ys = n.opShape();
  if (xs.size() != 4 || ys.size() != 4)
    return false;
  const ir::Attrs &a = n.attrs;
  g = ConvGeom{xs[0],        xs[1],        xs[2],        xs[3],
               ys[1],        ys[2],        ys[3],        a.groups,
               0,            0,            a.kernel[0],  a.kernel[1],
               a.stride[0],  a.stride[1],  a.padding[0], a.padding[1],
               a.dilation[0], a.dilation[1]};
  return true;
}

} // namespace cnnc::codegen
