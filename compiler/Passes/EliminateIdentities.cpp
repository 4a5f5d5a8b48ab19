//===- EliminateIdentities.cpp - drop operations that compute nothing -----===//
//
// Dropout (identity at inference), nn.Identity, and reshapes whose output
// shape equals their input shape are replaced by their operand; nodes left
// without users are removed.
//
//===----------------------------------------------------------------------===//
#include "Passes/Pass.h"

namespace cnnc::passes {

bool eliminateIdentities(PassContext &ctx) {
  ir::Graph &g = ctx.graph;
  bool changed = false;
  for (const auto &np : g.nodes()) {
    ir::Node *n = np.get();
    bool identity = n->kind == ir::OpKind::Dropout || n->kind == ir::OpKind::Identity ||
                    (n->kind == ir::OpKind::Reshape && n->operands.size() == 1 &&
                     n->operands[0]->shape == n->shape);
    if (!identity)
      continue;
    std::string what = n->name.empty() ? std::string(ir::opName(n->kind))
                                       : "'" + n->name + "'";
    ctx.remark(true, "removed " + what + " (" + ir::opName(n->kind) +
                         " is the identity at inference)");
    g.replaceAllUses(n, n->operands[0]);
    changed = true;
  }
  if (changed)
    g.removeDeadNodes();
  return changed;
}

} // namespace cnnc::passes
