//===- DotPrinter.cpp - the graph as Graphviz -----------------------------===//
#include "IR/DotPrinter.h"


#include "llvm/Support/Format.h"

namespace cnnc::ir {

namespace {

std::string bytesText(int64_t b) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (b >= 1024 * 1024)
    os << llvm::format("%.1f MiB", b / (1024.0 * 1024.0));
  else if (b >= 1024)
    os << llvm::format("%.1f KiB", b / 1024.0);
  else
    os << b << " B";
  return os.str();
}

/// Where n's value lives, for its label.
std::string storageText(const Graph &g, const Node &n, const MemoryPlan &p) {
  auto it = p.at.find(&n);
  if (it == p.at.end())
    return "dead";
  const MemoryPlan::Location &loc = it->second;
  std::string off = loc.offset ? " +" + std::to_string(loc.offset) : "";
  std::string s;
  if (loc.storage == MemoryPlan::Storage::Input)
    s = &n == g.input() ? "caller's input" : "view of the input" + off;
  else if (loc.storage == MemoryPlan::Storage::Output)
    s = "caller's output" + off;
  else if (const MemoryPlan::Buffer *b = p.bufferOf(&n))
    s = "arena @" + std::to_string(loc.offset) + ", " + bytesText(b->bytes);
  if (isView(n.kind))
    s += " (view)";
  else if (p.inPlace.count(&n))
    s += " (in place)";
  return s;
}

std::string stepText(const EpilogueStep &st) {
  if (st.kind == OpKind::Add)
    return "+ residual";
  if (isPooling(st.kind))
    return std::string(opName(st.kind)) + " " + std::to_string(st.window[0]) + "x" +
           std::to_string(st.window[1]);
  return opName(st.kind);
}

} // namespace

void printDot(const Graph &g, llvm::raw_ostream &os, const MemoryPlan *plan) {
  os << "digraph \"" << g.modelName << "\" {\n"
     << "  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
     << "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  if (plan)
    os << "  label=\"" << g.modelName << ": activation arena " << bytesText(plan->arenaBytes)
       << " (one buffer per layer: " << bytesText(plan->naiveBytes) << ")\";\n"
       << "  labelloc=t;\n";
  // The box edges leave from: the last epilogue step of a fused node.
  auto outBox = [](const Node &n) {
    std::string id = "n" + std::to_string(n.id);
    return n.epilogue.empty() ? id : id + "_e" + std::to_string(n.epilogue.size() - 1);
  };
  for (const auto &np : g.nodes()) {
    const Node &n = *np;
    std::string label = opName(n.kind);
    if (!n.name.empty())
      label += "\\n" + n.name;
    label += "\\n" + shapeToString(n.shape);
    std::string mem = plan ? storageText(g, n, *plan) : "";
    if (!plan)
      label += " (" + std::to_string(numElements(n.shape) * 4) + " B)";
    std::string style;
    if (&n == g.input() || &n == g.output())
      style = ", style=\"rounded,bold\"";
    else if (n.kind == OpKind::Concat && n.attrs.inPlace)
      style = ", style=\"rounded,dashed\"";
    if (n.kind == OpKind::Concat && n.attrs.inPlace)
      label += "\\nin place: no copy";
    std::string indent = "  ";
    if (!n.epilogue.empty()) {
      os << "  subgraph cluster_n" << n.id << " {\n    label=\"fused kernel" << (mem.empty() ? "" : ": " + mem)
         << "\";\n    style=dashed;\n";
      indent = "    ";
    } else if (!mem.empty()) {
      label += "\\n" + mem;
    }
    os << indent << "n" << n.id << " [label=\"" << label << "\"" << style << "];\n";
    for (size_t i = 0; i < n.epilogue.size(); ++i) {
      os << indent << "n" << n.id << "_e" << i << " [label=\"" << stepText(n.epilogue[i])
         << "\", shape=ellipse];\n";
      os << indent << (i ? "n" + std::to_string(n.id) + "_e" + std::to_string(i - 1)
                         : "n" + std::to_string(n.id))
         << " -> n" << n.id << "_e" << i << ";\n";
    }
    if (!n.epilogue.empty())
      os << "  }\n";
  }
  for (const auto &np : g.nodes()) {
    const Node &n = *np;
    for (size_t i = 0; i < n.operands.size(); ++i) {
      const Node *op = n.operands[i];
      std::string to = "n" + std::to_string(n.id);
      for (size_t s = 0; s < n.epilogue.size(); ++s)
        if (n.epilogue[s].kind == OpKind::Add && n.epilogue[s].operand == i)
          to += "_e" + std::to_string(s);
      os << "  " << outBox(*op) << " -> " << to << " [label=\"" << shapeToString(op->shape)
         << "\"];\n";
    }
  }
  os << "}\n";
}

} // namespace cnnc::ir
