//===- FusePool.cpp - non-overlapping pooling into the conv before it -----===//
//
// conv2d (with its fused activations) followed by max or average pooling
// whose windows tile the input (kernel == stride, no padding, no dilation,
// floor mode): the pooling becomes the last step of the conv's epilogue.
// The conv kernel then pools each block of output rows right after
// computing it, while the block is still in cache, and the full-size conv
// output never reaches the arena (it lives in the kernel's scratch). The
// node's shape becomes the pooled shape.
//
//===----------------------------------------------------------------------===//
#include "Passes/Pass.h"

namespace cnnc::passes {

namespace {
/// Why `pool` cannot be an epilogue step, or "".
std::string unfusable(const ir::Node &pool) {
  const ir::Attrs &a = pool.attrs;
  if (a.kernel[0] != a.stride[0] || a.kernel[1] != a.stride[1])
    return "its windows overlap or leave gaps (kernel != stride)";
  if (a.padding[0] || a.padding[1])
    return "it pads its input";
  if (pool.kind == ir::OpKind::MaxPool2d && (a.dilation[0] != 1 || a.dilation[1] != 1))
    return "it is dilated";
  if (a.ceilMode)
    return "it uses ceil_mode";
  return "";
}
} // namespace

bool fusePool(PassContext &ctx) {
  ir::Graph &g = ctx.graph;
  bool changed = false;
  for (const auto &np : g.nodes()) {
    ir::Node *pool = np.get();
    if (!ir::isPooling(pool->kind) || pool->operands.size() != 1)
      continue;
    ir::Node *conv = pool->operands[0];
    std::string why;
    if (conv->kind != ir::OpKind::Conv2d)
      why = "its input is " + nodeLabel(*conv) + ", not a conv2d";
    else if (g.users(conv).size() != 1 || conv == g.output())
      why = nodeLabel(*conv) + " has " + std::to_string(g.users(conv).size()) + " users";
    else if (conv->pooling())
      why = nodeLabel(*conv) + " already ends with a pooling";
    else
      why = unfusable(*pool);
    if (!why.empty()) {
      ctx.remark(false, nodeLabel(*pool) + " not fused: " + why);
      continue;
    }
    ir::EpilogueStep st;
    st.kind = pool->kind;
    st.window[0] = pool->attrs.kernel[0];
    st.window[1] = pool->attrs.kernel[1];
    st.from = pool->name;
    conv->epilogue.push_back(st);
    conv->shape = pool->shape;
    g.replaceAllUses(pool, conv);
    ctx.remark(true, "fused " + nodeLabel(*pool) + " into " + nodeLabel(*conv));
    changed = true;
  }
  if (changed)
    g.removeDeadNodes();
  return changed;
}

} // namespace cnnc::passes
