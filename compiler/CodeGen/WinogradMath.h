//===- WinogradMath.h - Winograd transforms shared by both layouts -------===//
//
// The matrices of F(m x m, r x r) for m = 4, 2 and r = 3, 5 (the point
// choices are described in ConvWinograd.cpp), the weight transform
// U = G g G^T done at compile time, and the emission of the input and
// output transforms' constant linear combinations. Used by the NCHW kernel
// (ConvWinograd.cpp, vectorised over tiles) and the channel-blocked one
// (ConvWinogradBlocked.cpp, vectorised over channels).
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_CODEGEN_WINOGRADMATH_H
#define CNNC_CODEGEN_WINOGRADMATH_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/IR/IRBuilder.h"

#include <cstdint>
#include <vector>

namespace cnnc::codegen {

/// B^T (a x a), G (a x r) and A^T (m x a), a = m + r - 1 (entries past a,
/// r or m unused).
struct WinogradMatrices {
  const double (*BT)[8];
  double G[8][5], AT[4][8];
};
const WinogradMatrices &winogradMatrices(int64_t m, int64_t r);

/// U = G g G^T of every (output channel, input channel) filter of the
/// OIHW weights `w`, as [a*a][K/RK][C][rk]: blocks of RK output channels
/// (rk = RK, fewer in the last), the block's channels fastest.
std::vector<float> packWinogradWeights(const std::vector<float> &w, int64_t K, int64_t C,
                                       int64_t m, int64_t r, int64_t RK);

/// Constant linear combinations of vectors, zero terms dropped, products
/// marked contractable (FMAs).
struct TransformEmitter {
  llvm::IRBuilder<> &b;
  llvm::Type *vecTy;
  int a; ///< input tile size
  /// sum_j coef[j] * x[j].
  llvm::Value *lin(const double *coef, llvm::ArrayRef<llvm::Value *> x);
  /// out (rows x a) = mat (rows x a) * x (a x a).
  void leftMul(const double (*mat)[8], int rows, llvm::Value *const (*x)[8],
               llvm::Value *(*out)[8]);
  /// out[r] = sum_j mat[r][j] * x[j] for `rows` rows, sharing sums and
  /// differences of two inputs that rows weigh with equal magnitudes
  /// (x1 +- x2 and x3 +- x4 for the A^T of F(4x4,3x3), x3 - x1 and x4 - x2
  /// for its B^T): 10 and 14 operations instead of 14 and 22. The pairs
  /// the most rows can use are taken first; a unit term starts each sum.
  void rowsPaired(const double (*mat)[8], int rows, llvm::Value *const *x, llvm::Value **out);
};

} // namespace cnnc::codegen

#endif
