//===- ShapeInference.h - PyTorch's shape arithmetic ----------------------===//
//
// The one place that knows PyTorch's output-size formulas. The tracer uses
// them to build the graph (with user-facing diagnostics); the verifier uses
// inferShape() to recheck every node after every pass.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_IR_SHAPEINFERENCE_H
#define CNNC_IR_SHAPEINFERENCE_H

#include "IR/Graph.h"

#include <optional>
#include <string>

namespace cnnc::ir {

/// Output length of a sliding window (convolution or pooling) along one axis:
///   floor((W + 2P - D*(K-1) - 1) / S) + 1      (ceil under ceilMode, and
/// with ceilMode the last window must start inside the input or left padding).
int64_t slidingWindowOutput(int64_t w, int64_t k, int64_t s, int64_t p, int64_t d,
                            bool ceilMode);

/// The shape node n must have given its operands and attributes, or an
/// explanation of why none is valid.
std::optional<Shape> inferShape(const Node &n, std::string &why);

} // namespace cnnc::ir

#endif
