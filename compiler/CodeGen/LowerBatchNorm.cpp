//===- LowerBatchNorm.cpp - inference batch normalisation -------------------===//
//
// With running statistics (the usual case) the layer folds at compile time to
//   y = x * scale[c] + shift[c],  scale = w / sqrt(var + eps),
//                                 shift = b - mean * scale.
// Without them (track_running_stats=False) PyTorch normalises with the batch
// statistics even in eval mode: per channel mean and biased variance over
// N, H, W, computed at run time.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

#include <cmath>

using namespace llvm;

namespace cnnc::codegen {

Error lowerBatchNorm2d(Kernel &k) {
  const ir::Node &n = k.node;
  const ir::Shape &xs = n.operands[0]->shape;
  if (xs.size() < 2 || xs != n.shape)
    return k.error("expected input and output of equal shape, rank >= 2");
  int64_t N = xs[0], C = xs[1];
  int64_t HW = N * C > 0 ? ir::numElements(xs) / (N * C) : 0;
  double eps = n.attrs.eps;

  const weights::Tensor *tw = nullptr, *tb = nullptr, *tm = nullptr,
                        *tv = nullptr;
  struct Want {
    const char *suffix;
    const weights::Tensor **out;
  } wants[] = {{"weight", &tw},
               {"bias", &tb},
               {"running_mean", &tm},
               {"running_var", &tv}};
  for (Want &wnt : wants) {
    auto t = k.tensor(wnt.suffix);
    if (!t)
      return t.takeError();
    *wnt.out = *t;
    if (*t && (int64_t)(*t)->data.size() != C)
      return k.error(Twine("param '") + wnt.suffix + "' has " +
                     Twine((*t)->data.size()) + " values, expected " +
                     Twine(C));
  }
  if ((tm == nullptr) != (tv == nullptr))
    return k.error("running_mean and running_var must both be present");

  IRBuilder<> &b = k.b;
  std::string tag = n.name.empty() ? "bn" + std::to_string(n.id) : n.name;

  if (tm) {
    std::vector<float> scale(C), shift(C);
    for (int64_t c = 0; c < C; ++c) {
      double w = tw ? tw->data[c] : 1.0, bb = tb ? tb->data[c] : 0.0;
      double s = w / std::sqrt((double)tv->data[c] + eps);
      scale[c] = (float)s;
      shift[c] = (float)(bb - (double)tm->data[c] * s);
    }
    Value *sc = k.constant(tag + ".bn_scale", scale);
    Value *sh = k.constant(tag + ".bn_shift", shift);
    forLoop(b, 0, N, [&](Value *ni) {
      forLoop(b, 0, C, [&](Value *c) {
        Value *s = k.load(sc, c), *t = k.load(sh, c);
        Value *base = k.mul(k.add(k.mul(ni, C), c), HW);
        forLoop(b, 0, HW, [&](Value *i) {
          Value *idx = k.add(base, i);
          Value *v = k.load(k.in[0], idx);
          Value *r = b.CreateFAdd(b.CreateFMul(v, s), t);
          k.store(r, k.out, idx);
        });
      });
    });
    return Error::success();
  }

  // Batch statistics.
  Value *gw = nullptr, *gb = nullptr;
  if (tw) {
    auto p = k.param("weight");
    if (!p)
      return p.takeError();
    gw = *p;
  }
  if (tb) {
    auto p = k.param("bias");
    if (!p)
      return p.takeError();
    gb = *p;
  }
  double count = (double)(N * HW);
  forLoop(b, 0, C, [&](Value *c) {
    Value *sum = forLoopAcc(b, 0, N, k.f(0.0), [&](Value *ni, Value *acc) {
      Value *base = k.mul(k.add(k.mul(ni, C), c), HW);
      return forLoopAcc(b, 0, HW, acc, [&](Value *i, Value *acc) {
        return k.fadd(acc, k.load(k.in[0], k.add(base, i)));
      });
    });
    Value *mean = b.CreateFDiv(sum, k.f(count));
    Value *sq = forLoopAcc(b, 0, N, k.f(0.0), [&](Value *ni, Value *acc) {
      Value *base = k.mul(k.add(k.mul(ni, C), c), HW);
      return forLoopAcc(b, 0, HW, acc, [&](Value *i, Value *acc) {
        Value *dv = b.CreateFSub(k.load(k.in[0], k.add(base, i)), mean);
        return k.fmuladd(dv, dv, acc);
      });
    });
    Value *var = b.CreateFDiv(sq, k.f(count));
    Value *inv = b.CreateFDiv(
        k.f(1.0), b.CreateUnaryIntrinsic(Intrinsic::sqrt,
                                         b.CreateFAdd(var, k.f(eps))));
    Value *s = gw ? b.CreateFMul(inv, k.load(gw, c)) : inv;
    Value *t = gb ? k.load(gb, c) : k.f(0.0);
    forLoop(b, 0, N, [&](Value *ni) {
      Value *base = k.mul(k.add(k.mul(ni, C), c), HW);
      forLoop(b, 0, HW, [&](Value *i) {
        Value *idx = k.add(base, i);
        Value *v = b.CreateFSub(k.load(k.in[0], idx), mean);
        k.store(b.CreateFAdd(b.CreateFMul(v, s), t), k.out, idx);
      });
    });
  });
  return Error::success();
}

} // namespace cnnc::codegen
