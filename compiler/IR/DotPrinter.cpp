//===- DotPrinter.cpp - the graph as Graphviz -----------------------------===//
#include "IR/DotPrinter.h"

namespace cnnc::ir {

void printDot(const Graph &g, llvm::raw_ostream &os) {
  os << "digraph \"" << g.modelName << "\" {\n"
     << "  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n";
  for (const auto &n : g.nodes()) {
    os << "  n" << n->id << " [label=\"" << opName(n->kind);
    if (!n->name.empty())
      os << "\\n" << n->name;
    os << "\\n" << shapeToString(n->shape) << " (" << numElements(n->shape) * 4 << " B)\"";
    if (n.get() == g.input() || n.get() == g.output())
      os << ", style=\"rounded,bold\"";
    os << "];\n";
  }
  for (const auto &n : g.nodes())
    for (const Node *op : n->operands)
      os << "  n" << op->id << " -> n" << n->id << " [label=\"" << shapeToString(op->shape)
         << "\"];\n";
  os << "}\n";
}

} // namespace cnnc::ir
