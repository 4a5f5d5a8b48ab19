//===- DotPrinter.h - the graph as Graphviz (--emit=dot, --emit=dot-opt) --===//
#ifndef CNNC_IR_DOTPRINTER_H
#define CNNC_IR_DOTPRINTER_H

#include "IR/Graph.h"
#include "IR/MemoryPlan.h"
#include "llvm/Support/raw_ostream.h"

namespace cnnc::ir {

/// One box per operation (op, module path, output shape), edges labelled
/// with the shape that flows along them. A node with a fused epilogue is a
/// cluster ("fused kernel") holding the op and its steps; an in-place concat
/// is dashed. With a plan, every box says where its value lives (input,
/// output, arena offset and size, in place, view) and the graph's label
/// gives the arena size.
void printDot(const Graph &g, llvm::raw_ostream &os, const MemoryPlan *plan = nullptr);

} // namespace cnnc::ir

#endif
