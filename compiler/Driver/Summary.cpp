//===- Summary.cpp - the layer table of --summary -------------------------===//
#include "Driver/Summary.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"

#include <set>

namespace cnnc {

using ir::OpKind;

std::string pytorchType(const ir::Node &n) {
  bool module = !n.name.empty();
  switch (n.kind) {
  case OpKind::Conv2d: return "Conv2d";
  case OpKind::MaxPool2d: return module ? "MaxPool2d" : "max_pool2d";
  case OpKind::AvgPool2d: return module ? "AvgPool2d" : "avg_pool2d";
  case OpKind::AdaptiveAvgPool2d: return module ? "AdaptiveAvgPool2d" : "adaptive_avg_pool2d";
  case OpKind::AdaptiveMaxPool2d: return module ? "AdaptiveMaxPool2d" : "adaptive_max_pool2d";
  case OpKind::BatchNorm2d: return "BatchNorm2d";
  case OpKind::Linear: return "Linear";
  case OpKind::Reshape: return module ? "Flatten" : "view";
  case OpKind::Dropout: return module ? "Dropout" : "dropout";
  case OpKind::Identity: return "Identity";
  case OpKind::Relu: return module ? "ReLU" : "relu";
  case OpKind::Relu6: return module ? "ReLU6" : "relu6";
  case OpKind::LeakyRelu: return module ? "LeakyReLU" : "leaky_relu";
  case OpKind::Elu: return module ? "ELU" : "elu";
  case OpKind::Hardtanh: return module ? "Hardtanh" : "hardtanh";
  case OpKind::Sigmoid: return module ? "Sigmoid" : "sigmoid";
  case OpKind::Tanh: return module ? "Tanh" : "tanh";
  case OpKind::Silu: return module ? "SiLU" : "silu";
  case OpKind::Hardswish: return module ? "Hardswish" : "hardswish";
  case OpKind::Softmax: return module ? "Softmax" : "softmax";
  case OpKind::LogSoftmax: return module ? "LogSoftmax" : "log_softmax";
  case OpKind::Add: return "add";
  case OpKind::Mul: return "mul";
  case OpKind::Concat: return "cat";
  case OpKind::Input: return "input";
  }
  return ir::opName(n.kind);
}

namespace {

struct Row {
  const ir::Node *node;
  int64_t params;
  bool recursive;
};

std::vector<Row> rows(const ir::Graph &g) {
  std::vector<Row> out;
  std::set<std::string> seen;
  for (const auto &n : g.nodes()) {
    if (n->kind == OpKind::Input)
      continue;
    bool first = n->name.empty() || seen.insert(n->name).second;
    out.push_back({n.get(), first ? n->numParams() : 0, !first && n->numParams() > 0});
  }
  return out;
}

std::string withCommas(int64_t v) {
  std::string s = std::to_string(v), out;
  int count = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (count && count % 3 == 0 && *it != '-')
      out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return out;
}

std::string listShape(const ir::Shape &s) { return ir::shapeToList(s); }

std::string human(double v, const char *const units[], int n, double base) {
  int u = 0;
  while (v >= base && u + 1 < n) {
    v /= base;
    ++u;
  }
  char buf[64];
  snprintf(buf, sizeof buf, u ? "%.2f %s" : *units[0] ? "%.0f %s" : "%.0f%s", v, units[u]);
  return buf;
}

} // namespace

void printSummaryText(const ir::Graph &g, const ModelInfo &info, const ActivationMemory &mem,
                      llvm::raw_ostream &os) {
  std::vector<Row> rs = rows(g);
  size_t wName = 5, wType = 4, wShape = 12;
  for (const Row &r : rs) {
    wName = std::max(wName, r.node->name.empty() ? 1 : r.node->name.size());
    wType = std::max(wType, pytorchType(*r.node).size());
    wShape = std::max(wShape, listShape(r.node->shape).size());
  }
  int64_t totalMacs = 0;
  for (const Row &r : rs)
    totalMacs += r.node->macs();
  std::string macsHeader = "MACs";
  size_t wParams = std::max<size_t>(11, withCommas(info.totalParams).size());
  size_t wMacs = std::max<size_t>(4, withCommas(totalMacs).size());
  size_t width = wName + wType + wShape + wParams + wMacs + 8;
  std::string rule(width, '=');
  os << "Model: " << g.modelName << "\n" << rule << "\n";
  os << llvm::left_justify("Layer", wName) << "  " << llvm::left_justify("Type", wType) << "  "
     << llvm::left_justify("Output Shape", wShape) << "  "
     << llvm::right_justify("Params", wParams) << "  " << llvm::right_justify("MACs", wMacs)
     << "\n" << rule << "\n";
  os << llvm::left_justify("input", wName) << "  " << llvm::left_justify("-", wType) << "  "
     << llvm::left_justify(listShape(g.input()->shape), wShape) << "  "
     << llvm::right_justify("-", wParams) << "  " << llvm::right_justify("-", wMacs) << "\n";
  for (const Row &r : rs) {
    const ir::Node &n = *r.node;
    std::string params = r.recursive ? "(recursive)"
                         : (n.params.empty() && r.params == 0) ? "-" : withCommas(r.params);
    os << llvm::left_justify(n.name.empty() ? "-" : n.name, wName) << "  "
       << llvm::left_justify(pytorchType(n), wType) << "  "
       << llvm::left_justify(listShape(n.shape), wShape) << "  "
       << llvm::right_justify(params, wParams) << "  "
       << llvm::right_justify(n.macs() ? withCommas(n.macs()) : "-", wMacs) << "\n";
  }
  os << rule << "\n";
  static const char *countUnits[] = {"", "K", "M", "G", "T"};
  static const char *byteUnits[] = {"B", "KB", "MB", "GB", "TB"};
  int64_t weightBytes = 0;
  for (const auto &p : info.allParams)
    weightBytes += 4 * ir::numElements(p.shape);
  os << "Total params: " << withCommas(info.totalParams) << " ("
     << human(info.totalParams, countUnits, 5, 1000) << ")\n";
  os << "Total MACs: " << withCommas(totalMacs) << " (" << human(totalMacs, countUnits, 5, 1000)
     << ")\n";
  os << "Input: " << listShape(g.input()->shape) << "  Output: " << listShape(g.output()->shape)
     << "\n";
  os << "Weights: " << human(weightBytes, byteUnits, 5, 1024)
     << "  Activation arena: " << human(mem.arenaBytes, byteUnits, 5, 1024)
     << " (all layer outputs: " << human(mem.layerOutputBytes, byteUnits, 5, 1024) << ")\n";
}

void printSummaryMarkdown(const ir::Graph &g, const ModelInfo &info, const ActivationMemory &mem,
                          llvm::raw_ostream &os) {
  std::vector<Row> rs = rows(g);
  int64_t totalMacs = 0;
  os << "**" << g.modelName << "**: input " << listShape(g.input()->shape) << ", output "
     << listShape(g.output()->shape) << "\n\n";
  os << "| Layer | Type | Output Shape | Params | MACs |\n";
  os << "|---|---|---|---:|---:|\n";
  for (const Row &r : rs) {
    const ir::Node &n = *r.node;
    totalMacs += n.macs();
    std::string params = r.recursive ? "(recursive)" : r.params ? withCommas(r.params) : "-";
    os << "| " << (n.name.empty() ? "-" : "`" + n.name + "`") << " | " << pytorchType(n)
       << " | " << listShape(n.shape) << " | " << params << " | "
       << (n.macs() ? withCommas(n.macs()) : "-") << " |\n";
  }
  static const char *countUnits[] = {"", "K", "M", "G", "T"};
  static const char *byteUnits[] = {"B", "KB", "MB", "GB", "TB"};
  os << "\nTotal params: " << withCommas(info.totalParams) << " ("
     << human(info.totalParams, countUnits, 5, 1000) << "), total MACs: " << withCommas(totalMacs)
     << " (" << human(totalMacs, countUnits, 5, 1000)
     << "), activation arena: " << human(mem.arenaBytes, byteUnits, 5, 1024) << "\n";
}

void printSummaryJSON(const ir::Graph &g, const ModelInfo &info, const ActivationMemory &mem,
                      llvm::raw_ostream &os) {
  auto shape = [](const ir::Shape &s) {
    llvm::json::Array a;
    for (int64_t d : s)
      a.push_back(d);
    return a;
  };
  llvm::json::Array layers;
  int64_t totalMacs = 0;
  for (const Row &r : rows(g)) {
    const ir::Node &n = *r.node;
    totalMacs += n.macs();
    layers.push_back(llvm::json::Object{{"name", n.name},
                                        {"type", pytorchType(n)},
                                        {"output_shape", shape(n.shape)},
                                        {"params", r.params},
                                        {"macs", n.macs()}});
  }
  llvm::json::Object root{{"model", g.modelName},
                          {"input_shape", shape(g.input()->shape)},
                          {"output_shape", shape(g.output()->shape)},
                          {"total_params", info.totalParams},
                          {"total_macs", totalMacs},
                          {"peak_activation_bytes", mem.arenaBytes},
                          {"layer_output_bytes", mem.layerOutputBytes},
                          {"layers", std::move(layers)}};
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
}

} // namespace cnnc
