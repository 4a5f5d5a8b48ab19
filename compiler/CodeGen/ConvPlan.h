//===- ConvPlan.h - tiling decisions for the direct convolution -----------===//
//
// The direct convolution (ConvDirect.cpp) vectorises over output width: one
// SIMD register holds VL consecutive output columns of one output channel.
// A register tile is RK output channels x RH output rows x RV column vectors;
// its RK*RH*RV accumulators stay in registers while the loop over input
// channels and the (unrolled) kernel taps issues broadcast(weight) x
// input-vector FMAs. The cost model (ConvCostModel.cpp) picks RK/RH/RV from
// the register count, the FMA / load throughput and the waste of remainder
// tiles; nothing is tuned per layer.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_CODEGEN_CONVPLAN_H
#define CNNC_CODEGEN_CONVPLAN_H

#include <cstdint>
#include <string>

namespace cnnc::codegen {

/// What the generated code may assume about the target's SIMD unit.
struct VectorTarget {
  unsigned width = 4;     ///< floats per register (16 AVX-512, 8 AVX2, 4 SSE)
  unsigned numRegs = 16;  ///< architectural vector registers
  bool hasFMA = false;    ///< fused multiply-add instructions
};

/// Static geometry of one convolution as the direct kernel sees it (after
/// folding a 1x1/stride-1/unpadded conv into one long row).
struct ConvGeom {
  int64_t N, C, H, W, K, OH, OW, G, Cg, Kg, KH, KW, SH, SW, PH, PW, DH, DW;
};

struct ConvTile {
  int64_t RK = 1, RH = 1, RV = 1; ///< channels, rows, column vectors per tile
  double cost = 0;                ///< estimated cycles for the whole conv
  /// Loop order of the work items: row blocks outside channel blocks (the
  /// input rows of a row block stay cached while all weights stream) or
  /// channel blocks outside (one block's weights stay cached while the
  /// whole input streams). Chosen by the bytes either order re-reads from
  /// beyond the L2 cache.
  bool rowsOuter = false;
  /// Input channels per pass (a divisor of C/G): with Cb < C/G the output
  /// holds partial sums between passes, so one pass's weights stay in L1.
  int64_t Cb = 1;
};

/// Best tile for `g` on `t`.
ConvTile chooseConvTile(const ConvGeom &g, const VectorTarget &t);

/// Padded / phase-split input copy the kernel reads (floats per image row
/// phase, rows, ...). Shared by the lowering and the scratch size query.
struct ConvInputLayout {
  int64_t NV;         ///< column vectors per output row
  int64_t Hp;         ///< padded rows needed
  int64_t phasePitch; ///< floats per phase of a padded row
  int64_t rowPitch;   ///< SW * phasePitch
  int64_t plane;      ///< Hp * rowPitch
  int64_t floats() const;
  int64_t N, C;
};
ConvInputLayout convInputLayout(const ConvGeom &g, unsigned vectorWidth);

} // namespace cnnc::codegen

#endif
