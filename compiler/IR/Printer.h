//===- Printer.h - the stable textual form of the IR (--emit=ir) ----------===//
#ifndef CNNC_IR_PRINTER_H
#define CNNC_IR_PRINTER_H

#include "IR/Graph.h"
#include "llvm/Support/raw_ostream.h"

namespace cnnc::ir {

/// Prints
///   graph @Net(%0: tensor<1x3x32x32xf32>) -> tensor<1x10xf32> {
///     %1 = conv2d(%0) {kernel=[3, 3], ...} params(conv1.weight: 16x3x3x3, ...) "conv1" : tensor<...>
///     return %5
///   }
/// Attributes that are irrelevant to an op are not printed.
void printGraph(const Graph &g, llvm::raw_ostream &os);

std::string tensorType(const Shape &s);
/// "add(%3), relu" for a node's fused epilogue ("" when it has none).
std::string epilogueText(const Node &n);

} // namespace cnnc::ir

#endif
