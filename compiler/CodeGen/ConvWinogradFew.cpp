//===- ConvWinogradFew.cpp - Winograd F(4x4,3x3) for few input channels ---===//
//
// First layers (at most kFirstLayerChannels input channels, 3x3, stride 1,
// no padding, output rows a multiple of 4 and columns of 4 * VL) do too
// few multiplies per output for the general Winograd kernel's GEMMs to pay:
// with C = 3 each GEMM accumulator takes 3 FMAs and then a store of M, and
// the seed's conv1 ran as slowly as on the direct kernel (0.080 ms on Zen
// 4). Here one work item is one row of 4 x 4 output tiles of one image,
// VL tiles per vector:
//  1. each input channel's 6 x 6 tiles are loaded as spans of 4 * VL + 2
//     floats per input row and split by stride-4 shuffles, transformed
//     (V = B^T d B) and kept in a stack buffer of C x 36 vectors (L1);
//  2. per output channel, M = U (.) V summed over the channels is formed
//     one column of 6 transform elements at a time and reduced at once by
//     A^T (4 values per column), then Y = (A^T M) A: M never goes to
//     memory;
//  3. bias and the epilogue's activations in registers; with a fused 4 x 4
//     max pooling (the tile itself) the 16 values reduce to one vector of
//     VL pooled outputs, consecutive in the output row; otherwise the 4
//     columns of each tile row are interleaved into 4 output vectors.
// Like every Winograd kernel it runs only on finite inputs
// (lowerWinogradGuarded); U = G g G^T is computed at compile time.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"
#include "CodeGen/WinogradMath.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace llvm;

namespace cnnc::codegen {

namespace {
constexpr int64_t kM = 4, kR = 3, kA = 6, kE = kA * kA;
/// Bytes of A^T M columns one block of output channels keeps (L1).
constexpr int64_t kTBytes = 16 * 1024;

std::vector<int> iota(int64_t n) {
  std::vector<int> v;
  for (int64_t i = 0; i < n; ++i)
    v.push_back(int(i));
  return v;
}

/// The fused 4 x 4 max pooling, if the node ends in one.
bool poolsTile(const ir::Node &n) {
  const ir::EpilogueStep *p = n.pooling();
  return p && p->kind == ir::OpKind::MaxPool2d && p->window[0] == kM && p->window[1] == kM;
}
} // namespace

bool winogradFewEligible(const ir::Node &n, const ConvGeom &g, const VectorTarget &t) {
  if (const char *e = getenv("CNNC_WINOGRAD_FEW"); e && *e == '0') // experiments
    return false;
  if (g.G != 1 || g.C > kFirstLayerChannels || g.KH != kR || g.KW != kR || g.SH != 1 ||
      g.SW != 1 || g.DH != 1 || g.DW != 1 || g.PH != 0 || g.PW != 0 || g.N <= 0 ||
      g.OH <= 0 || g.OH % kM || g.OW <= 0 || g.OW % (kM * t.width))
    return false;
  for (const ir::EpilogueStep &st : n.epilogue) {
    if (ir::isPooling(st.kind)) {
      if (&st != &n.epilogue.back() || !poolsTile(n))
        return false;
    } else if (!ir::isActivation(st.kind)) {
      return false;
    }
  }
  return true;
}

double winogradFewCost(const ConvGeom &g, const VectorTarget &t) {
  // Per tile vector: C input transforms (~36 shuffles and ~130 adds each),
  // per output channel 36 * C FMAs and ~100 transform operations, at two
  // vector operations per cycle (FMAs and adds on different ports).
  double tvs = double(g.N) * (g.OH / kM) * (g.OW / (kM * t.width));
  return tvs * (double(g.K) * (kE * g.C + 100) + g.C * 170) / 2;
}

Error lowerConv2dWinogradFew(Kernel &k, const ConvGeom &g) {
  const ir::Node &n = k.node;
  const int64_t VL = k.vec.width, C = g.C, K = g.K, N = g.N;
  const int64_t TH = g.OH / kM, TV = g.OW / (kM * VL), H = g.H, W = g.W;
  const bool pool = n.pooling() != nullptr;
  const WinogradMatrices &Wm = winogradMatrices(kM, kR);
  if (getenv("CNNC_CONV_DEBUG"))
    errs() << "conv " << n.name << ": winograd F(4x4,3x3) for " << C
           << " input channels, VL " << VL << ", one tile row per item"
           << (pool ? ", 4x4 pooling on the tiles" : "") << " est " << winogradFewCost(g, k.vec)
           << " cycles (direct " << chooseConvTile(g, k.vec).cost << ")\n";

  // Output channels per block: their T (4 x 6 vectors each) stays in L1.
  const int64_t KB = std::max<int64_t>(1, std::min<int64_t>(K, kTBytes / (kM * kA * VL * 4)));
  auto cp = convParams(k, K * C * kR * kR);
  if (!cp)
    return cp.takeError();
  Value *bias = cp->bias;
  // [36][1][C][K]: one block of all K output channels.
  Value *U = k.constant("winofew." + n.param("weight")->key,
                        packWinogradWeights(*cp->weight, K, C, kM, kR, K));

  IRBuilder<> &b = k.b;
  Type *f32 = b.getFloatTy();
  auto *vecTy = FixedVectorType::get(f32, VL);
  TransformEmitter te{b, vecTy, int(kA)};
  const bool umax = pool && reluFeedsMaxPool(k);
  // A pooling alone or after a ReLU commutes with the bias and the ReLU
  // (both monotonic): pool the transform's outputs first.
  const bool poolFirst = pool && (n.epilogue.size() == 1 ||
                                  (n.epilogue.size() == 2 && n.epilogue[0].kind == ir::OpKind::Relu));
  auto vmax = [&](Value *x, Value *y) { return umax ? k.fmaxNonNegative(x, y) : k.fmaxNaN(x, y); };

  emitParallelFor(
      k, N * TH, {k.in[0], k.out}, winogradFewCost(g, k.vec),
      [&](ArrayRef<Value *> caps, Value *item) {
        Value *img = b.CreateUDiv(item, k.i64(TH)), *th = b.CreateURem(item, k.i64(TH));
        Function *fn = b.GetInsertBlock()->getParent();
        IRBuilder<> eb(&fn->getEntryBlock(), fn->getEntryBlock().begin());
        Value *vbuf = eb.CreateAlloca(vecTy, eb.getInt64(C * kE), "winofew.v"); // [C][36]
        Value *wbuf = eb.CreateAlloca(vecTy, eb.getInt64(kA * (kM + 1)), "winofew.w"); // [6][5]
        Value *tbuf = eb.CreateAlloca(vecTy, eb.getInt64(KB * kM * kA), "winofew.t"); // [KB][4][6]
        Value *xImg = k.ptr(caps[0], k.mul(img, C * H * W));
        forLoop(b, 0, TV, [&](Value *tv) {
          // 1. V = B^T d B per input channel, a few values live at a time
          //    (the whole 6 x 6 tile at once spilled): B^T down the 6
          //    input rows on whole chunks of the row spans (4 vectors and
          //    one ending at the span's end), to a stack buffer; then per
          //    transformed row the split into the 6 tile columns (stride-4
          //    shuffles) and B across them. B^T shares sums and
          //    differences of rows (rowsPaired: 14 operations, not 22).
          constexpr int64_t NC = kM + 1;
          auto chunkAt = [&](int64_t q) { return q < kM ? q * VL : kM * VL + kR - 1 - VL; };
          for (int64_t c = 0; c < C; ++c) {
            for (int64_t q = 0; q < NC; ++q) {
              Value *x[kA], *w[kA];
              for (int64_t r = 0; r < kA; ++r) {
                Value *at = k.add(k.mul(k.add(k.mul(th, kM), c * H + r), W),
                                  k.add(k.mul(tv, kM * VL), chunkAt(q)));
                x[r] = b.CreateAlignedLoad(vecTy, k.ptr(xImg, at), Align(4));
              }
              te.rowsPaired(Wm.BT, kA, x, w);
              for (int64_t i = 0; i < kA; ++i)
                b.CreateAlignedStore(w[i], b.CreateConstInBoundsGEP1_64(vecTy, wbuf, i * NC + q),
                                     Align(64));
            }
            for (int64_t i = 0; i < kA; ++i) {
              Value *ch[NC];
              for (int64_t q = 0; q < NC; ++q)
                ch[q] = b.CreateAlignedLoad(
                    vecTy, b.CreateConstInBoundsGEP1_64(vecTy, wbuf, i * NC + q), Align(64));
              Value *c01 = b.CreateShuffleVector(ch[0], ch[1], iota(2 * VL));
              Value *c23 = b.CreateShuffleVector(ch[2], ch[3], iota(2 * VL));
              Value *c03 = b.CreateShuffleVector(c01, c23, iota(4 * VL));
              std::vector<int> widen = iota(VL);
              widen.resize(4 * VL, -1);
              Value *c4 = b.CreateShuffleVector(ch[4], PoisonValue::get(vecTy), widen);
              Value *row = b.CreateShuffleVector(c03, c4, iota(8 * VL)); // 4 chunks, the last
              Value *dcol[kA], *v[kA];
              for (int64_t j = 0; j < kA; ++j) {
                std::vector<int> m;
                for (int64_t l = 0; l < VL; ++l) {
                  int64_t col = kM * l + j;
                  m.push_back(int(col < kM * VL ? col : kM * VL + col - chunkAt(kM)));
                }
                dcol[j] = b.CreateShuffleVector(row, m);
              }
              // B across the columns unpaired: pairing trades FMAs for adds,
              // which share their pipes with the shuffles (1.1x slower on Zen 4).
              for (int64_t j = 0; j < kA; ++j)
                v[j] = te.lin(Wm.BT[j], ArrayRef<Value *>(dcol, kA));
              for (int64_t j = 0; j < kA; ++j) {
                b.CreateAlignedStore(
                    v[j], b.CreateConstInBoundsGEP1_64(vecTy, vbuf, c * kE + i * kA + j), Align(64));
              }
            }
          }
          // 2. per block of output channels and per column of 6 transform
          //    elements: the column's C x 6 V vectors stay in registers
          //    while each channel's M column (C FMAs per element, the
          //    weight a broadcast operand) is formed and reduced by A^T to
          //    4 values, stored to T (L1). One V load per FMA besides the
          //    broadcast would halve the FMA rate where a vector load and
          //    a broadcast share the load pipes (Zen 4).
          auto tAt = [&](Value *kl, int64_t i, int64_t bc) { // T[kl][i][bc]
            return b.CreateInBoundsGEP(vecTy, tbuf, k.add(k.mul(kl, kM * kA), i * kA + bc));
          };
          auto block = [&](Value *k0, int64_t cnt) {
            for (int64_t bc = 0; bc < kA; ++bc) {
              Value *Vc[kFirstLayerChannels][kA] = {};
              for (int64_t c = 0; c < C; ++c)
                for (int64_t a = 0; a < kA; ++a)
                  Vc[c][a] = b.CreateAlignedLoad(
                      vecTy, b.CreateConstInBoundsGEP1_64(vecTy, vbuf, c * kE + a * kA + bc),
                      Align(64));
              forLoop(b, 0, cnt, [&](Value *kl) {
                Value *kk = k.add(k0, kl);
                Value *Mc[8] = {};
                for (int64_t a = 0; a < kA; ++a) {
                  const int64_t e = a * kA + bc;
                  Value *acc = nullptr;
                  for (int64_t c = 0; c < C; ++c) {
                    Value *uw =
                        b.CreateAlignedLoad(f32, k.ptr(U, k.add(kk, (e * C + c) * K)), Align(4));
                    Value *us = b.CreateVectorSplat(VL, uw);
                    acc = acc ? k.fmuladd(us, Vc[c][a], acc) : b.CreateFMul(us, Vc[c][a]);
                  }
                  Mc[a] = acc;
                }
                Value *col[4];
                te.rowsPaired(Wm.AT, kM, Mc, col);
                for (int64_t i = 0; i < kM; ++i)
                  b.CreateAlignedStore(col[i], tAt(kl, i, bc), Align(64));
              });
            }
            // 3. per channel of the block: Y = T A, then the epilogue.
            forLoop(b, 0, cnt, [&](Value *kl) {
              Value *kk = k.add(k0, kl);
              Value *T[4][kA];
              for (int64_t i = 0; i < kM; ++i)
                for (int64_t bc = 0; bc < kA; ++bc)
                  T[i][bc] = b.CreateAlignedLoad(vecTy, tAt(kl, i, bc), Align(64));
              Value *bv = bias ? b.CreateVectorSplat(
                                     VL, b.CreateAlignedLoad(f32, k.ptr(bias, kk), Align(4)))
                               : ConstantFP::get(vecTy, 0.0);
              Value *Y[4][4];
              for (int64_t i = 0; i < kM; ++i)
                te.rowsPaired(Wm.AT, kM, T[i], Y[i]);
              Value *plane = k.add(k.mul(img, K), kk);
              if (pool && poolFirst) {
                // max(relu(y + b)) = relu(max(y) + b): maxps over the tile
                // (inputs are finite here, so a NaN can only come from an
                // overflow), then the bias and the ReLU once.
                Value *p = nullptr;
                for (int64_t i = 0; i < kM; ++i)
                  for (int64_t j = 0; j < kM; ++j)
                    p = p ? k.fmaxNoNaN(p, Y[i][j]) : Y[i][j];
                p = emitEpilogue(k, b.CreateFAdd(p, bv), {}, k.i64(0));
                Value *at = k.add(k.mul(k.add(k.mul(plane, TH), th), g.OW / kM), k.mul(tv, VL));
                b.CreateAlignedStore(p, k.ptr(caps[1], at), Align(4));
                return;
              }
              for (int64_t i = 0; i < kM; ++i)
                for (int64_t j = 0; j < kM; ++j)
                  Y[i][j] = emitEpilogue(k, b.CreateFAdd(Y[i][j], bv), {}, k.i64(0));
              if (pool) {
                Value *p = nullptr;
                for (int64_t i = 0; i < kM; ++i)
                  for (int64_t j = 0; j < kM; ++j)
                    p = p ? vmax(p, Y[i][j]) : Y[i][j];
                Value *at = k.add(k.mul(k.add(k.mul(plane, TH), th), g.OW / kM), k.mul(tv, VL));
                b.CreateAlignedStore(p, k.ptr(caps[1], at), Align(4));
                return;
              }
              for (int64_t i = 0; i < kM; ++i) {
                // Lane l of output vector q is column q*VL + l: tile (q*VL + l) / 4, column j.
                Value *cat01 = b.CreateShuffleVector(Y[i][0], Y[i][1], iota(2 * VL));
                Value *cat23 = b.CreateShuffleVector(Y[i][2], Y[i][3], iota(2 * VL));
                Value *all = b.CreateShuffleVector(cat01, cat23, iota(4 * VL));
                Value *row = k.add(k.mul(k.add(k.mul(plane, g.OH), k.add(k.mul(th, kM), i)), g.OW),
                                   k.mul(tv, kM * VL));
                for (int64_t q = 0; q < kM; ++q) {
                  std::vector<int> m;
                  for (int64_t l = 0; l < VL; ++l) {
                    int64_t col = q * VL + l;
                    m.push_back(int((col % kM) * VL + col / kM));
                  }
                  b.CreateAlignedStore(b.CreateShuffleVector(all, m),
                                       k.ptr(caps[1], k.add(row, q * VL)), Align(4));
                }
              }
            });
          };
          forLoop(b, 0, K / KB, [&](Value *kb) { block(k.mul(kb, KB), KB); });
          if (K % KB)
            block(k.i64(K - K % KB), K % KB);
        });
      });
  return Error::success();
}

} // namespace cnnc::codegen
