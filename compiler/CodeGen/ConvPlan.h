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

#include <algorithm>
#include <cstdint>
#include <string>

namespace cnnc::ir {
struct Node;
}

namespace cnnc::codegen {

/// What the generated code may assume about the target's SIMD unit and
/// caches (per core). The caches are the host's when compiling for the host
/// (KernelSupport.cpp), else these defaults.
struct VectorTarget {
  unsigned width = 4;     ///< floats per register (16 AVX-512, 8 AVX2, 4 SSE)
  unsigned numRegs = 16;  ///< architectural vector registers
  bool hasFMA = false;    ///< fused multiply-add instructions
  double l1Bytes = 32 * 1024;       ///< L1 data cache
  double l2Bytes = 512 * 1024;      ///< L2 cache
  double l3Bytes = 4 * 1024 * 1024; ///< this core's share of L3
  /// Bytes of all weights of the model being compiled, as the kernels pack
  /// them, 0 if unknown (withModelWeights). Whether a layer's weights are
  /// still cached at its next inference depends on it (weightsStayCached).
  double modelWeightBytes = 0;
};

/// Most of a shared L3 one core's weights can count on keeping from one
/// inference to the next: the share sysfs reports in a VM is the whole
/// socket's divided by the guest's CPUs (130 MB on the 2-vCPU Xeon of
/// docs/performance.md). Measured there: vgg112's 45 MB of packed weights
/// stay in L3 (its 9.4 MB Winograd layer runs as fast as alone), ResNet-18's
/// 80 MB do not (the same layer is 1.4-1.8x slower than alone).
constexpr double kMaxResidentL3Bytes = 48 * 1024 * 1024;

/// Whether the model's weights stay cached from one inference to the next
/// (all of them or none: each inference reads them all in the same order).
inline bool weightsStayCached(const VectorTarget &t) {
  return t.modelWeightBytes <= t.l2Bytes + std::min(t.l3Bytes, kMaxResidentL3Bytes);
}

/// Static geometry of one convolution as the direct kernel sees it (after
/// folding a 1x1/stride-1/unpadded conv into one long row).
struct ConvGeom {
  int64_t N, C, H, W, K, OH, OW, G, Cg, Kg, KH, KW, SH, SW, PH, PW, DH, DW;
};

/// Most FMAs and loads one input channel's unrolled taps may emit (the
/// direct and channel-vectorised kernels loop over kernel rows beyond it).
constexpr int64_t kMaxUnrolledOps = 640;

/// Input channels of a "first layer": few enough that a tile of several
/// output rows keeps the input rows its kernel rows share in registers
/// (chooseConvTile).
constexpr int64_t kFirstLayerChannels = 4;

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

/// Pointwise convolutions folded into one long row (1x1, stride 1, unpadded;
/// H = OH = 1 after folding) read their input in column groups of RV
/// vectors with all channels of a group contiguous (ConvDirect.cpp).
/// Widest column group, in vectors.
constexpr int64_t kMaxGroupVectors = 8;
/// Largest column group (Cg x GW floats) packed into a stack buffer per work
/// item instead of copying the whole input first.
constexpr int64_t kMaxPackBytes = 64 * 1024;
inline bool foldedPointwise(const ConvGeom &g) {
  return g.H == 1 && g.OH == 1 && g.KH == 1 && g.KW == 1 && g.SW == 1 && g.PW == 0 &&
         g.PH == 0 && g.OW == g.W;
}
/// Whether a column group of rv vectors of width vl can be packed per work item.
inline bool pointwisePacks(const ConvGeom &g, int64_t rv, int64_t vl) {
  return foldedPointwise(g) && rv <= kMaxGroupVectors && g.Cg * rv * vl * 4 <= kMaxPackBytes;
}

/// The geometry of a Conv2d node as written (Cg, Kg left 0; no folding of
/// pointwise convs into one row): false unless the node is a conv with 4-d
/// input and output. The kernels add their own checks.
bool unfoldedConvGeom(const ir::Node &n, ConvGeom &g);

/// Best tile for `g` on `t`. `poolRows`: the window height of a fused
/// pooling (0 if none), which a first layer's multi-row tile must divide or
/// be a multiple of, so that its work items still pool their own rows.
ConvTile chooseConvTile(const ConvGeom &g, const VectorTarget &t, int64_t poolRows = 0);

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

/// Winograd F(m x m, r x r) for r x r / stride-1 / dilation-1 / groups-1
/// convolutions (ConvWinograd.cpp): F(4x4,3x3) or F(2x2,3x3) for 3x3
/// kernels, F(4x4,5x5) or F(2x2,5x5) for 5x5; m x m output tiles, each from an a x a
/// input tile (a = m + r - 1). Layouts (floats, per image):
///   P: padded, m-phase-split input copy, C x Hp x m x PP (phase q holds
///      padded columns q, q+m, ...), so tile column vectors load contiguously;
///   V: transformed input, a*a x C x Tp (tiles flattened row-major, TW per
///      tile row, Tp >= T with room for the last vector's overhang);
///   M: a*a x K x Tp, the a*a GEMMs' results (aliases P, dead by then).
/// Small layers run fused instead: one work item per (image, block of TR
/// tile rows) copies, transforms, multiplies and transforms back those rows
/// alone, with its P ([C][PR][m][PP], PR = TR*m + a - m padded rows), V
/// ([a*a][C][vlPitch]) and M ([a*a][K][mlPitch], plus one vector) in stack
/// buffers of the worker, so nothing goes through scratch and there is one
/// parallel loop instead of three. V and M hold the item's TR*TW tiles
/// densely like the three-loop schedule's (a tile row's last vector
/// overhangs into the next row's tiles, which that row then overwrites), so
/// the GEMMs run over fusedVectors() vectors, not TR*NG part-empty ones.
struct WinogradPlan {
  int64_t m, r, a;    ///< F(m x m, r x r): output tile m, input tile a = m + r - 1
  int64_t TH, TW, T;  ///< tile rows, tile columns, tiles per image
  int64_t NG, TWv;    ///< column vector groups per tile row, NG * VL
  int64_t PP, Hp;     ///< phase pitch and padded rows of P
  int64_t NTV, Tp;    ///< tile vectors per image; tile pitch of V and M
  int64_t RK, RT;     ///< GEMM register tile: output channels x tile vectors
  double cost;        ///< estimated cycles for the whole conv
  bool fused;         ///< one item per TR tile rows, buffers on the stack
  int64_t TR;         ///< fused: tile rows per item (divides TH)
  /// Fused, with a fused pooling whose windows an item holds whole (TR*m
  /// rows a multiple of the window): each item pools its own rows.
  bool poolInItem = false;
  /// Fused, rows of TW = VL / rpv tiles making whole output vectors (m *
  /// TW a multiple of VL, no partial tiles): each input / output transform
  /// vector holds rpv tile rows instead of one part-empty row.
  int64_t rpv = 1;
  int64_t pFloats, vFloats, mFloats;
  /// The fused schedule's per-item buffers (P, V, M of TR tile rows).
  int64_t plRows() const { return TR * m + a - m; }
  int64_t plFloats() const { return Cin * plRows() * m * PP; }
  int64_t vl() const { return TWv / NG; } ///< floats per vector
  /// Tile vectors of an item's GEMMs: its TR*TW tiles, dense.
  int64_t fusedVectors() const { return (TR * TW + vl() - 1) / vl(); }
  /// End of the tiles an item's input transform writes (its last tile
  /// row's last vector).
  int64_t fusedWritten() const { return (TR - 1) * TW + TWv; }
  /// Pitch of a channel's tiles in an item's V: room for what the GEMMs
  /// read and the transform writes, whole vectors.
  int64_t vlPitch() const {
    return (std::max(fusedVectors() * vl(), fusedWritten()) + vl() - 1) / vl() * vl();
  }
  /// Pitch of an output channel's tiles in an item's M: what the GEMMs
  /// write; the output transform's overhang reads the next channel's (and
  /// after the last, one zeroed vector).
  int64_t mlPitch() const { return fusedVectors() * vl(); }
  int64_t vlFloats() const { return a * a * Cin * vlPitch(); }
  int64_t mlFloats() const { return a * a * Kout * mlPitch() + vl(); }
  int64_t Cin, Kout;
  int64_t E() const { return a * a; } ///< transform elements (GEMMs)
  int64_t vOffset() const { return (std::max(pFloats, mFloats) + 15) / 16 * 16; }
  int64_t scratchFloats() const { return vOffset() + vFloats; }
};
/// Whether the geometry can use the Winograd kernel at all.
bool winogradEligible(const ConvGeom &g);
/// Layout, register tile and cost of the Winograd kernel F(m x m, r x r)
/// (m = 4 or 2, r = g.KH = 3 or 5) for `g` on `t`.
WinogradPlan planWinograd(const ConvGeom &g, const VectorTarget &t, int64_t m);
/// The cheaper of F(4x4) and F(2x2) by that estimate, F(2x2,3x3) only if
/// 10% cheaper (CNNC_WINOGRAD_M=4|2 forces one).
WinogradPlan bestWinograd(const ConvGeom &g, const VectorTarget &t);

} // namespace cnnc::codegen

#endif
