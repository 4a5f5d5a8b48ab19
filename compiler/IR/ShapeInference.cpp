//===- ShapeInference.cpp - PyTorch's shape arithmetic --------------------===//
#include "IR/ShapeInference.h"

namespace cnnc::ir {

int64_t slidingWindowOutput(int64_t w, int64_t k, int64_t s, int64_t p, int64_t d,
                            bool ceilMode) {
  int64_t span = w + 2 * p - d * (k - 1) - 1;
  if (span < 0) // floor / ceil of a negative quotient: no valid window
    return (ceilMode ? -((-span) / s) : -((-span + s - 1) / s)) + 1;
  int64_t out = (ceilMode ? (span + s - 1) / s : span / s) + 1;
  // PyTorch: the last pooling window must start inside the input or the
  // left padding.
  if (ceilMode && (out - 1) * s >= w + p)
    --out;
  return out;
}

std::optional<Shape> inferShape(const Node &n, std::string &why) {
  auto operand = [&](size_t i) -> const Shape & { return n.operands[i]->shape; };
  auto need = [&](size_t count) {
    if (n.numOpOperands() != count) {
      why = "expected " + std::to_string(count) + " operands";
      return false;
    }
    return true;
  };
  const Attrs &a = n.attrs;
  switch (n.kind) {
  case OpKind::Input:
    return n.shape;
  case OpKind::Conv2d: {
    if (!need(1))
      return std::nullopt;
    const Shape &x = operand(0);
    const Param *w = n.param("weight");
    if (x.size() != 4 || !w || w->shape.size() != 4) {
      why = "conv2d needs a 4-D input and weight";
      return std::nullopt;
    }
    if (x[1] != w->shape[1] * a.groups) {
      why = "input channels do not match the weight";
      return std::nullopt;
    }
    if (w->shape[2] != a.kernel[0] || w->shape[3] != a.kernel[1]) {
      why = "weight does not match the kernel size";
      return std::nullopt;
    }
    Shape y{x[0], w->shape[0],
            slidingWindowOutput(x[2], a.kernel[0], a.stride[0], a.padding[0], a.dilation[0], false),
            slidingWindowOutput(x[3], a.kernel[1], a.stride[1], a.padding[1], a.dilation[1], false)};
    if (const EpilogueStep *p = n.pooling()) // kernel == stride, no padding, floor
      for (int d = 0; d < 2; ++d)
        y[2 + d] = slidingWindowOutput(y[2 + d], p->window[d], p->window[d], 0, 1, false);
    return y;
  }
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d: {
    if (!need(1))
      return std::nullopt;
    const Shape &x = operand(0);
    if (x.size() != 4) {
      why = "pooling needs a 4-D input";
      return std::nullopt;
    }
    return Shape{x[0], x[1],
                 slidingWindowOutput(x[2], a.kernel[0], a.stride[0], a.padding[0], a.dilation[0], a.ceilMode),
                 slidingWindowOutput(x[3], a.kernel[1], a.stride[1], a.padding[1], a.dilation[1], a.ceilMode)};
  }
  case OpKind::AdaptiveAvgPool2d:
  case OpKind::AdaptiveMaxPool2d:
    if (!need(1))
      return std::nullopt;
    if (operand(0).size() != 4 || n.shape.size() != 4) {
      why = "adaptive pooling needs 4-D tensors";
      return std::nullopt;
    }
    return Shape{operand(0)[0], operand(0)[1], n.shape[2], n.shape[3]};
  case OpKind::Linear: {
    if (!need(1))
      return std::nullopt;
    const Param *w = n.param("weight");
    const Shape &x = operand(0);
    if (!w || x.empty() || x.back() != w->shape[1]) {
      why = "input features do not match the weight";
      return std::nullopt;
    }
    Shape out = x;
    out.back() = w->shape[0];
    return out;
  }
  case OpKind::Reshape:
    if (!need(1))
      return std::nullopt;
    if (numElements(operand(0)) != numElements(n.shape)) {
      why = "reshape changes the number of elements";
      return std::nullopt;
    }
    return n.shape;
  case OpKind::Add:
  case OpKind::Mul:
    if (!need(2))
      return std::nullopt;
    if (operand(0) != operand(1)) {
      why = "operand shapes differ";
      return std::nullopt;
    }
    return operand(0);
  case OpKind::Concat: {
    if (n.operands.empty()) {
      why = "concat needs operands";
      return std::nullopt;
    }
    Shape out = operand(0);
    if (a.dim < 0 || a.dim >= (int64_t)out.size()) {
      why = "concat dim out of range";
      return std::nullopt;
    }
    out[a.dim] = 0;
    for (size_t i = 0; i < n.operands.size(); ++i) {
      const Shape &s = operand(i);
      for (size_t d = 0; d < s.size(); ++d)
        if ((int64_t)d != a.dim && (s.size() != out.size() || s[d] != out[d])) {
          why = "concat operands differ outside the concat dim";
          return std::nullopt;
        }
      out[a.dim] += s[a.dim];
    }
    return out;
  }
  case OpKind::BatchNorm2d:
    if (!need(1))
      return std::nullopt;
    if (operand(0).size() != 4) {
      why = "batchnorm needs a 4-D input";
      return std::nullopt;
    }
    return operand(0);
  default: // shape-preserving unary operations
    if (!need(1))
      return std::nullopt;
    return operand(0);
  }
}

} // namespace cnnc::ir
