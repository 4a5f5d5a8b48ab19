//===- FuseActivation.cpp - activations into conv / linear epilogues ------===//
//
// conv2d or linear followed by an elementwise activation (relu, relu6,
// hardtanh, leaky_relu, elu, sigmoid, tanh, silu, hardswish): the activation
// becomes a step of the producer's epilogue, applied in registers before the
// store, and its node disappears. Legal only when the activation is the
// producer's single user and the producer is not the model's output (its
// unactivated values would otherwise be needed).
//
//===----------------------------------------------------------------------===//
#include "Passes/Pass.h"

namespace cnnc::passes {

bool hasEpilogue(ir::OpKind k) {
  return k == ir::OpKind::Conv2d || k == ir::OpKind::Linear;
}

std::string nodeLabel(const ir::Node &n) {
  std::string s = ir::opName(n.kind);
  return n.name.empty() ? s + " %" + std::to_string(n.id) : s + " '" + n.name + "'";
}

ir::EpilogueStep activationStep(const ir::Node &act) {
  ir::EpilogueStep st;
  st.kind = act.kind;
  st.alpha = act.attrs.alpha;
  st.beta = act.attrs.beta;
  st.from = act.name;
  return st;
}

bool fuseActivation(PassContext &ctx) {
  ir::Graph &g = ctx.graph;
  bool changed = false;
  for (const auto &np : g.nodes()) {
    ir::Node *act = np.get();
    if (!ir::isActivation(act->kind) || act->operands.size() != 1)
      continue;
    ir::Node *p = act->operands[0];
    if (!hasEpilogue(p->kind)) {
      ctx.remark(false, nodeLabel(*act) + " not fused: its input is " + nodeLabel(*p) +
                            " (only conv2d and linear have an epilogue)");
      continue;
    }
    if (p->pooling()) {
      ctx.remark(false, nodeLabel(*act) + " not fused: " + nodeLabel(*p) +
                            " already ends with a pooling");
      continue;
    }
    size_t users = g.users(p).size();
    if (users != 1 || p == g.output()) {
      ctx.remark(false, nodeLabel(*act) + " not fused into " + nodeLabel(*p) + ": " +
                            nodeLabel(*p) + " has " + std::to_string(users) + " users" +
                            (p == g.output() ? " and is the output" : ""));
      continue;
    }
    p->epilogue.push_back(activationStep(*act));
    g.replaceAllUses(act, p);
    ctx.remark(true, "fused " + nodeLabel(*act) + " into " + nodeLabel(*p));
    changed = true;
  }
  if (changed)
    g.removeDeadNodes();
  return changed;
}

} // namespace cnnc::passes
