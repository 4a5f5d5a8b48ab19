//===- LowerConcat.cpp - concatenation along one dimension -----------------===//
//
// Around attrs.dim the output is outer x Dtotal x inner; operand j owns the
// slab [off_j, off_j + D_j) of the middle dimension, a contiguous run of
// D_j * inner floats per outer index.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

using namespace llvm;

namespace cnnc::codegen {

Error lowerConcat(Kernel &k) {
  const ir::Node &n = k.node;
  const ir::Shape &s = n.shape;
  int64_t dim = n.attrs.dim;
  if (dim < 0)
    dim += (int64_t)s.size();
  if (dim < 0 || dim >= (int64_t)s.size())
    return k.error("dim out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < dim; ++i)
    outer *= s[i];
  for (size_t i = dim + 1; i < s.size(); ++i)
    inner *= s[i];
  int64_t total = s[dim], off = 0;
  for (const ir::Node *op : n.operands) {
    if (op->shape.size() != s.size())
      return k.error("operand rank differs from output rank");
    for (size_t i = 0; i < s.size(); ++i)
      if ((int64_t)i != dim && op->shape[i] != s[i])
        return k.error("operand shape differs outside the concat dim");
    off += op->shape[dim];
  }
  if (off != total)
    return k.error("operand sizes do not add up to the output");
  IRBuilder<> &b = k.b;
  off = 0;
  for (size_t j = 0; j < n.operands.size(); ++j) {
    int64_t chunk = n.operands[j]->shape[dim] * inner;
    int64_t dstOff = off * inner;
    forLoop(b, 0, outer, [&](Value *o) {
      Value *src = k.mul(o, chunk);
      Value *dst = k.add(k.mul(o, total * inner), dstOff);
      forLoop(b, 0, chunk, [&](Value *i) {
        k.store(k.load(k.in[j], k.add(src, i)), k.out, k.add(dst, i));
      });
    });
    off += n.operands[j]->shape[dim];
  }
  return Error::success();
}

} // namespace cnnc::codegen
