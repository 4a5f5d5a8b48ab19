//===- DotPrinter.h - the graph as Graphviz (--emit=dot) ------------------===//
#ifndef CNNC_IR_DOTPRINTER_H
#define CNNC_IR_DOTPRINTER_H

#include "IR/Graph.h"
#include "llvm/Support/raw_ostream.h"

namespace cnnc::ir {

/// One box per operation (op, module path, output bytes), edges labelled
/// with the shape that flows along them.
void printDot(const Graph &g, llvm::raw_ostream &os);

} // namespace cnnc::ir

#endif
