//===- Graph.h - cnnc's typed tensor graph ---------------------------------===//
//
// The IR that tracing `forward` produces and every later stage consumes: a
// directed acyclic graph of tensor operations with fully static shapes.
// Tensors are float32 in NCHW order (row-major, contiguous); a Reshape is a
// view of its operand's buffer. Nodes are stored in topological order (an
// operand always precedes its users). Parameters are referenced by their
// PyTorch state_dict key; the values live in a weights::WeightSet.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_IR_GRAPH_H
#define CNNC_IR_GRAPH_H

#include "llvm/Support/SMLoc.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cnnc::ir {

using Shape = std::vector<int64_t>;

/// Number of elements of a shape (product of its dimensions).
int64_t numElements(const Shape &s);
/// "1x16x32x32" form used by the printer.
std::string shapeToString(const Shape &s);
/// "[1, 16, 32, 32]" form used in messages (other brackets on request).
std::string shapeToList(const Shape &s, const char *open = "[", const char *close = "]");

enum class OpKind {
  Input,             ///< the model input; no operands
  Conv2d,            ///< operands: x. params: weight [K, C/groups, KH, KW], bias [K]?
  MaxPool2d,         ///< operands: x
  AvgPool2d,         ///< operands: x
  AdaptiveAvgPool2d, ///< operands: x; output H/W in shape
  AdaptiveMaxPool2d, ///< operands: x; output H/W in shape
  BatchNorm2d,       ///< operands: x. params: weight?, bias?, running_mean?, running_var?
  Linear,            ///< operands: x [N, in]. params: weight [out, in], bias [out]?
  Reshape,           ///< operands: x; a no-copy view with this node's shape
  Dropout,           ///< identity at inference
  Identity,          ///< nn.Identity
  // Elementwise unary activations (operands: x).
  Relu, Relu6, LeakyRelu, Elu, Hardtanh, Sigmoid, Tanh, Silu, Hardswish,
  Softmax,    ///< along attr dim
  LogSoftmax, ///< along attr dim
  // Elementwise binary with identical shapes (operands: a, b).
  Add, Mul,
  Concat, ///< operands: any number, joined along attr dim
};

/// Stable lower-case name used in the textual IR ("conv2d", "maxpool2d"...).
const char *opName(OpKind k);
/// Elementwise unary activation (Relu ... Hardswish).
bool isActivation(OpKind k);
/// MaxPool2d or AvgPool2d.
bool isPooling(OpKind k);

struct Param {
  std::string key; ///< state_dict key, e.g. "features.0.weight"
  Shape shape;
};

/// Attributes; each op reads the fields its comment in OpKind implies.
struct Attrs {
  int64_t kernel[2] = {1, 1};   ///< KH, KW (conv, pools)
  int64_t stride[2] = {1, 1};   ///< SH, SW
  int64_t padding[2] = {0, 0};  ///< PH, PW (symmetric; top/left == bottom/right)
  int64_t dilation[2] = {1, 1}; ///< DH, DW (conv, maxpool)
  int64_t groups = 1;           ///< conv
  bool ceilMode = false;        ///< pools
  bool countIncludePad = true;  ///< avgpool
  bool hasBias = false;         ///< conv, linear
  bool affine = true;           ///< batchnorm: weight/bias present
  bool trackRunningStats = true;///< batchnorm: running stats present
  double eps = 1e-5;            ///< batchnorm
  double alpha = 0.0;           ///< leaky_relu slope, elu alpha, hardtanh min
  double beta = 0.0;            ///< hardtanh max
  int64_t dim = 1;              ///< softmax/concat axis (non-negative)
  bool inPlace = false;         ///< concat: producers write into its slices
};

/// One step of a node's fused epilogue (set by the fusion passes). The steps
/// are applied in order to every output value after the op itself and its
/// bias, before the store: an activation (`kind` is Relu, ..., with the
/// activation's alpha/beta), or the addition of another operand of the same
/// shape (`kind` is Add; a residual connection).
struct EpilogueStep {
  OpKind kind = OpKind::Relu;
  double alpha = 0.0, beta = 0.0; ///< activation attributes (see Attrs)
  unsigned operand = 0;           ///< Add: index into Node::operands
  /// MaxPool2d / AvgPool2d (conv only, always the last step): a pooling
  /// with kernel == stride == window, no padding, floor mode; the node's
  /// shape is then the pooled shape (opShape() is the conv's own).
  int64_t window[2] = {1, 1};
  std::string from;               ///< name of the fused node, for messages
};

struct Node {
  unsigned id = 0;                ///< position in Graph::nodes()
  OpKind kind = OpKind::Input;
  std::string name;               ///< PyTorch module path ("features.0"); empty for functional ops
  std::vector<Node *> operands;
  Shape shape;                    ///< output shape
  Attrs attrs;
  std::vector<Param> params;      ///< in the order listed in OpKind's comment
  llvm::SMLoc loc;                ///< the call in forward that created the node
  /// Fused epilogue; its Add steps' operands follow the op's own operands.
  std::vector<EpilogueStep> epilogue;
  /// Layout of the output: 0 is NCHW; B > 0 is channel-blocked, nChw<B>c
  /// ([N][C/B][H][W][B], B the target's vector width), set by the
  /// block-channels pass for 4-D outputs whose C is a multiple of B.
  int64_t channelBlock = 0;

  /// Operands of the op itself (without the epilogue's residual operands).
  size_t numOpOperands() const;
  /// The epilogue's pooling step, or nullptr.
  const EpilogueStep *pooling() const;
  /// The op's own output shape: `shape` unless a pooling step is fused.
  Shape opShape() const;

  /// The param with this suffix ("weight", "bias", ...), or nullptr.
  const Param *param(const std::string &suffix) const;
  /// Number of trainable parameters (weight + bias), like PyTorch's count.
  int64_t numParams() const;
  /// Multiply-accumulates of one forward pass (torchinfo's convention).
  int64_t macs() const;
};

class Graph {
public:
  /// Appends a node; ids are assigned in insertion order.
  Node *addNode(OpKind kind, std::vector<Node *> operands, Shape shape,
                std::string name = "", llvm::SMLoc loc = {});
  const std::vector<std::unique_ptr<Node>> &nodes() const { return nodes_; }
  Node *input() const { return input_; }
  Node *output() const { return output_; }
  void setInput(Node *n) { input_ = n; }
  void setOutput(Node *n) { output_ = n; }
  /// Removes nodes that are not the input and not used by the output.
  void removeDeadNodes();
  /// Replaces every use of `from` with `to` (and the output).
  void replaceAllUses(Node *from, Node *to);
  /// Users of n, in node order.
  std::vector<Node *> users(const Node *n) const;
  /// Reorders the nodes so every operand precedes its users, keeping the
  /// current order where it already does (after a fusion added an operand).
  void sortTopologically();
  /// A deep copy (nodes, names, attributes, epilogues).
  std::unique_ptr<Graph> clone() const;

  std::string modelName; ///< the entry class name

private:
  std::vector<std::unique_ptr<Node>> nodes_;
  Node *input_ = nullptr;
  Node *output_ = nullptr;
  void renumber();
};

} // namespace cnnc::ir

#endif
