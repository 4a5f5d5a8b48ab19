//===- RandomWeights.cpp - deterministic PyTorch-like random weights ------===//
//
// `cnnc bench` and tests without a weights file need plausible values. Each
// param gets its own splitmix64 stream seeded from (seed, key), so values do
// not depend on graph order. Scales follow PyTorch's default init: conv and
// linear weights and biases uniform(-b, b) with b = 1/sqrt(fan_in); BatchNorm
// weight and running_var uniform(0.5, 1.5) (positive), bias and running_mean
// uniform(-0.5, 0.5), so normalization is non-trivial but well conditioned.
//
//===----------------------------------------------------------------------===//
#include "Weights/Weights.h"

#include "llvm/ADT/StringRef.h"

#include <cmath>
#include <set>

namespace cnnc::weights {
namespace {

class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [lo, hi).
  float uniform(float lo, float hi) {
    float u = float(next() >> 40) * (1.0f / 16777216.0f);
    return lo + (hi - lo) * u;
  }

private:
  uint64_t state;
};

uint64_t fnv1a(llvm::StringRef s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s)
    h = (h ^ c) * 0x100000001b3ull;
  return h;
}

/// fan_in of a node's weight: product of all dims but the first.
double fanIn(const ir::Node &n) {
  const ir::Param *w = n.param("weight");
  if (!w || w->shape.size() < 2)
    return 1;
  double f = 1;
  for (size_t i = 1; i < w->shape.size(); ++i)
    f *= double(w->shape[i]);
  return f > 0 ? f : 1;
}

} // namespace

WeightSet randomWeights(const ir::Graph &g, uint64_t seed) {
  WeightSet ws;
  for (const auto &node : g.nodes()) {
    double bound = 1.0 / std::sqrt(fanIn(*node));
    for (const ir::Param &p : node->params) {
      if (ws.tensors.count(p.key))
        continue;
      llvm::StringRef key(p.key);
      float lo = -float(bound), hi = float(bound);
      if (node->kind == ir::OpKind::BatchNorm2d) {
        bool positive = key.ends_with("running_var") || key.ends_with("weight");
        lo = positive ? 0.5f : -0.5f;
        hi = positive ? 1.5f : 0.5f;
      }
      SplitMix64 rng(seed ^ fnv1a(key));
      Tensor t;
      t.shape = p.shape;
      t.data.resize(ir::numElements(p.shape));
      for (float &v : t.data)
        v = rng.uniform(lo, hi);
      ws.tensors.emplace(p.key, std::move(t));
    }
  }
  return ws;
}

} // namespace cnnc::weights
