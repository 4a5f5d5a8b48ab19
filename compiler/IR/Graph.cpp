//===- Graph.cpp - construction and queries of the tensor graph -----------===//
#include "IR/Graph.h"
#include "IR/ShapeInference.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace cnnc::ir {

int64_t numElements(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

std::string shapeToString(const Shape &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i)
      out += 'x';
    out += std::to_string(s[i]);
  }
  return out;
}

std::string shapeToList(const Shape &s, const char *open, const char *close) {
  std::string out = open;
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + close;
}

const char *opName(OpKind k) {
  switch (k) {
  case OpKind::Input: return "input";
  case OpKind::Conv2d: return "conv2d";
  case OpKind::MaxPool2d: return "maxpool2d";
  case OpKind::AvgPool2d: return "avgpool2d";
  case OpKind::AdaptiveAvgPool2d: return "adaptive_avgpool2d";
  case OpKind::AdaptiveMaxPool2d: return "adaptive_maxpool2d";
  case OpKind::BatchNorm2d: return "batchnorm2d";
  case OpKind::Linear: return "linear";
  case OpKind::Reshape: return "reshape";
  case OpKind::Dropout: return "dropout";
  case OpKind::Identity: return "identity";
  case OpKind::Relu: return "relu";
  case OpKind::Relu6: return "relu6";
  case OpKind::LeakyRelu: return "leaky_relu";
  case OpKind::Elu: return "elu";
  case OpKind::Hardtanh: return "hardtanh";
  case OpKind::Sigmoid: return "sigmoid";
  case OpKind::Tanh: return "tanh";
  case OpKind::Silu: return "silu";
  case OpKind::Hardswish: return "hardswish";
  case OpKind::Softmax: return "softmax";
  case OpKind::LogSoftmax: return "log_softmax";
  case OpKind::Add: return "add";
  case OpKind::Mul: return "mul";
  case OpKind::Concat: return "concat";
  }
  return "?";
}

const Param *Node::param(const std::string &suffix) const {
  for (const Param &p : params) {
    const std::string &k = p.key;
    if (k == suffix ||
        (k.size() > suffix.size() && k[k.size() - suffix.size() - 1] == '.' &&
         k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0))
      return &p;
  }
  return nullptr;
}

int64_t Node::numParams() const {
  int64_t n = 0;
  for (const Param &p : params) {
    // Buffers (running statistics) are not parameters in PyTorch's count.
    if (p.key.size() >= 12 &&
        (p.key.find("running_mean") != std::string::npos ||
         p.key.find("running_var") != std::string::npos))
      continue;
    n += numElements(p.shape);
  }
  return n;
}

int64_t Node::macs() const {
  switch (kind) {
  case OpKind::Conv2d: {
    // Every output element accumulates (C_in / groups) * KH * KW products.
    const Param *w = param("weight");
    if (!w)
      return 0;
    int64_t perOut = w->shape[1] * w->shape[2] * w->shape[3];
    return numElements(opShape()) * perOut;
  }
  case OpKind::Linear: {
    const Param *w = param("weight");
    if (!w)
      return 0;
    return numElements(shape) * w->shape[1];
  }
  default:
    return 0;
  }
}

Node *Graph::addNode(OpKind kind, std::vector<Node *> operands, Shape shape,
                     std::string name, llvm::SMLoc loc) {
  auto n = std::make_unique<Node>();
  n->id = nodes_.size();
  n->kind = kind;
  n->operands = std::move(operands);
  n->shape = std::move(shape);
  n->name = std::move(name);
  n->loc = loc;
  nodes_.push_back(std::move(n));
  return nodes_.back().get();
}

std::vector<Node *> Graph::users(const Node *n) const {
  std::vector<Node *> out;
  for (const auto &u : nodes_)
    if (std::find(u->operands.begin(), u->operands.end(), n) != u->operands.end())
      out.push_back(u.get());
  return out;
}

void Graph::replaceAllUses(Node *from, Node *to) {
  for (const auto &u : nodes_)
    for (Node *&op : u->operands)
      if (op == from)
        op = to;
  if (output_ == from)
    output_ = to;
}

void Graph::removeDeadNodes() {
  std::unordered_set<const Node *> live;
  if (input_)
    live.insert(input_);
  std::vector<const Node *> work;
  if (output_)
    work.push_back(output_);
  while (!work.empty()) {
    const Node *n = work.back();
    work.pop_back();
    if (!live.insert(n).second && n != input_)
      continue;
    for (const Node *op : n->operands)
      if (!live.count(op))
        work.push_back(op);
  }
  nodes_.erase(std::remove_if(nodes_.begin(), nodes_.end(),
                              [&](const std::unique_ptr<Node> &n) {
                                return !live.count(n.get());
                              }),
               nodes_.end());
  renumber();
}

bool isActivation(OpKind k) {
  switch (k) {
  case OpKind::Relu: case OpKind::Relu6: case OpKind::LeakyRelu: case OpKind::Elu:
  case OpKind::Hardtanh: case OpKind::Sigmoid: case OpKind::Tanh: case OpKind::Silu:
  case OpKind::Hardswish:
    return true;
  default:
    return false;
  }
}

bool isPooling(OpKind k) { return k == OpKind::MaxPool2d || k == OpKind::AvgPool2d; }

const EpilogueStep *Node::pooling() const {
  for (const EpilogueStep &s : epilogue)
    if (isPooling(s.kind))
      return &s;
  return nullptr;
}

Shape Node::opShape() const {
  const EpilogueStep *p = pooling();
  if (!p || kind != OpKind::Conv2d || operands.empty() || operands[0]->shape.size() != 4 ||
      shape.size() != 4)
    return shape;
  const Shape &x = operands[0]->shape;
  return Shape{shape[0], shape[1],
               slidingWindowOutput(x[2], attrs.kernel[0], attrs.stride[0], attrs.padding[0],
                                   attrs.dilation[0], false),
               slidingWindowOutput(x[3], attrs.kernel[1], attrs.stride[1], attrs.padding[1],
                                   attrs.dilation[1], false)};
}

size_t Node::numOpOperands() const {
  size_t adds = 0;
  for (const EpilogueStep &s : epilogue)
    adds += s.kind == OpKind::Add;
  return operands.size() - std::min(adds, operands.size());
}

void Graph::sortTopologically() {
  // Repeatedly take the first node (in the current order) whose operands are
  // all placed: stable, and the identity when the order is already valid.
  std::unordered_set<const Node *> placed;
  std::vector<std::unique_ptr<Node>> pending = std::move(nodes_), sorted;
  nodes_.clear();
  while (!pending.empty()) {
    auto it = std::find_if(pending.begin(), pending.end(), [&](const std::unique_ptr<Node> &n) {
      return std::all_of(n->operands.begin(), n->operands.end(),
                         [&](const Node *op) { return placed.count(op) > 0; });
    });
    if (it == pending.end()) // a cycle: keep the rest as is (the verifier reports it)
      it = pending.begin();
    placed.insert(it->get());
    sorted.push_back(std::move(*it));
    pending.erase(it);
  }
  nodes_ = std::move(sorted);
  renumber();
}

std::unique_ptr<Graph> Graph::clone() const {
  auto g = std::make_unique<Graph>();
  g->modelName = modelName;
  std::unordered_map<const Node *, Node *> map;
  for (const auto &n : nodes_) {
    auto c = std::make_unique<Node>(*n);
    for (Node *&op : c->operands)
      op = map.at(op);
    map[n.get()] = c.get();
    g->nodes_.push_back(std::move(c));
  }
  if (input_)
    g->input_ = map.at(input_);
  if (output_)
    g->output_ = map.at(output_);
  return g;
}

void Graph::renumber() {
  for (size_t i = 0; i < nodes_.size(); ++i)
    nodes_[i]->id = i;
}

} // namespace cnnc::ir
