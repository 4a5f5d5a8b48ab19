//===- LowerSoftmax.cpp - softmax / log_softmax along one dimension --------===//
//
// The shape splits as outer x D x inner around attrs.dim. Per (outer, inner):
// m = max_d x, s = sum_d exp(x - m); softmax = exp(x - m) / s,
// log_softmax = x - m - log(s).
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

#include <limits>

using namespace llvm;

namespace cnnc::codegen {

Error lowerSoftmax(Kernel &k) {
  const ir::Node &n = k.node;
  const ir::Shape &s = n.shape;
  if (n.operands[0]->shape != s)
    return k.error("input and output shapes differ");
  int64_t dim = n.attrs.dim;
  if (dim < 0)
    dim += (int64_t)s.size();
  if (dim < 0 || dim >= (int64_t)s.size())
    return k.error("dim out of range");
  int64_t outer = 1, inner = 1, D = s[dim];
  for (int64_t i = 0; i < dim; ++i)
    outer *= s[i];
  for (size_t i = dim + 1; i < s.size(); ++i)
    inner *= s[i];
  bool isLog = n.kind == ir::OpKind::LogSoftmax;
  IRBuilder<> &b = k.b;
  Value *x = k.in[0], *y = k.out;
  Value *negInf = k.f(-std::numeric_limits<double>::infinity());
  forLoop(b, 0, outer, [&](Value *o) {
    Value *base0 = k.mul(o, D * inner);
    forLoop(b, 0, inner, [&](Value *in) {
      Value *base = k.add(base0, in);
      auto at = [&](Value *d) { return k.add(base, k.mul(d, inner)); };
      Value *m = forLoopAcc(b, 0, D, negInf, [&](Value *d, Value *acc) {
        return k.fmaxNaN(acc, k.load(x, at(d)));
      });
      Value *sum = forLoopAcc(b, 0, D, k.f(0.0), [&](Value *d, Value *acc) {
        Value *e = b.CreateUnaryIntrinsic(
            Intrinsic::exp, b.CreateFSub(k.load(x, at(d)), m));
        if (!isLog)
          k.store(e, y, at(d));
        return k.fadd(acc, e);
      });
      if (isLog) {
        Value *shift =
            b.CreateFAdd(m, b.CreateUnaryIntrinsic(Intrinsic::log, sum));
        forLoop(b, 0, D, [&](Value *d) {
          k.store(b.CreateFSub(k.load(x, at(d)), shift), y, at(d));
        });
      } else {
        Value *inv = b.CreateFDiv(k.f(1.0), sum);
        forLoop(b, 0, D, [&](Value *d) {
          k.store(b.CreateFMul(k.load(y, at(d)), inv), y, at(d));
        });
      }
    });
  });
  return Error::success();
}

} // namespace cnnc::codegen
