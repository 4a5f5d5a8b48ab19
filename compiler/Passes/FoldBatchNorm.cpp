//===- FoldBatchNorm.cpp - BatchNorm2d folded into the preceding conv -----===//
//
// At inference BatchNorm2d is the affine map y = x * s[c] + t[c] with
//   s = gamma / sqrt(running_var + eps),  t = beta - running_mean * s.
// When its input is a convolution that has no other user, the map folds into
// the convolution: W'[k] = W[k] * s[k], b'[k] = b[k] * s[k] + t[k]. The
// folded tensors get new keys ("<conv>.bnfold.weight") so a convolution
// module that is also called elsewhere keeps its original weights. A
// BatchNorm that cannot be folded (input not a conv, conv with several
// users) stays and is computed on its own.
//
//===----------------------------------------------------------------------===//
#include "Passes/Pass.h"

#include <cmath>

namespace cnnc::passes {

bool foldBatchNorm(PassContext &ctx) {
  ir::Graph &g = ctx.graph;
  bool changed = false;
  for (const auto &np : g.nodes()) {
    ir::Node *bn = np.get();
    if (bn->kind != ir::OpKind::BatchNorm2d)
      continue;
    std::string bnName = "'" + bn->name + "'";
    ir::Node *conv = bn->operands[0];
    if (conv->kind != ir::OpKind::Conv2d) {
      ctx.remark(false, "batchnorm " + bnName + " not folded: its input is " +
                            ir::opName(conv->kind) + ", not a convolution");
      continue;
    }
    if (g.users(conv).size() != 1 || conv == g.output()) {
      ctx.remark(false, "batchnorm " + bnName + " not folded: conv '" + conv->name +
                            "' has other users");
      continue;
    }
    const ir::Param *pw = conv->param("weight");
    const ir::Param *pm = bn->param("running_mean");
    const ir::Param *pv = bn->param("running_var");
    const weights::Tensor *w = pw ? ctx.weights.find(pw->key) : nullptr;
    const weights::Tensor *mean = pm ? ctx.weights.find(pm->key) : nullptr;
    const weights::Tensor *var = pv ? ctx.weights.find(pv->key) : nullptr;
    if (!w || !mean || !var) {
      ctx.remark(false, "batchnorm " + bnName + " not folded: weights unavailable");
      continue;
    }
    int64_t K = w->shape[0], per = ir::numElements(w->shape) / K;
    const ir::Param *pg = bn->param("weight"), *pb = bn->param("bias");
    const weights::Tensor *gamma = pg ? ctx.weights.find(pg->key) : nullptr;
    const weights::Tensor *beta = pb ? ctx.weights.find(pb->key) : nullptr;
    const ir::Param *pcb = conv->param("bias");
    const weights::Tensor *cb = pcb ? ctx.weights.find(pcb->key) : nullptr;

    weights::Tensor nw = *w, nb;
    nb.shape = {K};
    nb.data.assign(K, 0.0f);
    for (int64_t k = 0; k < K; ++k) {
      double s = (gamma ? gamma->data[k] : 1.0) / std::sqrt((double)var->data[k] + bn->attrs.eps);
      double t = (beta ? beta->data[k] : 0.0) - (double)mean->data[k] * s;
      for (int64_t i = 0; i < per; ++i)
        nw.data[k * per + i] = (float)(w->data[k * per + i] * s);
      nb.data[k] = (float)((cb ? cb->data[k] : 0.0) * s + t);
    }
    std::string base = conv->name.empty() ? "conv" + std::to_string(conv->id) : conv->name;
    std::string wKey = base + ".bnfold.weight", bKey = base + ".bnfold.bias";
    ir::Shape wShape = pw->shape;
    ctx.weights.tensors[wKey] = std::move(nw);
    ctx.weights.tensors[bKey] = std::move(nb);
    conv->params = {{wKey, wShape}, {bKey, {K}}};
    conv->attrs.hasBias = true;
    g.replaceAllUses(bn, conv);
    ctx.remark(true, "folded batchnorm " + bnName + " into conv '" + conv->name + "'");
    changed = true;
  }
  if (changed)
    g.removeDeadNodes();
  return changed;
}

} // namespace cnnc::passes
