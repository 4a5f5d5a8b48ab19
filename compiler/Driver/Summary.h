//===- Summary.h - the layer table of --summary (text and JSON) -----------===//
#ifndef CNNC_DRIVER_SUMMARY_H
#define CNNC_DRIVER_SUMMARY_H

#include "Elaborate/Elaborate.h"
#include "IR/Graph.h"
#include "llvm/Support/raw_ostream.h"

namespace cnnc {

/// Activation memory of the compiled model: the planned arena (kernel
/// scratch included) and, for comparison, the sum of every layer's output.
struct ActivationMemory {
  int64_t arenaBytes = 0;
  int64_t layerOutputBytes = 0;
};

/// One row per operation of forward, in call order: module path (empty for
/// functional ops such as F.relu), PyTorch type, output shape, parameters
/// (counted at a module's first call only) and multiply-accumulates.
void printSummaryText(const ir::Graph &g, const ModelInfo &info,
                      const ActivationMemory &mem, llvm::raw_ostream &os);
/// The same as a Markdown table, for READMEs and reports.
void printSummaryMarkdown(const ir::Graph &g, const ModelInfo &info,
                          const ActivationMemory &mem, llvm::raw_ostream &os);
/// The same as one JSON object (keys documented in docs/cli.md).
void printSummaryJSON(const ir::Graph &g, const ModelInfo &info,
                      const ActivationMemory &mem, llvm::raw_ostream &os);

/// PyTorch's class name for a node made by a module ("Conv2d", "Flatten"),
/// or the functional spelling ("relu", "view") when it has no module.
std::string pytorchType(const ir::Node &n);

} // namespace cnnc

#endif
