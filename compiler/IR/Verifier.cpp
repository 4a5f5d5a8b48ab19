//===- Verifier.cpp - structural and shape checks of the IR ---------------===//
#include "IR/Verifier.h"

#include "IR/ShapeInference.h"

#include <unordered_set>

namespace cnnc::ir {

std::vector<std::string> verifyGraph(const Graph &g) {
  std::vector<std::string> errs;
  auto bad = [&](const Node &n, const std::string &msg) {
    errs.push_back("%" + std::to_string(n.id) + " (" + opName(n.kind) + "): " + msg);
  };
  if (!g.input())
    errs.push_back("graph has no input");
  if (!g.output())
    errs.push_back("graph has no output");
  std::unordered_set<const Node *> defined;
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node &n = *g.nodes()[i];
    if (n.id != i)
      bad(n, "id does not match its position " + std::to_string(i));
    if (n.kind == OpKind::Input && &n != g.input())
      bad(n, "second input node");
    for (const Node *op : n.operands)
      if (!defined.count(op))
        bad(n, "operand used before it is defined");
    for (int64_t d : n.shape)
      if (d <= 0)
        bad(n, "non-positive dimension in " + shapeToString(n.shape));
    for (const Param &p : n.params)
      for (int64_t d : p.shape)
        if (d <= 0)
          bad(n, "param " + p.key + " has a non-positive dimension");
    for (const EpilogueStep &st : n.epilogue) {
      if (st.kind == OpKind::Add) {
        if (st.operand < n.numOpOperands() || st.operand >= n.operands.size())
          bad(n, "epilogue add refers to operand " + std::to_string(st.operand));
        else if (n.operands[st.operand]->shape != n.opShape())
          bad(n, "epilogue add operand has shape " +
                     shapeToString(n.operands[st.operand]->shape));
      } else if (isPooling(st.kind)) {
        if (n.kind != OpKind::Conv2d || &st != &n.epilogue.back() || st.window[0] <= 0 ||
            st.window[1] <= 0)
          bad(n, "a fused pooling must be the last step of a conv2d's epilogue");
      } else if (!isActivation(st.kind)) {
        bad(n, std::string("epilogue step '") + opName(st.kind) + "' is not an activation");
      }
    }
    if (n.channelBlock < 0 ||
        (n.channelBlock > 0 &&
         (n.shape.size() != 4 || n.shape[1] % n.channelBlock || n.shape[2] * n.shape[3] == 1 ||
          (!n.epilogue.empty() && isPooling(n.epilogue.back().kind)) || &n == g.output())))
      bad(n, "layout nChw" + std::to_string(n.channelBlock) +
                 "c needs a 4-d non-output tensor with whole channel blocks and more "
                 "than one pixel, and no fused pooling");
    for (const EpilogueStep &st : n.epilogue)
      if (st.kind == OpKind::Add && st.operand < n.operands.size() &&
          n.operands[st.operand]->channelBlock != n.channelBlock)
        bad(n, "epilogue add operand in another layout than the output");
    if (n.attrs.inPlace && n.kind != OpKind::Concat)
      bad(n, "only concat can be in place");
    if (errs.empty()) {
      std::string why;
      auto s = inferShape(n, why);
      if (!s)
        bad(n, why);
      else if (*s != n.shape)
        bad(n, "shape " + shapeToString(n.shape) + " but the operands give " +
                   shapeToString(*s));
    }
    defined.insert(&n);
  }
  if (g.output() && !defined.count(g.output()))
    errs.push_back("output is not a node of the graph");
  return errs;
}

} // namespace cnnc::ir
