//===- BlockChannels.cpp - activations in nChw<VL>c between kernels --------===//
//
// A kernel vectorised over output channels (the channel-vector conv,
// ConvChannelVec.cpp) holds VL channels of one pixel per register. Writing
// its output as NCHW costs a transpose of every register tile before the
// store; written channel-blocked ([N][C/VL][H][W][VL], "nChw8c" for AVX2's
// 8 floats) each accumulator is one contiguous store, and the next such
// conv reads VL channels of a pixel from one cache line instead of VL
// planes. This pass picks, for the target's vector width VL, which
// activations are stored blocked:
//  * a conv2d the code generator runs on the channel-vector kernel (or
//    would run on the direct one, which gives way to it unless
//    CNNC_DIRECT_BLOCKED=0, or on the
//    NCHW Winograd kernel, which gives way to the channel-blocked one), with a
//    4-d output of whole channel blocks and more than one pixel and no
//    fused pooling, may write blocked; it reads either layout, so the model
//    input (NCHW) needs no conversion: the first such conv converts it;
//  * an elementwise op (activation, add, mul of equal shapes) or a max
//    pooling keeps the layout of its operands when they are all blocked;
//  * a value is blocked only if every reader takes that layout: one of the
//    above, or a global (1x1-output) adaptive pooling, whose NCHW output is
//    the same bytes. A fused residual add's operand must be in the conv's
//    own output layout. Anything else (the graph's output, a reshape, a
//    concat, grouped convs, NCHW Winograd convs: fused pooling or fewer
//    tiles than the blocked kernel wants) keeps its producer NCHW, so
//    the last blocked kernel of a chain writes NCHW itself and no separate
//    conversion kernel is ever needed.
// The decision starts from every candidate blocked and drops, until
// nothing changes, each whose readers or operands do not allow it.
//
//===----------------------------------------------------------------------===//
#include "Passes/Pass.h"

#include <map>

namespace cnnc::passes {

namespace {

bool isElementwise(const ir::Node &n) {
  if (ir::isActivation(n.kind))
    return n.epilogue.empty();
  if (n.kind != ir::OpKind::Add && n.kind != ir::OpKind::Mul)
    return false;
  for (const ir::Node *op : n.operands)
    if (op->shape != n.shape)
      return false;
  return n.epilogue.empty();
}

/// Ops that keep their operands' layout: elementwise ones and max pooling.
bool keepsLayout(const ir::Node &n) {
  if (n.kind == ir::OpKind::MaxPool2d)
    return n.shape.size() == 4 && n.operands[0]->shape.size() == 4;
  return isElementwise(n);
}

/// 4-d, whole channel blocks, more than one pixel (a 1x1 image is the same
/// bytes in both layouts).
bool blockable(const ir::Node &n, int64_t B) {
  return n.shape.size() == 4 && n.shape[1] % B == 0 && n.shape[2] * n.shape[3] > 1;
}

bool isGlobalPool(const ir::Node &n) {
  return (n.kind == ir::OpKind::AdaptiveAvgPool2d ||
          n.kind == ir::OpKind::AdaptiveMaxPool2d) &&
         n.shape.size() == 4 && n.shape[2] == 1 && n.shape[3] == 1;
}

} // namespace

bool blockChannels(PassContext &ctx) {
  ir::Graph &g = ctx.graph;
  const int64_t B = ctx.vectorWidth;
  bool had = false;
  for (const auto &n : g.nodes()) {
    had |= n->channelBlock != 0;
    n->channelBlock = 0;
  }
  if (B <= 1 || !ctx.convLayouts)
    return had;
  std::map<const ir::Node *, std::vector<const ir::Node *>> users;
  for (const auto &n : g.nodes())
    for (const ir::Node *op : n->operands)
      users[op].push_back(n.get());
  std::map<const ir::Node *, ConvLayouts> conv;
  std::map<const ir::Node *, bool> blocked;
  std::map<const ir::Node *, std::string> why; // for the remarks
  for (const auto &np : g.nodes()) {
    const ir::Node &n = *np;
    if (n.kind == ir::OpKind::Conv2d)
      conv[&n] = ctx.convLayouts(n);
    bool cand = n.kind == ir::OpKind::Conv2d
                    ? conv[&n] != ConvLayouts::NCHWOnly && !n.pooling()
                    : keepsLayout(n);
    blocked[&n] = cand && blockable(n, B) && &n != g.output();
    if (cand && !blocked[&n])
      why[&n] = &n == g.output()            ? "it is the model's output"
                : n.shape.size() != 4       ? "its output is not 4-d"
                : n.shape[1] % B            ? std::to_string(n.shape[1]) +
                                       " channels are not whole blocks of " +
                                       std::to_string(B)
                                            : "its output is a single pixel";
  }
  // Why a node cannot stay blocked, or "" if it can.
  auto obstacle = [&](const ir::Node &n) -> std::string {
    if (n.kind == ir::OpKind::Conv2d) {
      for (size_t i = n.numOpOperands(); i < n.operands.size(); ++i)
        if (!blocked[n.operands[i]])
          return "its residual add reads " + nodeLabel(*n.operands[i]) + " in NCHW";
    } else {
      for (const ir::Node *op : n.operands)
        if (!blocked[op])
          return "its operand " + nodeLabel(*op) + " is NCHW";
    }
    for (const ir::Node *u : users[&n]) {
      bool takes;
      if (u->kind == ir::OpKind::Conv2d) {
        // The channel-vector kernel reads either layout; blocked Winograd
        // reads a blocked input only with its own output blocked.
        takes = conv[u] == ConvLayouts::Any ||
                (conv[u] == ConvLayouts::BlockedOutput && blocked[u]);
        for (size_t i = u->numOpOperands(); i < u->operands.size(); ++i)
          if (u->operands[i] == &n)
            takes = takes && blocked[u];
      } else {
        takes = isGlobalPool(*u) || (keepsLayout(*u) && blocked[u]);
      }
      if (!takes)
        return nodeLabel(*u) + " reads it in NCHW";
    }
    return "";
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto &np : g.nodes())
      if (blocked[np.get()]) {
        std::string w = obstacle(*np);
        if (!w.empty()) {
          blocked[np.get()] = false;
          why[np.get()] = w;
          changed = true;
        }
      }
  }
  bool any = false;
  const std::string layout = "nChw" + std::to_string(B) + "c";
  for (const auto &np : g.nodes()) {
    ir::Node &n = *np;
    if (blocked[&n]) {
      n.channelBlock = B;
      any = true;
      ctx.remark(true, nodeLabel(n) + " writes its output in " + layout);
    } else if (why.count(&n)) {
      ctx.remark(false, nodeLabel(n) + " writes NCHW: " + why[&n]);
    }
  }
  return any || had;
}

} // namespace cnnc::passes
