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

#include <algorithm>

namespace cnnc::codegen {

namespace {
constexpr double kFmaPerCycle = 2.0;
constexpr double kLoadsPerCycle = 2.0;
constexpr double kFmaLatency = 4.0;
/// Per-core L1D size assumed for the channel blocking.
constexpr double kL1Bytes = 32 * 1024;
/// Per-core L2 share assumed for the loop-order choice.
constexpr double kL2Bytes = 512 * 1024;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

double stepCycles(int64_t rk, int64_t rw) {
  double fma = double(rk * rw) / kFmaPerCycle;
  double ld = double(rk + rw) / kLoadsPerCycle;
  return std::max({fma, ld, kFmaLatency});
}
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

ConvTile chooseConvTile(const ConvGeom &g, const VectorTarget &t) {
  int64_t NV = ceilDiv(g.OW, t.width);
  int64_t steps = g.Cg * g.KH * g.KW;
  int64_t spare = t.hasFMA ? 1 : 2;
  // With 32 registers the scheduler hoists loads far enough to spill when
  // the tile uses them all; keep a few free.
  int64_t budget = t.numRegs > 16 ? t.numRegs - 4 : t.numRegs;
  ConvTile best;
  best.cost = -1;
  for (int64_t rk = 1; rk <= std::min<int64_t>(g.Kg, 24); ++rk) {
    for (int64_t rv = 1; rv <= NV; ++rv) {
      // More than one row only when a row's vectors all fit in the tile.
      int64_t maxRh = rv == NV ? g.OH : 1;
      for (int64_t rh = 1; rh <= maxRh; ++rh) {
        int64_t rw = rh * rv;
        if (rk * rw + std::min(rk, rw) + spare > budget)
          break;
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
                  steps * stepCycles(kt, ht * vt) + 2.0 * kt * ht * vt + 8;
              cost += tiles * perTile;
            }
          }
        }
        cost *= g.N * g.G;
        if (best.cost < 0 || cost < best.cost * 0.999 ||
            (cost <= best.cost * 1.001 &&
             rk * rw > best.RK * best.RH * best.RV)) {
          best.RK = rk;
          best.RH = rh;
          best.RV = rv;
          best.cost = cost;
        }
      }
    }
  }
  // Input-channel block: the largest divisor of C/G whose weight block
  // (Cb x taps x RK floats) fits half of L1, but at least 16 channels of
  // work per pass (fewer passes when the channels are few anyway).
  best.Cb = g.Cg;
  if (best.cost >= 0) {
    int64_t taps = g.KH * g.KW;
    auto fits = [&](int64_t cb) {
      return double(cb * taps * best.RK * 4) <= kL1Bytes / 2;
    };
    if (!fits(g.Cg)) {
      for (int64_t cb = g.Cg - 1; cb >= 16; --cb)
        if (g.Cg % cb == 0 && fits(cb)) {
          best.Cb = cb;
          break;
        }
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
    double kbOuter = inBytes > kL2Bytes / 2 ? KB * inBytes : inBytes;
    // Streamed weights are read as broadcasts with little reuse per load,
    // so they count double (measured: 128->128 at 28x28 prefers channel
    // blocks outer, 64->64 at 112x112 rows outer).
    double rowsOuter = wBytes > kL2Bytes / 2 ? 2 * RB * wBytes : wBytes;
    best.rowsOuter = rowsOuter < kbOuter;
  }
  return best;
}

} // namespace cnnc::codegen
