//===- FuseResidualAdd.cpp - residual additions into conv epilogues -------===//
//
// add(a, b) where a is a conv2d or linear (optionally followed by one
// activation) whose only user is the add: the addition becomes a step of a's
// epilogue, reading b at the same position before the store, so the sum is
// written once and the add's separate pass over memory disappears (ResNet's
// `out += identity`). b becomes an extra operand of the producer; the nodes
// are re-sorted so b is computed first. When both operands qualify, the one
// computed later absorbs the add.
//
//===----------------------------------------------------------------------===//
#include "Passes/Pass.h"

namespace cnnc::passes {

namespace {

struct Candidate {
  ir::Node *producer = nullptr; ///< conv2d / linear
  ir::Node *act = nullptr;      ///< activation between it and the add, or null
};

/// Whether operand x of `add` can absorb it; otherwise why not.
Candidate candidate(ir::Graph &g, ir::Node *x, std::string &why) {
  Candidate c;
  ir::Node *p = x;
  if (ir::isActivation(x->kind) && x->operands.size() == 1) {
    if (g.users(x).size() != 1 || x == g.output()) {
      why = nodeLabel(*x) + " has other users";
      return {};
    }
    c.act = x;
    p = x->operands[0];
  }
  if (!hasEpilogue(p->kind)) {
    why = nodeLabel(*x) + " is not a conv2d or linear";
    return {};
  }
  size_t users = g.users(p).size();
  if (users != 1 || p == g.output()) {
    why = nodeLabel(*p) + " has " + std::to_string(users) + " users";
    return {};
  }
  if (p->pooling()) {
    why = nodeLabel(*p) + " ends with a pooling";
    return {};
  }
  c.producer = p;
  return c;
}

} // namespace

bool fuseResidualAdd(PassContext &ctx) {
  ir::Graph &g = ctx.graph;
  bool changed = false;
  for (const auto &np : g.nodes()) {
    ir::Node *add = np.get();
    if (add->kind != ir::OpKind::Add || add->operands.size() != 2 || !add->epilogue.empty())
      continue;
    ir::Node *a = add->operands[0], *b = add->operands[1];
    if (a == b) {
      ctx.remark(false, nodeLabel(*add) + " not fused: it adds a value to itself");
      continue;
    }
    if (a->shape != add->shape || b->shape != add->shape) {
      ctx.remark(false, nodeLabel(*add) + " not fused: operand shapes differ");
      continue;
    }
    std::string whyA, whyB;
    Candidate ca = candidate(g, a, whyA), cb = candidate(g, b, whyB);
    if (!ca.producer && !cb.producer) {
      ctx.remark(false, nodeLabel(*add) + " not fused: " + whyA + "; " + whyB);
      continue;
    }
    bool useA = ca.producer && (!cb.producer || ca.producer->id > cb.producer->id);
    Candidate c = useA ? ca : cb;
    ir::Node *other = useA ? b : a;
    if (c.act)
      c.producer->epilogue.push_back(activationStep(*c.act));
    ir::EpilogueStep st;
    st.kind = ir::OpKind::Add;
    st.operand = c.producer->operands.size();
    st.from = add->name;
    c.producer->operands.push_back(other);
    c.producer->epilogue.push_back(st);
    g.replaceAllUses(add, c.producer);
    ctx.remark(true, "fused " + nodeLabel(*add) + " (+ " + nodeLabel(*other) + ") into " +
                         nodeLabel(*c.producer));
    changed = true;
  }
  if (changed) {
    g.removeDeadNodes();
    g.sortTopologically();
  }
  return changed;
}

} // namespace cnnc::passes
