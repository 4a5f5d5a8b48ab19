//===- Elaborate.h - from AST to IR: run __init__, trace forward ----------===//
//
// The front end's second half. Finds the entry model (the class whose
// forward annotates its input with Tensor[...], or the one --model names),
// runs the file's top level and the model's constructor at compile time,
// names every module by its PyTorch path, then traces forward with a
// symbolic input into an ir::Graph. All user errors go to the DiagEngine;
// the result is null when there were any.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_ELABORATE_ELABORATE_H
#define CNNC_ELABORATE_ELABORATE_H

#include "Frontend/AST.h"
#include "IR/Graph.h"
#include "Support/Diagnostics.h"

#include <memory>
#include <string>

namespace cnnc {

/// Largest tensor cnnc accepts, in elements (documented in docs/language.md).
constexpr int64_t kMaxTensorElements = int64_t(1) << 31;

struct ElaborateOptions {
  std::string modelName; ///< --model; empty = the annotated class
};

/// What the summary needs beyond the graph.
struct ModelInfo {
  int64_t totalParams = 0;         ///< like sum(p.numel() for p in model.parameters())
  std::vector<ir::Param> allParams; ///< every parameter and float buffer, state_dict order
};

std::unique_ptr<ir::Graph> elaborate(const ast::File &file, DiagEngine &diags,
                                     const ElaborateOptions &opts, ModelInfo &info);

} // namespace cnnc

#endif
