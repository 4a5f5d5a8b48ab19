//===- ConvWinogradBlocked.cpp - Winograd on channel-blocked activations ---===//
//
// The same F(m x m, r x r) as ConvWinograd.cpp (WinogradMath.h), for a conv
// whose output block-channels stores as nChw<VL>c: every vector holds VL
// channels of one pixel, so the transforms work on one tile at a time with
// all lanes used whatever the image's width, and nothing is transposed or
// phase-split. Three parallel loops over scratch:
//  0. the input, zero-padded per (image, channel block) plane to
//     Hp x Wp = (TH*m + r - 1) x (TW*m + r - 1) pixels of VL channels
//     (rows copied from a blocked input; from an NCHW one, each pixel's VL
//     channels gathered: the first conv of a blocked chain);
//  1. V = B^T d B per (tile, channel block), stored [image][a*a][tile][C];
//  2. per (image, transform element, block of RK output-channel vectors)
//     the GEMM M (T x K) = V (T x C) * U (C x K) with register tiles of RK
//     channel vectors x RT tiles, a tile's V element broadcast (U packed at
//     compile time as [a*a][K/(RK*VL)][C][RK*VL]), M stored [image][a*a]
//     [tile][K];
//  3. Y = A^T M A per (tile, output channel vector), plus bias and the
//     fused epilogue, stored for the tile's pixels inside the output.
// Every output is computed by one item with a fixed reduction order, so
// results do not depend on the thread count. Inputs with NaNs or
// infinities take the reference convolution (lowerConv2d), as for the NCHW
// kernel.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"
#include "CodeGen/WinogradMath.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>

using namespace llvm;

namespace cnnc::codegen {

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Fewest tiles per image for which block-channels gives a Winograd conv
/// this kernel. Measured on Zen 3 (AVX2), chains of three convs between a
/// NCHW input and a global pooling, one process alternating
/// CNNC_WINOGRAD_BLOCKED=0 and 1: 64 -> 64 at 56x56 (196 tiles) 0.85x the
/// NCHW kernel's time at 1 thread, 0.92x at 2; 128 at 28x28 (49 tiles)
/// 0.61x / 0.62x; 256 at 14x14 (16 tiles) 1.10x / 0.97x, 1.15-1.27x at 1
/// thread with every GEMM tile tried (2x6, 3x4, 4x3, 6x2, 1x12).
constexpr int64_t kMinTiles = 32;

struct Plan {
  int64_t VL, m, r, a, E;   ///< lanes; F(m x m, r x r), a = m + r - 1, E = a*a
  int64_t TH, TW, T;        ///< tile rows, tile columns, tiles per image
  int64_t Hp, Wp;           ///< padded input rows and columns
  int64_t CB, KV;           ///< input channel blocks, output channel vectors
  int64_t RK, RT, KB;       ///< GEMM tile: channel vectors x tiles; blocks of RK
  int64_t xFloats, vFloats, mFloats;
  int64_t vOff() const { return (xFloats + 15) / 16 * 16; }
  int64_t mOff() const { return vOff() + (vFloats + 15) / 16 * 16; }
};

bool geomOf(const ir::Node &n, ConvGeom &g) {
  if (!unfoldedConvGeom(n, g) || g.G != 1 || !winogradEligible(g) || n.pooling())
    return false;
  for (const ir::EpilogueStep &st : n.epilogue)
    if (st.kind != ir::OpKind::Add && !ir::isActivation(st.kind))
      return false;
  return true;
}

Plan planOf(const ConvGeom &g, const VectorTarget &t) {
  Plan p;
  p.VL = t.width;
  p.m = bestWinograd(g, t).m;
  p.r = g.KH;
  p.a = p.m + p.r - 1;
  p.E = p.a * p.a;
  p.TH = ceilDiv(g.OH, p.m);
  p.TW = ceilDiv(g.OW, p.m);
  p.T = p.TH * p.TW;
  p.Hp = p.TH * p.m + p.r - 1;
  p.Wp = p.TW * p.m + p.r - 1;
  p.CB = g.C / p.VL;
  p.KV = g.K / p.VL;
  // rk * rt accumulators, rk weight vectors and one broadcast.
  p.RK = std::min<int64_t>(t.numRegs > 16 ? 4 : 2, p.KV);
  p.RT = std::min<int64_t>(6, p.T);
  // Experiments: CNNC_WINOGRAD_BLOCKED_TILE=RK,RT forces the GEMM tile.
  if (int64_t rk, rt; envTile2("CNNC_WINOGRAD_BLOCKED_TILE", rk, rt)) {
    p.RK = std::min(rk, p.KV);
    p.RT = std::min(rt, p.T);
  }
  p.KB = ceilDiv(p.KV, p.RK);
  p.xFloats = g.N * g.C * p.Hp * p.Wp;
  p.vFloats = g.N * p.E * p.T * g.C;
  p.mFloats = g.N * p.E * p.T * g.K;
  return p;
}

} // namespace

bool winogradBlockedEnabled() {
  const char *e = getenv("CNNC_WINOGRAD_BLOCKED");
  return !(e && *e == '0');
}

bool winogradBlockedEligible(const ir::Node &n, const VectorTarget &t) {
  ConvGeom g;
  return geomOf(n, g) && g.C % t.width == 0 && g.K % t.width == 0;
}

bool winogradBlockedPreferred(const ir::Node &n, const VectorTarget &t) {
  ConvGeom g;
  if (!winogradBlockedEnabled() || !winogradBlockedEligible(n, t) || !geomOf(n, g))
    return false;
  const char *e = getenv("CNNC_WINOGRAD_BLOCKED");
  return planOf(g, t).T >= kMinTiles || (e && *e == '1');
}

int64_t winogradBlockedScratchBytes(const ir::Node &n, const VectorTarget &t) {
  ConvGeom g;
  if (!geomOf(n, g))
    return 0;
  Plan p = planOf(g, t);
  return (p.mOff() + p.mFloats) * 4;
}

Error lowerConv2dWinogradBlocked(Kernel &k) {
  const ir::Node &n = k.node;
  ConvGeom g;
  if (!geomOf(n, g) || !winogradBlockedEligible(n, k.vec) ||
      n.channelBlock != int64_t(k.vec.width) ||
      (n.operands[0]->channelBlock && n.operands[0]->channelBlock != n.channelBlock))
    return k.error("internal error: geometry or layout unfit for blocked Winograd");
  if (!k.scratch)
    return k.error("internal error: blocked Winograd without scratch");
  const Plan P = planOf(g, k.vec);
  const int64_t VL = P.VL, m = P.m, a = P.a, E = P.E, R = P.r, T = P.T;
  const int64_t C = g.C, K = g.K, N = g.N, RK = P.RK, RT = P.RT;
  const bool inBlocked = n.operands[0]->channelBlock != 0;
  const WinogradMatrices &W = winogradMatrices(m, R);
  if (getenv("CNNC_CONV_DEBUG"))
    errs() << "conv " << n.name << ": winograd F(" << m << "x" << m << "," << R << "x" << R
           << ") channel-blocked VL " << VL << " tiles " << P.TH << "x" << P.TW << " RK "
           << RK << " RT " << RT << (inBlocked ? ", blocked input" : ", NCHW input")
           << "\n";

  auto wtOr = k.tensor("weight");
  if (!wtOr)
    return wtOr.takeError();
  if (!*wtOr)
    return k.error("missing weight param");
  if ((int64_t)(*wtOr)->data.size() != K * C * R * R)
    return k.error("weight has the wrong size");
  Value *uPacked = k.constant("winoblk.pack." + n.param("weight")->key,
                              packWinogradWeights((*wtOr)->data, K, C, m, R, RK * VL));
  auto bOr = k.param("bias");
  if (!bOr)
    return bOr.takeError();
  Value *biasG = *bOr;

  IRBuilder<> &b = k.b;
  Type *f32 = b.getFloatTy();
  auto *vecTy = FixedVectorType::get(f32, VL);
  auto vload = [&](Value *base, Value *idx) { return k.vload(vecTy, base, idx); };
  auto vstore = [&](Value *v, Value *base, Value *idx) { k.store(v, base, idx); };
  TransformEmitter te{b, vecTy, int(a)};
  const int64_t plane = P.Hp * P.Wp * VL; // floats per padded block plane

  // --- 0. padded input, [N][CB][Hp][Wp][VL] -------------------------------
  emitParallelFor(
      k, N * P.CB, {k.in[0], k.scratch}, double(N * C * P.Hp * P.Wp) * 0.5,
      [&](ArrayRef<Value *> caps, Value *pl) {
        Value *dst = k.ptr(caps[1], k.mul(pl, plane));
        auto zero = [&](Value *base, int64_t from, int64_t to) { // in pixels
          if (from < to)
            b.CreateMemSet(k.ptr(base, k.i64(from * VL)), b.getInt8(0), (to - from) * VL * 4,
                           MaybeAlign(4));
        };
        zero(dst, 0, g.PH * P.Wp);
        zero(dst, (g.PH + g.H) * P.Wp, P.Hp * P.Wp);
        forLoop(b, 0, g.H, [&](Value *ih) {
          Value *drow = k.ptr(dst, k.mul(k.add(ih, g.PH), P.Wp * VL));
          zero(drow, 0, g.PW);
          zero(drow, g.PW + g.W, P.Wp);
          Value *d0 = k.ptr(drow, k.i64(g.PW * VL));
          if (inBlocked) {
            Value *src = k.ptr(caps[0], k.add(k.mul(pl, g.H * g.W * VL), k.mul(ih, g.W * VL)));
            b.CreateMemCpy(d0, MaybeAlign(4), src, MaybeAlign(4), g.W * VL * 4);
            return;
          }
          // NCHW: pixel iw's VL channels from VL planes of image n.
          Value *cb = b.CreateURem(pl, k.i64(P.CB)), *ni = b.CreateUDiv(pl, k.i64(P.CB));
          Value *src = k.ptr(caps[0], k.add(k.mul(k.add(k.mul(ni, C), k.mul(cb, VL)), g.H * g.W),
                                            k.mul(ih, g.W)));
          forLoop(b, 0, g.W, [&](Value *iw) {
            Value *v = PoisonValue::get(vecTy);
            for (int64_t l = 0; l < VL; ++l)
              v = b.CreateInsertElement(v, k.load(src, k.add(iw, l * g.H * g.W)), l);
            vstore(v, d0, k.mul(iw, VL));
          });
        });
      });

  // --- 1. input transform, V [N][E][T][C] --------------------------------
  emitParallelFor(
      k, N * P.CB * P.TH, {k.scratch}, double(N * P.CB * T) * E * 8,
      [&](ArrayRef<Value *> caps, Value *item) {
        Value *th = b.CreateURem(item, k.i64(P.TH));
        Value *t = b.CreateUDiv(item, k.i64(P.TH));
        Value *cb = b.CreateURem(t, k.i64(P.CB)), *ni = b.CreateUDiv(t, k.i64(P.CB));
        Value *src = k.ptr(caps[0], k.add(k.mul(t, plane), k.mul(th, m * P.Wp * VL)));
        Value *vImg = k.ptr(caps[0], k.add(k.i64(P.vOff()), k.mul(ni, E * T * C)));
        forLoop(b, 0, P.TW, [&](Value *tw) {
          Value *base = k.ptr(src, k.mul(tw, m * VL));
          Value *d[8][8], *s[8][8];
          for (int i = 0; i < a; ++i)
            for (int j = 0; j < a; ++j)
              d[i][j] = vload(base, k.i64((i * P.Wp + j) * VL));
          te.leftMul(W.BT, int(a), d, s);
          Value *dst = k.ptr(vImg, k.add(k.mul(k.add(k.mul(th, P.TW), tw), C), k.mul(cb, VL)));
          for (int i = 0; i < a; ++i)
            for (int j = 0; j < a; ++j)
              vstore(te.lin(W.BT[j], ArrayRef<Value *>(s[i], a)), dst,
                     k.i64((i * a + j) * T * C));
        });
      });

  // --- 2. GEMMs, M [N][E][T][K] ---------------------------------------------
  Function *fmuladd = Intrinsic::getDeclaration(&k.m, Intrinsic::fmuladd, {vecTy});
  const int64_t kLast = P.KV - (P.KB - 1) * RK; // vectors of the last block
  emitParallelFor(
      k, N * E * P.KB, {k.scratch}, double(N * E) * T * C * P.KV / 2.0,
      [&](ArrayRef<Value *> caps, Value *item) {
        Value *kb = b.CreateURem(item, k.i64(P.KB));
        Value *t = b.CreateUDiv(item, k.i64(P.KB)); // image * E + element
        Value *e = b.CreateURem(t, k.i64(E));
        Value *vX = k.ptr(caps[0], k.add(k.i64(P.vOff()), k.mul(t, T * C)));
        Value *mX = k.ptr(caps[0], k.add(k.i64(P.mOff()), k.mul(t, T * K)));
        Value *uBlk = k.ptr(uPacked, k.add(k.mul(e, K * C), k.mul(kb, RK * VL * C)));
        auto tile = [&](int64_t rk, Value *t0, int64_t rt) {
          std::vector<Value *> init(rk * rt, ConstantFP::get(vecTy, 0.0));
          std::vector<Value *> acc = forLoopMulti(
              b, k.i64(0), k.i64(C), init,
              [&](Value *c, ArrayRef<Value *> av) {
                std::vector<Value *> r(av.begin(), av.end());
                Value *vc = k.ptr(vX, k.add(k.mul(t0, C), c));
                Value *uc = k.ptr(uBlk, k.mul(c, rk * VL));
                auto xload = [&](int64_t j) {
                  return b.CreateVectorSplat(VL, k.load(vc, k.i64(j * C)));
                };
                auto wload = [&](int64_t kk) { return vload(uc, k.i64(kk * VL)); };
                emitOuterProductFma(b, fmuladd, rk, rt, xload, wload, r);
                return r;
              },
              /*knownNonEmpty=*/true);
          Value *m0 = k.ptr(mX, k.add(k.mul(t0, K), k.mul(kb, RK * VL)));
          for (int64_t kk = 0; kk < rk; ++kk)
            for (int64_t j = 0; j < rt; ++j)
              vstore(acc[kk * rt + j], m0, k.i64(j * K + kk * VL));
        };
        auto tiles = [&](int64_t rk) {
          if (T / RT > 0)
            forLoop(b, 0, T / RT, [&](Value *gi) { tile(rk, k.mul(gi, RT), RT); });
          if (T % RT)
            tile(rk, k.i64(T / RT * RT), T % RT);
        };
        if (kLast == RK) {
          tiles(RK);
          return;
        }
        ifElse(b, b.CreateICmpULT(kb, k.i64(P.KB - 1)), [&] { tiles(RK); },
               [&] { tiles(kLast); });
      });

  // --- 3. output transform, bias, epilogue, store --------------------------
  std::vector<Value *> captures{k.scratch, k.out};
  for (size_t i = 1; i < n.operands.size(); ++i)
    captures.push_back(k.in[i]);
  emitParallelFor(
      k, N * P.KV * P.TH, captures, double(N * P.KV * T) * E * 6,
      [&](ArrayRef<Value *> caps, Value *item) {
        std::vector<Value *> opPtrs(n.operands.size(), nullptr);
        for (size_t i = 1; i < n.operands.size(); ++i)
          opPtrs[i] = caps[1 + i];
        Value *th = b.CreateURem(item, k.i64(P.TH));
        Value *t = b.CreateUDiv(item, k.i64(P.TH)); // image * KV + vector
        Value *kv = b.CreateURem(t, k.i64(P.KV)), *ni = b.CreateUDiv(t, k.i64(P.KV));
        Value *mX = k.ptr(caps[0], k.add(k.add(k.i64(P.mOff()), k.mul(ni, E * T * K)),
                                         k.mul(kv, VL)));
        Value *bias = biasG ? (Value *)vload(biasG, k.mul(kv, VL)) : ConstantFP::get(vecTy, 0.0);
        Value *outPlane = k.mul(t, g.OH * g.OW * VL);
        auto outTile = [&](Value *tw, int64_t rows, int64_t cols) {
          Value *mt = k.ptr(mX, k.mul(k.add(k.mul(th, P.TW), tw), K));
          Value *mm[8][8], *s[8][8];
          for (int i = 0; i < a; ++i)
            for (int j = 0; j < a; ++j)
              mm[i][j] = vload(mt, k.i64((i * a + j) * T * K));
          te.leftMul(W.AT, int(m), mm, s);
          for (int64_t i = 0; i < rows; ++i) {
            Value *row = k.add(k.mul(th, m), i);
            for (int64_t j = 0; j < cols; ++j) {
              Value *y = b.CreateFAdd(te.lin(W.AT[j], ArrayRef<Value *>(s[i], a)), bias);
              Value *idx = k.add(outPlane,
                                 k.mul(k.add(k.mul(row, g.OW), k.add(k.mul(tw, m), j)), VL));
              if (!n.epilogue.empty())
                y = emitEpilogue(k, y, opPtrs, idx);
              vstore(y, caps[1], idx);
            }
          }
        };
        // Tiles whose m columns are all inside the output, then the last
        // column's partial one; the last tile row may have fewer rows.
        auto tileRow = [&](int64_t rows) {
          if (g.OW / m > 0)
            forLoop(b, 0, g.OW / m, [&](Value *tw) { outTile(tw, rows, m); });
          if (g.OW % m)
            outTile(k.i64(g.OW / m), rows, g.OW % m);
        };
        if (g.OH % m == 0) {
          tileRow(m);
          return;
        }
        ifElse(b, b.CreateICmpULT(th, k.i64(P.TH - 1)), [&] { tileRow(m); },
               [&] { tileRow(g.OH % m); });
      });
  return Error::success();
}

} // namespace cnnc::codegen
