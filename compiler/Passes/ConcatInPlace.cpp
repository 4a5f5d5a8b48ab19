//===- ConcatInPlace.cpp - producers write straight into concat slices ----===//
//
// concat(a, b, ...) along `dim` copies every operand into its slice of the
// result. When the dimensions before `dim` are all 1 (batch 1 along the
// channels, the usual case), each slice is one contiguous range of the
// result's buffer, so the producers can write their outputs there directly:
// the concat is marked in_place and generates no code; the memory planner
// (IR/MemoryPlan.cpp) places each producer at its slice's offset. Each
// operand must be computed by an operator (not the input, not a view), have
// the concat as its only user, and appear once.
//
//===----------------------------------------------------------------------===//
#include "IR/MemoryPlan.h"
#include "Passes/Pass.h"

#include <algorithm>

namespace cnnc::passes {

bool concatInPlace(PassContext &ctx) {
  ir::Graph &g = ctx.graph;
  bool changed = false;
  for (const auto &np : g.nodes()) {
    ir::Node *c = np.get();
    if (c->kind != ir::OpKind::Concat || c->attrs.inPlace)
      continue;
    int64_t leading = 1;
    for (int64_t d = 0; d < c->attrs.dim && d < (int64_t)c->shape.size(); ++d)
      leading *= c->shape[d];
    std::string why;
    if (leading != 1)
      why = "its slices along dim " + std::to_string(c->attrs.dim) +
            " are not contiguous (the dimensions before it are " +
            ir::shapeToList(ir::Shape(c->shape.begin(), c->shape.begin() + c->attrs.dim)) + ")";
    for (size_t i = 0; i < c->operands.size() && why.empty(); ++i) {
      const ir::Node *op = c->operands[i];
      if (op == g.input() || op->kind == ir::OpKind::Input)
        why = "operand " + nodeLabel(*op) + " is the model input";
      else if (ir::isView(op->kind))
        why = "operand " + nodeLabel(*op) + " is a view of another tensor";
      else if (std::count(c->operands.begin(), c->operands.end(), op) > 1)
        why = "operand " + nodeLabel(*op) + " appears more than once";
      else if (g.users(op).size() != 1 || op == g.output())
        why = "operand " + nodeLabel(*op) + " has other users";
    }
    if (!why.empty()) {
      ctx.remark(false, nodeLabel(*c) + " not in place: " + why);
      continue;
    }
    c->attrs.inPlace = true;
    ctx.remark(true, nodeLabel(*c) + " in place: its " + std::to_string(c->operands.size()) +
                         " producers write into its slices");
    changed = true;
  }
  return changed;
}

} // namespace cnnc::passes
