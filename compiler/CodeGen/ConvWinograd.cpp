//===- ConvWinograd.cpp - Winograd F(4x4/2x2, 3x3) and F(4x4/2x2, 5x5) ----===//
//
// For 3x3 and 5x5, stride-1, dilation-1, ungrouped convolutions with enough
// channels (the cost model decides, ConvCostModel.cpp) each m x m block of
// output (m = 4 or 2) is computed from the a x a input block around it
// (a = m + r - 1 for an r x r kernel) as
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
// (Lavin & Gray, F(4x4,3x3) and F(2x2,3x3)). F(2x2,5x5) uses F(4x4,3x3)'s
// six points (0, +-1, +-2, infinity), hence its B^T; its G evaluates the
// 5-tap filter at them with F(4x4)'s scale factors, its A^T is the first
// two powers (and the infinity point's leading coefficient), 2.8x fewer
// multiplies than the direct 5x5 convolution. F(4x4,5x5) takes the eight
// points 0, +-1, +-2, +-1/2, infinity (8x8 input tiles), 6.25x fewer; its
// float32 error, simulated in numpy for 10-192 input channels, is about
// twice F(2x2,5x5)'s (2e-5 at 192 channels, well inside the oracle's
// tolerance). With tiles flattened, the
// elementwise product summed over input channels is a*a independent GEMMs
//   M[xi] (K x T) = U[xi] (K x C) * V[xi] (C x T).
// F(4x4) does 4x fewer multiplies than the direct convolution, F(2x2)
// 2.25x, with 16/36 of F(4x4)'s transformed weights: the cost model takes
// F(2x2) where F(4x4)'s weights would stream from memory (ResNet-18's
// 256-channel 14x14 layers).
// The kernel, in three parallel loops (layouts in ConvPlan.h), the first
// doing steps 0 and 1 per (image, channel) plane:
//  0. copies the input into scratch zero-padded and split into m column
//     phases, so VL horizontally adjacent tiles' column j is one vector;
//  1. input transform V = B^T d B, vectorised over VL tiles of a tile row,
//     per (image, channel) plane; a row's last vector overhangs into the
//     next row's tiles, which the next row then overwrites (same worker,
//     ascending order), so V holds the tiles densely;
//  2. the GEMMs with register tiles of RK output channels x RT tile vectors
//     (U transformed and packed at compile time as [a*a][K/RK][C][RK]), per
//     (image, transform element): each group of RT tile vectors is held in
//     L1 while all channel blocks pass over it;
//  3. output transform Y = A^T M A plus bias, per (image, output channel)
//     plane, vectorised over VL tiles of a tile row; the m columns of the
//     tiles are interleaved into m output vectors, the fused epilogue is
//     applied and the row's end is stored with a constant mask.
// The fused schedule (planWinograd) does the same per block of tile rows
// with its buffers on the stack; where a tile row is a fraction of a
// vector it transforms several rows per vector (WinogradPlan::rpv).
// No reduction is split across threads, so results do not depend on the
// thread count. CNNC_WINOGRAD=0/1 forces the kernel off/on, CNNC_WINOGRAD_M=4/2
// the tile size (for 3x3 and 5x5).
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"
#include "CodeGen/WinogradMath.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

using namespace llvm;

namespace cnnc::codegen {

namespace {

/// Smallest channel counts worth considering at all (3x3; a 5x5 conv's
/// GEMMs save 2.8x the multiplies with fewer channels: the seed's conv2
/// has 10 inputs).
constexpr int64_t kMinChannels = 16, kMinChannels5 = 8;

bool geomOf(const ir::Node &n, ConvGeom &g) {
  if (!unfoldedConvGeom(n, g))
    return false;
  if (g.G != 1 || g.N <= 0 || g.OH <= 0 || g.OW <= 0)
    return false;
  g.Cg = g.C;
  g.Kg = g.K;
  // Elementwise epilogues (activations, residual adds) and a fused pooling,
  // applied to the whole output afterwards (emitPoolAfterConv).
  for (const ir::EpilogueStep &st : n.epilogue)
    if (st.kind != ir::OpKind::Add && !ir::isActivation(st.kind) && !ir::isPooling(st.kind))
      return false;
  return winogradEligible(g);
}

/// geomOf, and enough channels for the GEMMs (or few enough for
/// ConvWinogradFew.cpp); `few` says which.
bool applies(const ir::Node &n, ConvGeom &g, const VectorTarget &t, bool &few) {
  if (!geomOf(n, g))
    return false;
  const int64_t minC = g.KH == 5 ? kMinChannels5 : kMinChannels;
  few = winogradFewEligible(n, g, t);
  return few || (g.C >= minC && g.K >= minC);
}

/// The plan for node n, with whether its items pool their own rows.
WinogradPlan planFor(const ir::Node &n, const ConvGeom &g, const VectorTarget &t) {
  WinogradPlan p = bestWinograd(g, t);
  const ir::EpilogueStep *pool = n.pooling();
  p.poolInItem = p.fused && pool && (p.TR * p.m) % poolGeom(n).SH == 0;
  return p;
}

/// -1 unset, 0 forced off, 1 forced on.
int forced() {
  const char *e = getenv("CNNC_WINOGRAD");
  if (!e || !*e)
    return -1;
  return *e == '0' ? 0 : 1;
}

/// Whether Winograd is estimated cheaper than the better of the direct
/// kernel and the channel-vectorised one (`chanVec` cycles, < 0 if not
/// eligible).
bool modelPrefers(const ConvGeom &g, const VectorTarget &t, double chanVec, bool few) {
  // Small images (fewer than 16 tiles) gain too little to be worth the
  // scratch and the 4x larger weights.
  // (Counted in F(4x4) tiles, whichever tile size is used: F(2x2) does not
  // make a small image worth it.)
  if (((g.OH + 3) / 4) * ((g.OW + 3) / 4) < 16)
    return false;
  double cost = few ? winogradFewCost(g, t) : bestWinograd(g, t).cost;
  double other = chooseConvTile(g, t).cost;
  if (other <= 0)
    return false;
  if (chanVec > 0)
    other = std::min(other, chanVec);
  // Near ties go to Winograd: 160->160 at 14x14 (test/CodeGen/Inputs/
  // wino160_big_fc.cnn) took 0.64 ms on F(2x2) against 0.80 on the
  // channel-vectorised kernel without its padding taps, estimated 1 % apart
  // (Zen 4, 1 thread).
  return cost < other * 1.02;
}

} // namespace

bool winogradChosen(const ir::Node &n, const VectorTarget &t) {
  ConvGeom g;
  bool few = false;
  if (!applies(n, g, t, few))
    return false;
  int f = forced();
  if (f >= 0)
    return f == 1;
  return modelPrefers(g, t, chanVecCost(n, t), few);
}

bool winogradFewChosen(const ir::Node &n, const VectorTarget &t) {
  ConvGeom g;
  bool few = false;
  return applies(n, g, t, few) && few && winogradChosen(n, t);
}

int64_t winogradScratchBytes(const ir::Node &n, const VectorTarget &t) {
  ConvGeom g;
  bool few = false;
  if (!applies(n, g, t, few) || few)
    return 0;
  WinogradPlan p = planFor(n, g, t);
  return p.fused ? 0 : p.scratchFloats() * 4;
}

Error lowerConv2dWinograd(Kernel &k) {
  const ir::Node &n = k.node;
  ConvGeom g;
  bool few = false;
  if (!applies(n, g, k.vec, few))
    return k.error("internal error: geometry unfit for Winograd");
  if (few)
    return lowerConv2dWinogradFew(k, g);
  if (!k.scratch)
    return k.error("internal error: Winograd convolution without scratch");
  const int64_t VL = k.vec.width;
  const WinogradPlan P = planFor(n, g, k.vec);
  const int64_t C = g.C, K = g.K, N = g.N, Tp = P.Tp;
  const int64_t RK = P.RK, RT = P.RT;
  const int64_t m = P.m, a = P.a, E = P.E(), R = P.r, taps = R * R;
  const WinogradMatrices &W = winogradMatrices(m, R);
  // Fused: single tile rows where a thread's range ends inside an item
  // (see the fused schedule below), if a single row's GEMMs waste at most
  // a quarter more tile vectors per row than a whole item's.
  const char *tailEnv = getenv("CNNC_WINOGRAD_TAILS"); // experiments: 0
  WinogradPlan P1 = P;
  P1.TR = 1;
  const bool tails = P.fused && P.TR > 1 && P.rpv == 1 && !P.poolInItem &&
                     4 * P1.fusedVectors() * P.TR <= 5 * P.fusedVectors() &&
                     !(tailEnv && *tailEnv == '0');
  if (getenv("CNNC_CONV_DEBUG"))
    errs() << "conv " << n.name << ": winograd F(" << m << "x" << m << "," << R << "x" << R
           << ") VL " << VL
           << " tiles " << P.TH << "x" << P.TW << " RK " << RK << " RT " << RT
           << (P.fused ? " fused, " + std::to_string(P.TR) + " tile rows per item" : "")
           << (P.rpv > 1 ? ", " + std::to_string(P.rpv) + " per transform vector" : "")
           << (P.poolInItem ? ", each item pools its rows" : "")
           << (tails ? ", single-row tails" : "")
           << " est " << P.cost << " cycles (direct "
           << chooseConvTile(g, k.vec).cost << ")\n";

  // --- weights: U = G g G^T, packed [a*a][K/RK][C][rk] -------------------
  auto wtOr = k.tensor("weight");
  if (!wtOr)
    return wtOr.takeError();
  if (!*wtOr)
    return k.error("missing weight param");
  const std::vector<float> &wsrc = (*wtOr)->data;
  if ((int64_t)wsrc.size() != K * C * taps)
    return k.error("weight has the wrong size");
  std::vector<float> packed = packWinogradWeights(wsrc, K, C, m, R, RK);
  const ir::Param *wp = n.param("weight");
  Value *uPacked = k.constant("winopack." + wp->key, packed);
  auto bOr = k.param("bias");
  if (!bOr)
    return bOr.takeError();
  Value *biasG = *bOr;

  IRBuilder<> &b = k.b;
  LLVMContext &ctx = b.getContext();
  Type *f32 = b.getFloatTy();
  auto *vecTy = FixedVectorType::get(f32, VL);
  auto vload = [&](Value *base, Value *idx) { return k.vload(vecTy, base, idx); };
  auto vstore = [&](Value *v, Value *base, Value *idx) { k.store(v, base, idx); };
  TransformEmitter te{b, vecTy, int(a)};
  auto lin = [&](const double *coef, ArrayRef<Value *> x) { return te.lin(coef, x); };
  auto leftMul = [&](const double (*mat)[8], int rows, Value *const (*x)[8], Value *(*out)[8]) {
    te.leftMul(mat, rows, x, out);
  };

  const int64_t rowPitch = m * P.PP, plane = P.Hp * rowPitch;
  const int64_t vOff = P.vOffset();

  // --- 0. padded, phase-split input copy of plane p (image, channel) -----
  // Phase ph, entry q of a row is padded column m*q + ph, input column
  // m*q + ph - PW (zero outside the input). Per VL entries of the m phases:
  // m (masked) vector loads of the m*VL input columns, deinterleaved by
  // shuffles, m (masked) stores; every mask is a constant. (An element loop
  // did most of this before: rows of fewer than m*(VL+1) columns had no
  // whole vectors, a third of phases 0 and 1 for 64 -> 64 at 56x56.)
  auto copyRow = [&](Value *srow, Value *drow) {
    Value *zeroV = ConstantFP::get(vecTy, 0.0);
    SmallVector<int, 64> cat2, pick;
    for (int64_t e = 0; e < 2 * VL; ++e)
      cat2.push_back(int(e));
    for (int64_t q0 = 0; q0 < P.PP; q0 += VL) {
      Value *x[4];
      for (int64_t j = 0; j < m; ++j) {
        int64_t c0 = m * q0 - g.PW + j * VL; // input column of lane 0
        int64_t lo = std::max<int64_t>(0, -c0), hi = std::min<int64_t>(VL, g.W - c0);
        if (hi <= lo)
          x[j] = zeroV;
        else if (Constant *mask = laneMask(ctx, VL, lo, hi))
          // not inbounds: lane 0's address may lie outside the row
          x[j] = b.CreateMaskedLoad(vecTy, b.CreateGEP(f32, srow, k.i64(c0)), Align(4),
                                    mask, zeroV);
        else
          x[j] = vload(srow, k.i64(c0));
      }
      // The m vectors as two halves of 2 (m = 4) or 1 (m = 2).
      Value *lo = m == 4 ? b.CreateShuffleVector(x[0], x[1], cat2) : x[0];
      Value *hi = m == 4 ? b.CreateShuffleVector(x[2], x[3], cat2) : x[1];
      Constant *mask = laneMask(ctx, VL, 0, P.PP - q0);
      for (int64_t ph = 0; ph < m; ++ph) {
        pick.clear();
        for (int64_t e = 0; e < VL; ++e)
          pick.push_back(int(m * e + ph));
        Value *v = b.CreateShuffleVector(lo, hi, pick);
        Value *dst = k.ptr(drow, k.i64(ph * P.PP + q0));
        if (mask)
          b.CreateMaskedStore(v, dst, Align(4), mask);
        else
          b.CreateAlignedStore(v, dst, Align(4));
      }
    }
  };
  auto copyPlane = [&](Value *in, Value *scratch, Value *p) {
    Value *src = k.ptr(in, k.mul(p, g.H * g.W));
    Value *dst = k.ptr(scratch, k.mul(p, plane));
    auto zero = [&](Value *base, int64_t from, int64_t to) {
      if (from < to)
        b.CreateMemSet(k.ptr(base, k.i64(from)), b.getInt8(0), (to - from) * 4,
                       MaybeAlign(4));
    };
    int64_t rowLo = std::min(g.PH, P.Hp);
    int64_t rowHi = std::min(g.PH + g.H, P.Hp);
    zero(dst, 0, rowLo * rowPitch);
    zero(dst, rowHi * rowPitch, P.Hp * rowPitch);
    forLoop(b, rowLo, rowHi, [&](Value *ih) {
      Value *srow = k.ptr(src, k.mul(k.add(ih, -g.PH), g.W));
      Value *drow = k.ptr(dst, k.mul(ih, rowPitch));
      copyRow(srow, drow);
    });
  };

  // --- 1. input transform of one vector group (VL tiles of a tile row):
  // `src` at the group's first padded row, phase 0; `dst` at the group's
  // first tile of transform element 0, element xi xiPitch floats on.
  // With rpv > 1 (fused, rows of TW = VL / rpv tiles) the vector holds
  // rpv tile rows: lanes [q*TW, q*TW + TW) are tile row q from `src`'s,
  // merged in by masked loads (the lanes below q*TW masked off, so their
  // addresses are never read).
  auto transformGroup = [&](Value *src, Value *dst, int64_t xiPitch, int64_t rpv = 1) {
    Value *d[8][8];
    for (int r = 0; r < a; ++r)
      for (int j = 0; j < a; ++j) {
        int64_t off = r * rowPitch + (j % m) * P.PP + j / m;
        d[r][j] = vload(src, k.i64(off));
        for (int64_t q = 1; q < rpv; ++q)
          d[r][j] = b.CreateMaskedLoad(
              vecTy, b.CreateGEP(f32, src, k.i64(off + q * m * rowPitch - q * P.TW)), Align(4),
              laneMask(ctx, VL, q * P.TW, (q + 1) * P.TW), d[r][j]);
      }
    Value *t[8][8];
    leftMul(W.BT, a, d, t);
    for (int i = 0; i < a; ++i)
      for (int j = 0; j < a; ++j)
        vstore(lin(W.BT[j], ArrayRef<Value *>(t[i], a)), dst, k.i64((i * a + j) * xiPitch));
  };

  // --- 2. GEMM register tiles: rk channels from k0 x rt tile vectors from
  // t0, V's and M's rows (a channel's tiles) `pitch` floats apart.
  Function *fmuladd = Intrinsic::getDeclaration(&k.m, Intrinsic::fmuladd, {vecTy});
  auto tile = [&](Value *vX, Value *uBlk, Value *mX, Value *k0, int64_t rk, Value *t0,
                  int64_t rt, int64_t pitch, int64_t mPitch) {
    std::vector<Value *> init(rk * rt, ConstantFP::get(vecTy, 0.0));
    Value *vT = k.ptr(vX, t0);
    std::vector<Value *> acc = forLoopMulti(
        b, k.i64(0), k.i64(C), init,
        [&](Value *c, ArrayRef<Value *> a) {
          std::vector<Value *> r(a.begin(), a.end());
          Value *vc = k.ptr(vT, k.mul(c, pitch));
          Value *uc = k.ptr(uBlk, k.mul(c, rk));
          auto xload = [&](int64_t j) {
            return b.CreateAlignedLoad(vecTy, k.ptr(vc, k.i64(j * VL)), Align(4));
          };
          auto wload = [&](int64_t kk) {
            Value *s = b.CreateAlignedLoad(f32, k.ptr(uc, k.i64(kk)), Align(4));
            return b.CreateVectorSplat(VL, s);
          };
          emitOuterProductFma(b, fmuladd, rk, rt, xload, wload, r);
          return r;
        },
        /*knownNonEmpty=*/true);
    for (int64_t kk = 0; kk < rk; ++kk)
      for (int64_t j = 0; j < rt; ++j)
        vstore(acc[kk * rt + j], mX, k.add(k.mul(k.add(k0, kk), mPitch), k.add(t0, j * VL)));
  };
  // One transform element's GEMM over `ntv` tile vectors: for each group of
  // RT tile vectors (C x RT vectors of V, kept in L1) every channel block in
  // turn (C x RK of U each).
  const int64_t kFull = K / RK, kRem = K % RK;
  // (V's rows `pitch` floats apart, M's `mPitch`.)
  auto gemm = [&](Value *vX, Value *uX, Value *mX, int64_t ntv, int64_t pitch,
                  int64_t mPitch) {
    auto tileGroup = [&](Value *t0, int64_t rt) {
      if (kFull > 0)
        forLoop(b, 0, kFull, [&](Value *kb) {
          Value *k0 = k.mul(kb, RK);
          tile(vX, k.ptr(uX, k.mul(k0, C)), mX, k0, RK, t0, rt, pitch, mPitch);
        });
      if (kRem)
        tile(vX, k.ptr(uX, k.i64(kFull * RK * C)), mX, k.i64(kFull * RK), kRem, t0, rt,
             pitch, mPitch);
    };
    int64_t full = ntv / RT, rem = ntv % RT;
    if (full > 0)
      forLoop(b, 0, full, [&](Value *gi) { tileGroup(k.mul(gi, RT * VL), RT); });
    if (rem)
      tileGroup(k.i64(full * RT * VL), rem);
  };

  // --- 3. output transform of one vector group of output channel plane
  // `outPlane` (flat index of its first element): `mBase` at the group's
  // first tile of element 0, element xi xiPitch floats on; tile row tr,
  // tiles [tg*VL, tg*VL+VL), `rows` valid output rows; lastGroup marks the
  // row's last group (static column masks). Bias, epilogue, store.
  // With a fused pooling the conv output goes to the end of the scratch
  // and is pooled afterwards (ConvPool.cpp).
  // The result goes to dstPlane's rows from dstRow0 on (the plane in the
  // conv output, from row 0, or an item's buffer).
  // With rpv > 1 (see transformGroup) the group holds tile rows tr ..
  // tr + rpv - 1, each m*TW = m*VL/rpv columns: output vector mv belongs to
  // tile row tr + mv / (m / rpv) (whole rows, no masks: planWinograd).
  auto outputGroup = [&](Value *mBase, int64_t xiPitch, Value *outPlane, Value *bias,
                         ArrayRef<Value *> opPtrs, Value *dstPlane, Value *dstRow0, Value *tr,
                         Value *tg, int64_t rows, bool lastGroup, int64_t rpv = 1) {
    Value *mm[8][8];
    for (int i = 0; i < a; ++i)
      for (int j = 0; j < a; ++j)
        mm[i][j] = vload(mBase, k.i64((i * a + j) * xiPitch));
    Value *s[4][8];
    leftMul(W.AT, m, mm, s);
    SmallVector<int, 64> cat2;
    for (int64_t e = 0; e < 2 * VL; ++e)
      cat2.push_back(int(e));
    for (int64_t i = 0; i < rows; ++i) {
      Value *y[4];
      for (int j = 0; j < m; ++j)
        y[j] = b.CreateFAdd(lin(W.AT[j], ArrayRef<Value *>(s[i], a)), bias);
      // Interleave: output vector mv, lane e is column
      // m*tg*VL + mv*VL + e = tile (mv*VL+e)/m, column (mv*VL+e)%m,
      // lane (f%m)*VL + f/m of the m vectors y side by side (as two
      // halves: 2 + 2 vectors for m = 4, 1 + 1 for m = 2).
      Value *yLo = m == 4 ? b.CreateShuffleVector(y[0], y[1], cat2) : y[0];
      Value *yHi = m == 4 ? b.CreateShuffleVector(y[2], y[3], cat2) : y[1];
      for (int64_t mv = 0; mv < m; ++mv) {
        const int64_t perRow = m / rpv;      // output vectors per tile row
        const int64_t q = mv / perRow;       // tile row tr + q
        Value *row = k.add(k.mul(tr, m), k.i64(q * m + i));
        Value *rowIdx = k.add(outPlane, k.mul(row, g.OW));
        Value *dstRow = k.ptr(dstPlane, k.mul(b.CreateSub(row, dstRow0), g.OW));
        // Columns of this vector: from colBase + (mv % perRow) * VL on.
        Value *colBase = k.add(k.mul(tg, m * VL), k.i64((mv % perRow - mv) * VL));
        int64_t valid = VL;
        if (lastGroup) {
          valid = g.OW - (m * (P.NG - 1) * VL + (mv % perRow) * VL);
          if (valid <= 0)
            break;
          valid = std::min<int64_t>(valid, VL);
        }
        SmallVector<int, 16> sh;
        for (int64_t e = 0; e < VL; ++e) {
          int64_t f = mv * VL + e;
          sh.push_back(int((f % m) * VL + f / m));
        }
        Value *v = b.CreateShuffleVector(yLo, yHi, sh);
        Constant *mask = laneMask(ctx, VL, 0, valid);
        Value *idx = k.add(rowIdx, k.add(colBase, mv * VL));
        if (!n.epilogue.empty())
          v = emitEpilogue(k, v, opPtrs, idx, mask);
        Value *ptr = k.ptr(dstRow, k.add(colBase, mv * VL));
        if (mask)
          b.CreateMaskedStore(v, ptr, Align(4), mask);
        else
          b.CreateAlignedStore(v, ptr, Align(4));
      }
    }
  };
  // A tile row's groups, the last one with its column masks.
  auto forGroups = [&](function_ref<void(Value *, bool)> body) {
    if (P.NG > 1)
      forLoop(b, 0, P.NG - 1, [&](Value *tg) { body(tg, false); });
    body(k.i64(P.NG - 1), true);
  };
  auto biasOf = [&](Value *kIdx) -> Value * {
    if (!biasG)
      return ConstantFP::get(vecTy, 0.0);
    return b.CreateVectorSplat(VL, b.CreateAlignedLoad(f32, k.ptr(biasG, kIdx), Align(4)));
  };
  // Where the conv output goes: k.out, or with a fused pooling the end of
  // the scratch (pooled afterwards, ConvPool.cpp), or (fused schedule, whole
  // windows per item) each item's buffer, pooled by the item into k.out.
  Value *convOut = n.pooling() && !P.poolInItem ? convOutputInScratch(k) : k.out;
  std::vector<Value *> captures{k.in[0], k.scratch, convOut};
  for (size_t i = 1; i < n.operands.size(); ++i)
    captures.push_back(k.in[i]);
  // The residual operands among the captures (index 0 unused).
  auto operandPtrs = [&](ArrayRef<Value *> caps) {
    std::vector<Value *> ptrs(n.operands.size(), nullptr);
    for (size_t i = 1; i < n.operands.size(); ++i)
      ptrs[i] = caps[2 + i];
    return ptrs;
  };

  if (P.fused) {
    // One item per (image, block of TR tile rows), its P, V and M in
    // buffers of the worker (the outlined function's entry block).
    // With tails (TR > 1, no pooling in the items, one tile row per
    // transform vector) the parallel loop runs over single tile rows and a
    // chunk takes TR rows at a time, the rows left at its end or at an
    // image's end one at a time: the threads' ranges (a static partition,
    // runtime/src/threadpool.c) need not be whole items (64 -> 64 @56, 7
    // items of 2 rows, split 4 : 3 on 2 threads; with tails 3 items and a
    // row each). Each tile's arithmetic is the same in either item size, so
    // results do not depend on the cut.
    const int64_t NB = P.TH / P.TR;
    // One item of plan Q: Q.TR tile rows from tr0 of image nIdx (itemIdx,
    // its index in the image, for an in-item pooling), in buffers pl, vl,
    // ml (and ob) sized for P.
    auto emitItem = [&](const WinogradPlan &Q, ArrayRef<Value *> caps, Value *pl, Value *vl,
                        Value *ml, Value *ob, Value *nIdx, Value *tr0, Value *itemIdx) {
      const int64_t TR = Q.TR, PR = Q.plRows();
      // A channel's tiles in V and M (dense: tile row t from t*TW on).
      const int64_t vPitch = Q.vlPitch(), mPitch = Q.mlPitch(), NFV = Q.fusedVectors();
      const int64_t rpv = Q.rpv; // tile rows per transform vector
      // V lanes the GEMMs read but no transform writes (the last tile row's
      // vector ends before the GEMMs' last one): zeroed per channel.
      const int64_t vTail = NFV * VL - Q.fusedWritten();
      // The output transform's overhang past M's last channel reads zeros.
      vstore(ConstantFP::get(vecTy, 0.0), ml, k.i64(E * K * mPitch));
      // Copy padded rows tr0*m .. tr0*m + PR - 1 of every channel,
      // phase-split, then transform them.
      forLoop(b, 0, C, [&](Value *c) {
        Value *src = k.ptr(caps[0], k.mul(k.add(k.mul(nIdx, C), c), g.H * g.W));
        Value *pc = k.ptr(pl, k.mul(c, PR * rowPitch));
        forLoop(b, 0, PR, [&](Value *r) {
          Value *ih = k.add(k.add(k.mul(tr0, m), r), -g.PH);
          Value *drow = k.ptr(pc, k.mul(r, rowPitch));
          Value *inside = b.CreateAnd(b.CreateICmpSGE(ih, k.i64(0)),
                                      b.CreateICmpSLT(ih, k.i64(g.H)));
          ifElse(
              b, inside, [&] { copyRow(k.ptr(src, k.mul(ih, g.W)), drow); },
              [&] { b.CreateMemSet(drow, b.getInt8(0), rowPitch * 4, MaybeAlign(4)); });
        });
        // Ascending tile rows (rpv per vector): each overwrites the
        // previous one's overhang.
        forLoop(b, 0, TR / rpv, [&](Value *tv) {
          Value *t = k.mul(tv, rpv);
          forGroups([&](Value *tg, bool) {
            transformGroup(k.ptr(pc, k.add(k.mul(t, m * rowPitch), k.mul(tg, VL))),
                           k.ptr(vl, k.add(k.add(k.mul(c, vPitch), k.mul(t, P.TW)),
                                           k.mul(tg, VL))),
                           C * vPitch, rpv);
          });
        });
        if (vTail > 0)
          for (int64_t xi = 0; xi < E; ++xi)
            b.CreateMaskedStore(ConstantFP::get(vecTy, 0.0),
                                k.ptr(vl, k.add(k.mul(c, vPitch),
                                                k.i64(xi * C * vPitch + NFV * VL - VL))),
                                Align(4), laneMask(ctx, VL, VL - vTail, VL));
      });
      forLoop(b, 0, E, [&](Value *xi) {
        gemm(k.ptr(vl, k.mul(xi, C * vPitch)), k.ptr(uPacked, k.mul(xi, K * C)),
             k.ptr(ml, k.mul(xi, K * mPitch)), NFV, vPitch, mPitch);
      });
      std::vector<Value *> ops = operandPtrs(caps);
      const int64_t lastRows = g.OH - m * (P.TH - 1); // the last tile row's
      Value *row0 = k.mul(tr0, m);
      forLoop(b, 0, K, [&](Value *kIdx) {
        Value *outPlane = k.mul(k.add(k.mul(nIdx, K), kIdx), g.OH * g.OW);
        Value *dstPlane = ob ? k.ptr(ob, k.mul(kIdx, TR * m * g.OW)) : k.ptr(caps[2], outPlane);
        Value *dstRow0 = ob ? row0 : k.i64(0);
        Value *bias = biasOf(kIdx);
        forLoop(b, 0, TR / rpv, [&](Value *tv) {
          Value *t = k.mul(tv, rpv);
          Value *tr = k.add(tr0, t);
          auto outRow = [&](int64_t nrows) {
            forGroups([&](Value *tg, bool last) {
              outputGroup(k.ptr(ml, k.add(k.add(k.mul(kIdx, mPitch), k.mul(t, P.TW)),
                                          k.mul(tg, VL))),
                          K * mPitch, outPlane, bias, ops, dstPlane, dstRow0, tr, tg, nrows,
                          last, rpv);
            });
          };
          if (lastRows == m)
            outRow(m);
          else
            ifElse(
                b, b.CreateICmpEQ(tr, k.i64(P.TH - 1)), [&] { outRow(lastRows); },
                [&] { outRow(m); });
        });
      });
      if (ob) {
        // Pool the item's whole windows: TR*m/SH pooled rows, fewer in
        // the last item (the conv rows past the last whole window are
        // dropped, floor mode).
        PoolGeom Y = poolGeom(n);
        const int64_t perItem = TR * m / Y.SH, last = Y.OHp - (NB - 1) * perItem;
        PoolBand band{TR * m * g.OW, row0};
        Value *p0 = b.CreateUDiv(row0, k.i64(Y.SH));
        auto poolRows = [&](int64_t rows) {
          if (rows > 0)
            emitPoolRows(k, *n.pooling(), Y, ob, caps[2], k.mul(nIdx, K), K, p0, rows, &band);
        };
        if (last == perItem)
          poolRows(perItem);
        else
          ifElse(
              b, b.CreateICmpEQ(itemIdx, k.i64(NB - 1)),
              [&] { poolRows(last); }, [&] { poolRows(perItem); });
      }
    };
    emitParallelRange(k, N * (tails ? P.TH : NB), captures, P.cost,
                      [&](ArrayRef<Value *> caps, Value *begin, Value *end) {
      Function *f = b.GetInsertBlock()->getParent();
      IRBuilder<> eb(&f->getEntryBlock(), f->getEntryBlock().begin());
      auto buffer = [&](int64_t floats) {
        AllocaInst *buf = eb.CreateAlloca(ArrayType::get(f32, floats));
        buf->setAlignment(Align(64));
        return buf;
      };
      // Sized for TR rows (a tail item's buffers are smaller).
      Value *pl = buffer(P.plFloats()), *vl = buffer(P.vlFloats()), *ml = buffer(P.mlFloats());
      // With the pooling in the item: its conv output rows, [K][TR*m][OW].
      Value *ob = P.poolInItem ? buffer(K * P.TR * m * g.OW) : nullptr;
      if (!tails) {
        forRange(b, begin, end, [&](Value *item) {
          Value *nIdx = b.CreateUDiv(item, k.i64(NB));
          Value *inImage = b.CreateURem(item, k.i64(NB));
          emitItem(P, caps, pl, vl, ml, ob, nIdx, k.mul(inImage, P.TR), inImage);
        });
        return;
      }
      // u = begin; while (u < end): TR rows from u if the chunk and the
      // image hold them, else one.
      BasicBlock *pre = b.GetInsertBlock();
      BasicBlock *head = BasicBlock::Create(ctx, "rows", f);
      BasicBlock *full = BasicBlock::Create(ctx, "rows.full", f);
      BasicBlock *one = BasicBlock::Create(ctx, "rows.one", f);
      BasicBlock *latch = BasicBlock::Create(ctx, "rows.next", f);
      BasicBlock *exit = BasicBlock::Create(ctx, "rows.done", f);
      b.CreateBr(head);
      b.SetInsertPoint(head);
      PHINode *u = b.CreatePHI(b.getInt64Ty(), 2, "u");
      u->addIncoming(begin, pre);
      Value *nIdx = b.CreateUDiv(u, k.i64(P.TH)), *tr0 = b.CreateURem(u, k.i64(P.TH));
      Value *fits = b.CreateAnd(b.CreateICmpSLE(k.add(u, P.TR), end),
                                b.CreateICmpSLE(k.add(tr0, P.TR), k.i64(P.TH)));
      Value *next = b.CreateAdd(u, b.CreateSelect(fits, k.i64(P.TR), k.i64(1)), "u.next");
      b.CreateCondBr(fits, full, one);
      b.SetInsertPoint(full);
      emitItem(P, caps, pl, vl, ml, ob, nIdx, tr0, nullptr);
      b.CreateBr(latch);
      b.SetInsertPoint(one);
      emitItem(P1, caps, pl, vl, ml, ob, nIdx, tr0, nullptr);
      b.CreateBr(latch);
      b.SetInsertPoint(latch);
      u->addIncoming(next, latch);
      b.CreateCondBr(b.CreateICmpSLT(next, end), head, exit);
      b.SetInsertPoint(exit);
    });
    if (n.pooling() && !P.poolInItem)
      emitPoolAfterConv(k, convOut);
    return Error::success();
  }

  // --- 0 + 1: copy and transform, in one parallel loop over planes: each
  // plane's copy is transformed right away, while it is still in L1, and
  // the two phases share one barrier.
  auto transformPlane = [&](Value *scratch, Value *p) {
    Value *nIdx = b.CreateUDiv(p, k.i64(C));
    Value *cIdx = b.CreateURem(p, k.i64(C));
    Value *src = k.ptr(scratch, k.mul(p, plane));
    // V[n][xi][c][t] = vOff + ((n*E + xi)*C + c)*Tp + t
    Value *dst = k.ptr(
        scratch, k.add(k.mul(k.add(k.mul(k.mul(nIdx, E), C), cIdx), Tp), vOff));
    forLoop(b, 0, P.TH, [&](Value *tr) {
      forLoop(b, 0, P.NG, [&](Value *tg) {
        transformGroup(k.ptr(src, k.add(k.mul(tr, m * rowPitch), k.mul(tg, VL))),
                       k.ptr(dst, k.add(k.mul(tr, P.TW), k.mul(tg, VL))), C * Tp);
      });
    });
  };
  emitParallelFor(
      k, N * C, {k.in[0], k.scratch},
      double(N * C) * (plane + P.TH * P.NG * 100),
      [&](ArrayRef<Value *> caps, Value *p) {
        copyPlane(caps[0], caps[1], p);
        transformPlane(caps[1], p);
      });

  // --- 2: the a*a GEMMs, one item per (image, transform element).
  emitParallelFor(k, N * E, {k.scratch}, P.cost * 0.8,
                  [&](ArrayRef<Value *> caps, Value *t) { // t = n*E + xi
                    Value *xi = b.CreateURem(t, k.i64(E));
                    gemm(k.ptr(caps[0], k.add(k.mul(t, C * Tp), vOff)),
                         k.ptr(uPacked, k.mul(xi, K * C)), k.ptr(caps[0], k.mul(t, K * Tp)),
                         P.NTV, Tp, Tp);
                  });

  // --- 3: output transforms, bias, epilogue, parallel over output planes.
  emitParallelFor(
      k, N * K, captures, double(N * K) * P.TH * P.NG * 100,
      [&](ArrayRef<Value *> caps, Value *p) {
        Value *nIdx = b.CreateUDiv(p, k.i64(K));
        Value *kIdx = b.CreateURem(p, k.i64(K));
        // M[n][xi][k][t] = ((n*E + xi)*K + k)*Tp + t
        Value *mK = k.ptr(caps[1], k.mul(k.add(k.mul(k.mul(nIdx, E), K), kIdx), Tp));
        Value *outPlane = k.mul(p, g.OH * g.OW);
        Value *bias = biasOf(kIdx);
        std::vector<Value *> ops = operandPtrs(caps);
        auto tileRow = [&](Value *tr, int64_t rows) {
          forGroups([&](Value *tg, bool last) {
            outputGroup(k.ptr(mK, k.add(k.mul(tr, P.TW), k.mul(tg, VL))), K * Tp, outPlane,
                        bias, ops, k.ptr(caps[2], outPlane), k.i64(0), tr, tg, rows, last);
          });
        };
        if (P.TH > 1)
          forLoop(b, 0, P.TH - 1, [&](Value *tr) { tileRow(tr, m); });
        tileRow(k.i64(P.TH - 1), g.OH - m * (P.TH - 1));
      });
  if (n.pooling())
    emitPoolAfterConv(k, convOut);
  return Error::success();
}

} // namespace cnnc::codegen
