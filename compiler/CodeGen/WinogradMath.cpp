//===- WinogradMath.cpp - Winograd matrices, weight transform, emission ---===//
#include "CodeGen/WinogradMath.h"

#include "llvm/IR/Constants.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

using namespace llvm;

namespace cnnc::codegen {

namespace {

/// The input transform of the six points 0, +-1, +-2, infinity (F(4x4,3x3)
/// and F(2x2,5x5)), of the four points 0, +-1, infinity (F(2x2,3x3)) and of
/// the eight points 0, +-1, +-2, +-1/2, infinity (F(4x4,5x5)).
const double kBT6[8][8] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0},
                           {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0},
                           {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
const double kBT4[8][8] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
const double kBT8[8][8] = {{1, 0, -21.0 / 4, 0, 21.0 / 4, 0, -1, 0},
                           {0, 1, 1, -17.0 / 4, -17.0 / 4, 1, 1, 0},
                           {0, -1, 1, 17.0 / 4, -17.0 / 4, -1, 1, 0},
                           {0, 0.5, 0.25, -2.5, -1.25, 2, 1, 0},
                           {0, -0.5, 0.25, 2.5, -1.25, -2, 1, 0},
                           {0, 2, 4, -2.5, -5, 0.5, 1, 0},
                           {0, -2, 4, 2.5, -5, -0.5, 1, 0},
                           {0, -1, 0, 21.0 / 4, 0, -21.0 / 4, 0, 1}};

/// The transform matrices of F(m x m, r x r), input tile a = m + r - 1
/// (rows and columns past a, r or m unused).
const WinogradMatrices kF4 = {kBT6,
                      {{1.0 / 4, 0, 0},
                       {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                       {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                       {1.0 / 24, 1.0 / 12, 1.0 / 6},
                       {1.0 / 24, -1.0 / 12, 1.0 / 6},
                       {0, 0, 1}},
                      {{1, 1, 1, 1, 1, 0},
                       {0, 1, -1, 2, -2, 0},
                       {0, 1, 1, 4, 4, 0},
                       {0, 1, -1, 8, -8, 1}}};
const WinogradMatrices kF2 = {kBT4,
                      {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}},
                      {{1, 1, 1, 0}, {0, 1, -1, -1}}};
// G: the filter's powers at each point, scaled like F(4x4)'s rows.
const WinogradMatrices kF2r5 = {kBT6,
                        {{1.0 / 4, 0, 0, 0, 0},
                         {-1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6},
                         {-1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6},
                         {1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3},
                         {1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3},
                         {0, 0, 0, 0, 1}},
                        {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 1}}};
// F(4x4,5x5): G row j is the filter's powers at point p_j over
// prod_{k != j} (p_j - p_k) (the infinity point's row picks the last tap),
// A^T the first four powers; B^T solves A^T [(G g) (.) (B^T d)] = g * d
// (checked in float64 against a direct 5x5 correlation: 3e-14).
const WinogradMatrices kF4r5 = {kBT8,
                        {{1, 0, 0, 0, 0},
                         {-2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9},
                         {-2.0 / 9, 2.0 / 9, -2.0 / 9, 2.0 / 9, -2.0 / 9},
                         {1.0 / 90, 1.0 / 45, 2.0 / 45, 4.0 / 45, 8.0 / 45},
                         {1.0 / 90, -1.0 / 45, 2.0 / 45, -4.0 / 45, 8.0 / 45},
                         {32.0 / 45, 16.0 / 45, 8.0 / 45, 4.0 / 45, 2.0 / 45},
                         {32.0 / 45, -16.0 / 45, 8.0 / 45, -4.0 / 45, 2.0 / 45},
                         {0, 0, 0, 0, 1}},
                        {{1, 1, 1, 1, 1, 1, 1, 0},
                         {0, 1, -1, 2, -2, 0.5, -0.5, 0},
                         {0, 1, 1, 4, 4, 0.25, 0.25, 0},
                         {0, 1, -1, 8, -8, 0.125, -0.125, 1}}};

} // namespace

const WinogradMatrices &winogradMatrices(int64_t m, int64_t r) {
  return r == 5 ? (m == 4 ? kF4r5 : kF2r5) : m == 4 ? kF4 : kF2;
}

std::vector<float> packWinogradWeights(const std::vector<float> &w, int64_t K, int64_t C,
                                       int64_t m, int64_t r, int64_t RK) {
  const WinogradMatrices &W = winogradMatrices(m, r);
  const int64_t a = m + r - 1, taps = r * r;
  std::vector<float> packed(size_t(a * a * K * C));
  for (int64_t ko = 0; ko < K; ++ko) {
    int64_t k0 = ko / RK * RK, rk = std::min(RK, K - k0), kk = ko - k0;
    for (int64_t c = 0; c < C; ++c) {
      const float *f = &w[size_t((ko * C + c) * taps)];
      double t[8][5] = {};
      for (int i = 0; i < a; ++i)
        for (int j = 0; j < r; ++j)
          for (int q = 0; q < r; ++q)
            t[i][j] += W.G[i][q] * f[q * r + j];
      for (int i = 0; i < a; ++i)
        for (int j = 0; j < a; ++j) {
          double u = 0;
          for (int q = 0; q < r; ++q)
            u += t[i][q] * W.G[j][q];
          packed[size_t((i * a + j) * K * C + k0 * C + c * rk + kk)] = float(u);
        }
    }
  }
  return packed;
}

Value *TransformEmitter::lin(const double *coef, ArrayRef<Value *> x) {
  auto contract = [](Value *v) {
    if (auto *i = dyn_cast<Instruction>(v))
      i->setHasAllowContract(true);
    return v;
  };
  Value *acc = nullptr;
  for (size_t j = 0; j < x.size(); ++j) {
    double c = coef[j];
    if (c == 0)
      continue;
    if (!acc) {
      acc = c == 1    ? x[j]
            : c == -1 ? b.CreateFNeg(x[j])
                      : contract(b.CreateFMul(x[j], ConstantFP::get(vecTy, c)));
    } else if (c == 1) {
      acc = b.CreateFAdd(acc, x[j]);
    } else if (c == -1) {
      acc = b.CreateFSub(acc, x[j]);
    } else {
      acc = contract(b.CreateFAdd(acc, contract(b.CreateFMul(x[j], ConstantFP::get(vecTy, c)))));
    }
  }
  return acc ? acc : ConstantFP::get(vecTy, 0.0);
}

void TransformEmitter::rowsPaired(const double (*mat)[8], int rows, Value *const *x,
                                  Value **out) {
  // A pair (i, j, s) stands for x[i] + s * x[j]: a row with c x[i] + d x[j],
  // |c| = |d| != 0, can use it as c * pair (s = d / c).
  struct Pair {
    int i, j, s;
    bool operator<(const Pair &o) const { return std::tie(i, j, s) < std::tie(o.i, o.j, o.s); }
  };
  std::map<Pair, int> uses;
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < a; ++i)
      for (int j = i + 1; j < a; ++j)
        if (mat[r][i] != 0 && std::fabs(mat[r][i]) == std::fabs(mat[r][j]))
          ++uses[{i, j, mat[r][j] == mat[r][i] ? 1 : -1}];
  std::map<Pair, Value *> made;
  for (int r = 0; r < rows; ++r) {
    const double *c = mat[r];
    bool used[8] = {};
    std::vector<double> coef;
    std::vector<Value *> terms;
    for (;;) { // the pair of this row's unused terms that most rows share
      Pair best{-1, -1, 0};
      int bestUses = 1;
      for (int i = 0; i < a; ++i)
        for (int j = i + 1; j < a; ++j) {
          if (used[i] || used[j] || c[i] == 0 || std::fabs(c[i]) != std::fabs(c[j]))
            continue;
          Pair p{i, j, c[j] == c[i] ? 1 : -1};
          if (uses[p] > bestUses) {
            best = p;
            bestUses = uses[p];
          }
        }
      if (best.i < 0)
        break;
      Value *&v = made[best];
      if (!v)
        v = best.s > 0 ? b.CreateFAdd(x[best.i], x[best.j]) : b.CreateFSub(x[best.i], x[best.j]);
      used[best.i] = used[best.j] = true;
      coef.push_back(c[best.i]);
      terms.push_back(v);
    }
    for (int i = 0; i < a; ++i)
      if (!used[i] && c[i] != 0) {
        coef.push_back(c[i]);
        terms.push_back(x[i]);
      }
    // A unit term first: it starts the sum without a multiply.
    for (size_t t = 0; t < coef.size(); ++t)
      if (coef[t] == 1) {
        std::rotate(coef.begin(), coef.begin() + t, coef.begin() + t + 1);
        std::rotate(terms.begin(), terms.begin() + t, terms.begin() + t + 1);
        break;
      }
    out[r] = lin(coef.data(), terms);
  }
}

void TransformEmitter::leftMul(const double (*mat)[8], int rows, Value *const (*x)[8],
                               Value *(*out)[8]) {
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < a; ++j) {
      Value *col[8];
      for (int r = 0; r < a; ++r)
        col[r] = x[r][j];
      out[i][j] = lin(mat[i], ArrayRef<Value *>(col, a));
    }
}

} // namespace cnnc::codegen
