//===- Printer.cpp - the stable textual form of the IR --------------------===//
#include "IR/Printer.h"

#include "llvm/Support/Format.h"

namespace cnnc::ir {

std::string tensorType(const Shape &s) {
  return "tensor<" + shapeToString(s) + "xf32>";
}

static std::string pair(const int64_t v[2]) {
  return "[" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + "]";
}

static std::string number(double d) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%g", d);
  return os.str();
}

static std::string attrText(const Node &n) {
  const Attrs &a = n.attrs;
  std::string t;
  auto add = [&](const std::string &kv) { t += (t.empty() ? "" : ", ") + kv; };
  switch (n.kind) {
  case OpKind::Conv2d:
    add("kernel=" + pair(a.kernel));
    add("stride=" + pair(a.stride));
    add("padding=" + pair(a.padding));
    add("dilation=" + pair(a.dilation));
    add("groups=" + std::to_string(a.groups));
    add(std::string("bias=") + (a.hasBias ? "true" : "false"));
    break;
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d:
    add("kernel=" + pair(a.kernel));
    add("stride=" + pair(a.stride));
    add("padding=" + pair(a.padding));
    if (n.kind == OpKind::MaxPool2d)
      add("dilation=" + pair(a.dilation));
    add(std::string("ceil_mode=") + (a.ceilMode ? "true" : "false"));
    if (n.kind == OpKind::AvgPool2d)
      add(std::string("count_include_pad=") + (a.countIncludePad ? "true" : "false"));
    break;
  case OpKind::Linear:
    add(std::string("bias=") + (a.hasBias ? "true" : "false"));
    break;
  case OpKind::BatchNorm2d:
    add("eps=" + number(a.eps));
    add(std::string("affine=") + (a.affine ? "true" : "false"));
    break;
  case OpKind::LeakyRelu:
    add("negative_slope=" + number(a.alpha));
    break;
  case OpKind::Elu:
    add("alpha=" + number(a.alpha));
    break;
  case OpKind::Hardtanh:
    add("min=" + number(a.alpha));
    add("max=" + number(a.beta));
    break;
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
    add("dim=" + std::to_string(a.dim));
    break;
  case OpKind::Concat:
    add("dim=" + std::to_string(a.dim));
    if (a.inPlace)
      add("in_place=true");
    break;
  default:
    break;
  }
  return t;
}

std::string epilogueText(const Node &n) {
  std::string t;
  for (const EpilogueStep &st : n.epilogue) {
    t += t.empty() ? "" : ", ";
    if (st.kind == OpKind::Add) {
      t += "add(%" + std::to_string(n.operands[st.operand]->id) + ")";
      continue;
    }
    t += opName(st.kind);
    if (isPooling(st.kind))
      t += "{kernel=[" + std::to_string(st.window[0]) + ", " + std::to_string(st.window[1]) + "]}";
    else if (st.kind == OpKind::LeakyRelu)
      t += "{negative_slope=" + number(st.alpha) + "}";
    else if (st.kind == OpKind::Elu)
      t += "{alpha=" + number(st.alpha) + "}";
    else if (st.kind == OpKind::Hardtanh)
      t += "{min=" + number(st.alpha) + ", max=" + number(st.beta) + "}";
  }
  return t;
}

void printGraph(const Graph &g, llvm::raw_ostream &os) {
  os << "graph @" << (g.modelName.empty() ? "model" : g.modelName) << "(";
  if (g.input())
    os << "%" << g.input()->id << ": " << tensorType(g.input()->shape);
  os << ") -> " << (g.output() ? tensorType(g.output()->shape) : "none") << " {\n";
  for (const auto &np : g.nodes()) {
    const Node &n = *np;
    if (&n == g.input())
      continue;
    os << "  %" << n.id << " = " << opName(n.kind) << "(";
    for (size_t i = 0; i < n.operands.size(); ++i)
      os << (i ? ", " : "") << "%" << n.operands[i]->id;
    os << ")";
    std::string attrs = attrText(n);
    if (!attrs.empty())
      os << " {" << attrs << "}";
    if (!n.params.empty()) {
      os << " params(";
      for (size_t i = 0; i < n.params.size(); ++i)
        os << (i ? ", " : "") << n.params[i].key << ": " << shapeToString(n.params[i].shape);
      os << ")";
    }
    if (!n.epilogue.empty())
      os << " epilogue(" << epilogueText(n) << ")";
    if (!n.name.empty())
      os << " \"" << n.name << "\"";
    os << " : " << tensorType(n.shape);
    if (n.channelBlock)
      os << " layout(nChw" << n.channelBlock << "c)";
    os << "\n";
  }
  if (g.output())
    os << "  return %" << g.output()->id << "\n";
  os << "}\n";
}

} // namespace cnnc::ir
