//===- Trace.cpp - layer calls and tensor operations recorded as IR -------===//
//
// Shape inference follows PyTorch exactly:
//   conv:  out = floor((W + 2P - D*(F-1) - 1) / S) + 1
//   pool:  the same with ceil instead of floor under ceil_mode, and the last
//          window dropped when it would start in the right padding
//   view:  one -1 inferred, element counts must match
// Every check that fails is reported at the call in forward with notes that
// show the arithmetic and where the offending layer was defined; the result
// is then a tensor without a node: when its shape is still known (a channel
// or feature mismatch does not change the output shape) later layers keep
// checking shapes but emit nothing; when it is unknown (poisoned) they pass
// it through silently. Independent errors are reported in the same run.
//
//===----------------------------------------------------------------------===//
#include "Elaborate/Trace.h"

#include "Elaborate/Layers.h"
#include "IR/ShapeInference.h"

#include <cmath>

namespace cnnc::eval {
namespace {

using ir::OpKind;
using ir::Shape;

std::string shapeStr(const Shape &s) {
  std::string out = "Tensor[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

/// A tensor whose shape is unknown after an error.
ValueRef poison() { return makeTensor(nullptr, {}); }

bool poisoned(const ValueRef &t) { return !t->tensor->node && t->tensor->shape.empty(); }

/// "'features.0'" / "the reshape on line 12" / "the model input": where a
/// tensor came from.
std::string describeProducer(Interpreter &in, OpKind kind, const std::string &name,
                             llvm::SMLoc loc) {
  if (kind == OpKind::Input)
    return "the model input";
  if (!name.empty())
    return "'" + name + "'";
  std::string what = std::string("the ") + ir::opName(kind);
  if (loc.isValid())
    what += " on line " + std::to_string(in.diags.sourceMgr().getLineAndColumn(loc).first);
  return what;
}

std::string producer(Interpreter &in, const TensorData &t) {
  if (t.node)
    return describeProducer(in, t.node->kind, t.node->name, t.node->loc);
  return t.origin.empty() ? "an earlier error" : t.origin;
}

/// The display name of a layer in messages: "Conv2d 'features.0'".
std::string layerName(const std::string &type, const std::string &path) {
  return path.empty() ? type : type + " '" + path + "'";
}

ValueRef emit(Interpreter &in, OpKind kind, std::vector<ir::Node *> operands,
              Shape shape, const std::string &name, llvm::SMLoc loc,
              const ir::Attrs &attrs = {}, std::vector<ir::Param> params = {}) {
  // After an error upstream only the shape is tracked: no node is built.
  for (ir::Node *op : operands)
    if (!op) {
      ValueRef t = makeTensor(nullptr, std::move(shape));
      t->tensor->origin = describeProducer(in, kind, name, loc);
      return t;
    }
  ir::Node *n = in.graph.addNode(kind, std::move(operands), shape, name, loc);
  n->attrs = attrs;
  n->params = std::move(params);
  return makeTensor(n, std::move(shape));
}

/// A layer module's parameters as state_dict keys ("features.0.weight"), in
/// registration order.
std::vector<ir::Param> moduleParams(const ObjectData &obj) {
  std::vector<ir::Param> params;
  for (const auto &name : obj.paramOrder)
    params.push_back({obj.path.empty() ? name : obj.path + "." + name, *obj.params.find(name)});
  return params;
}

/// The result of a layer whose input did not fit: the shape is known, the
/// node is not built.
ValueRef unbuilt(Interpreter &in, OpKind kind, const std::string &name, llvm::SMLoc loc,
                 Shape shape) {
  ValueRef t = makeTensor(nullptr, std::move(shape));
  t->tensor->origin = describeProducer(in, kind, name, loc);
  return t;
}

/// Checks that argument i is a tensor.
ValueRef tensorArg(Interpreter &in, const ValueRef &v, llvm::SMLoc loc,
                   const std::string &what) {
  if (v->kind != ValueKind::Tensor)
    in.fail(loc, what + " expects a Tensor, got " + typeName(*v) + " " + repr(*v));
  return v;
}

/// Python-style binding for functional operations: names[0] is the tensor.
std::vector<ValueRef> bindFn(Interpreter &in, const std::string &fname,
                             const std::vector<std::pair<const char *, const char *>> &params,
                             CallArgs &a, std::vector<llvm::SMLoc> *locs = nullptr) {
  std::vector<ValueRef> vals(params.size());
  std::vector<llvm::SMLoc> l(params.size(), a.callLoc);
  if (a.positional.size() > params.size())
    in.fail(a.positionalLocs[params.size()],
            fname + "() takes at most " + llvm::Twine(params.size()) + " arguments (" +
                llvm::Twine(a.positional.size()) + " given)");
  for (size_t i = 0; i < a.positional.size(); ++i) {
    vals[i] = a.positional[i];
    l[i] = a.positionalLocs[i];
  }
  for (size_t k = 0; k < a.keywords.size(); ++k) {
    size_t i = 0;
    while (i < params.size() && a.keywords[k].first != params[i].first)
      ++i;
    if (i == params.size()) {
      std::vector<std::string> names;
      for (auto &p : params)
        names.push_back(p.first);
      std::string hint = didYouMean(a.keywords[k].first, names);
      in.fail(a.keywordLocs[k], fname + "() got an unexpected keyword argument '" +
                                    a.keywords[k].first + "'" +
                                    (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
    }
    if (vals[i])
      in.fail(a.keywordLocs[k], fname + "() got multiple values for argument '" +
                                    a.keywords[k].first + "'");
    vals[i] = a.keywords[k].second;
    l[i] = a.keywordLocs[k];
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (vals[i])
      continue;
    const char *d = params[i].second;
    if (!d)
      in.fail(a.callLoc, fname + "() missing required argument '" +
                             std::string(params[i].first) + "'");
    std::string s = d;
    if (s == "None") vals[i] = makeNone();
    else if (s == "True" || s == "False") vals[i] = makeBool(s == "True");
    else if (s.find_first_of(".e") != std::string::npos) vals[i] = makeFloat(std::stod(s));
    else vals[i] = makeInt(std::stoll(s));
  }
  if (locs)
    *locs = l;
  return vals;
}

double toDouble(Interpreter &in, const ValueRef &v, llvm::SMLoc loc, const std::string &what) {
  if (v->kind == ValueKind::Float)
    return v->f;
  if (v->kind == ValueKind::Int || v->kind == ValueKind::Bool)
    return (double)v->i;
  in.fail(loc, what + " must be a number, not " + typeName(*v));
}

int64_t toInt(Interpreter &in, const ValueRef &v, llvm::SMLoc loc, const std::string &what) {
  if (v->kind == ValueKind::Int || v->kind == ValueKind::Bool)
    return v->i;
  in.fail(loc, what + " must be an int, not " + typeName(*v) + " " + repr(*v));
}

void toPair(Interpreter &in, const ValueRef &v, llvm::SMLoc loc, const std::string &what,
            int64_t out[2]) {
  bool ok = v->kind == ValueKind::Int ||
            ((v->kind == ValueKind::Tuple || v->kind == ValueKind::List) &&
             v->items.size() == 2 && v->items[0]->kind == ValueKind::Int &&
             v->items[1]->kind == ValueKind::Int);
  if (!ok)
    in.fail(loc, what + " must be an int or a tuple of 2 ints, not " + repr(*v));
  intPair(*v, out);
}

/// Requires a 4-D tensor for 2-D layers.
bool require4D(Interpreter &in, const ValueRef &x, const std::string &what,
               llvm::SMLoc loc) {
  if (poisoned(x))
    return false;
  if (x->tensor->shape.size() != 4) {
    in.diags.error(loc, what + " expects a 4-D input [N, C, H, W], got " +
                            shapeStr(x->tensor->shape) + " from " +
                            producer(in, *x->tensor));
    return false;
  }
  return true;
}

/// Output size of a sliding window along one dimension, or diagnostics: the
/// error at the call, the arithmetic in a note at the layer's definition
/// (defLoc; none for functional calls).
bool windowDim(Interpreter &in, const std::string &what, const char *dimName,
               const ValueRef &x, int64_t w, int64_t k, int64_t s, int64_t p, int64_t d,
               bool ceil, llvm::SMLoc loc, llvm::SMLoc defLoc, int64_t &out) {
  out = ir::slidingWindowOutput(w, k, s, p, d, ceil);
  if (out > 0)
    return true;
  in.diags.error(loc, "output " + std::string(dimName) + " of " + what + " would be " +
                          std::to_string(out) + ": its input " + shapeStr(x->tensor->shape) +
                          " from " + producer(in, *x->tensor) +
                          " is too small for the window");
  std::string eff = d == 1 ? std::to_string(k)
                           : std::to_string(d) + "×(" + std::to_string(k) + " - 1) + 1";
  std::string formula = std::string(dimName) + ": " + (ceil ? "ceil" : "floor") + "((" +
                        std::to_string(w) + " - " + eff + " + 2×" + std::to_string(p) +
                        ") / " + std::to_string(s) + ") + 1 = " + std::to_string(out) +
                        "   [(W - F + 2P) / S + 1]";
  if (defLoc.isValid())
    in.diags.note(defLoc, formula);
  else
    in.diags.note(formula);
  return false;
}

// ------------------------------------------------------------------ conv

ValueRef conv2d(Interpreter &in, const ObjectData &obj, const ValueRef &x,
                llvm::SMLoc loc) {
  const auto &cfg = obj.layer->config;
  std::string what = layerName("Conv2d", obj.path);
  if (!require4D(in, x, what, loc))
    return poison();
  const Shape &s = x->tensor->shape;
  int64_t inC = (*cfg.find("in_channels"))->i, outC = (*cfg.find("out_channels"))->i;
  ir::Attrs at;
  intPair(**cfg.find("kernel_size"), at.kernel);
  intPair(**cfg.find("stride"), at.stride);
  intPair(**cfg.find("dilation"), at.dilation);
  at.groups = (*cfg.find("groups"))->i;
  at.hasBias = (*cfg.find("bias"))->i != 0;
  const Value &pad = **cfg.find("padding");
  if (pad.kind == ValueKind::Str) {
    for (int i = 0; i < 2; ++i)
      at.padding[i] = pad.s == "same" ? at.dilation[i] * (at.kernel[i] - 1) / 2 : 0;
  } else {
    intPair(pad, at.padding);
  }
  bool ok = true;
  if (s[1] != inC) {
    in.diags.error(loc, what + " expects " + std::to_string(inC) +
                            " input channels, got " + std::to_string(s[1]) + " from " +
                            producer(in, *x->tensor));
    in.diags.note(obj.layer->loc, "'" + obj.path + "' is defined here with in_channels=" +
                                      std::to_string(inC));
    ok = false; // keep going: the output shape does not depend on it
  }
  int64_t oh, ow;
  bool okH = windowDim(in, what, "height", x, s[2], at.kernel[0], at.stride[0],
                       at.padding[0], at.dilation[0], false, loc, obj.layer->loc, oh);
  bool okW = okH && windowDim(in, what, "width", x, s[3], at.kernel[1], at.stride[1],
                              at.padding[1], at.dilation[1], false, loc, obj.layer->loc, ow);
  if (!okH || !okW)
    return poison();
  Shape out{s[0], outC, oh, ow};
  if (!ok)
    return unbuilt(in, OpKind::Conv2d, obj.path, loc, out);
  return emit(in, OpKind::Conv2d, {x->tensor->node}, out, obj.path, loc, at, moduleParams(obj));
}

// ------------------------------------------------------------------ pools

struct PoolArgs {
  int64_t k[2], s[2], p[2], d[2] = {1, 1};
  bool ceil = false, countIncludePad = true;
};

ValueRef pool2d(Interpreter &in, OpKind kind, const std::string &what,
                const std::string &name, const ValueRef &x, const PoolArgs &pa,
                llvm::SMLoc loc, llvm::SMLoc defLoc = {}) {
  if (!require4D(in, x, what, loc))
    return poison();
  const Shape &s = x->tensor->shape;
  int64_t oh, ow;
  if (!windowDim(in, what, "height", x, s[2], pa.k[0], pa.s[0], pa.p[0], pa.d[0], pa.ceil,
                 loc, defLoc, oh) ||
      !windowDim(in, what, "width", x, s[3], pa.k[1], pa.s[1], pa.p[1], pa.d[1], pa.ceil,
                 loc, defLoc, ow))
    return poison();
  ir::Attrs at;
  for (int i = 0; i < 2; ++i) {
    at.kernel[i] = pa.k[i];
    at.stride[i] = pa.s[i];
    at.padding[i] = pa.p[i];
    at.dilation[i] = pa.d[i];
  }
  at.ceilMode = pa.ceil;
  at.countIncludePad = pa.countIncludePad;
  return emit(in, kind, {x->tensor->node}, {s[0], s[1], oh, ow}, name, loc, at);
}

ValueRef adaptivePool(Interpreter &in, OpKind kind, const std::string &what,
                      const std::string &name, const ValueRef &x, const Value &outSize,
                      llvm::SMLoc loc) {
  if (!require4D(in, x, what, loc))
    return poison();
  const Shape &s = x->tensor->shape;
  int64_t o[2];
  for (int i = 0; i < 2; ++i) {
    const Value &v = (outSize.kind == ValueKind::Tuple || outSize.kind == ValueKind::List)
                         ? *outSize.items[i]
                         : outSize;
    o[i] = v.kind == ValueKind::None ? s[2 + i] : v.i;
    if (o[i] <= 0)
      in.fail(loc, what + " output_size must be positive");
  }
  return emit(in, kind, {x->tensor->node}, {s[0], s[1], o[0], o[1]}, name, loc);
}

// ------------------------------------------------------- unary / reshape

ValueRef unary(Interpreter &in, OpKind kind, const std::string &name, const ValueRef &x,
               llvm::SMLoc loc, double alpha = 0, double beta = 0, int64_t dim = 1) {
  if (poisoned(x))
    return x;
  ir::Attrs at;
  at.alpha = alpha;
  at.beta = beta;
  at.dim = dim;
  ValueRef r = emit(in, kind, {x->tensor->node}, x->tensor->shape, name, loc, at);
  r->tensor->flattenNote = x->tensor->flattenNote;
  r->tensor->flattenLoc = x->tensor->flattenLoc;
  return r;
}

int64_t normDim(Interpreter &in, int64_t dim, size_t rank, llvm::SMLoc loc) {
  int64_t r = rank;
  if (dim < -r || dim >= r)
    in.fail(loc, "dimension out of range (expected to be in range of [" +
                     std::to_string(-r) + ", " + std::to_string(r - 1) + "], but got " +
                     std::to_string(dim) + ")");
  return dim < 0 ? dim + r : dim;
}

ValueRef softmax(Interpreter &in, OpKind kind, const std::string &name, const ValueRef &x,
                 const ValueRef &dimV, llvm::SMLoc loc) {
  if (poisoned(x))
    return x;
  size_t rank = x->tensor->shape.size();
  int64_t dim;
  if (dimV->kind == ValueKind::None) {
    // PyTorch's implicit choice (_get_softmax_dim), with its warning.
    dim = (rank == 0 || rank == 1 || rank == 3) ? 0 : 1;
    in.diags.warning(loc, "implicit dimension choice for softmax is deprecated; "
                          "using dim=" + std::to_string(dim) + " as PyTorch does");
  } else {
    dim = normDim(in, toInt(in, dimV, loc, "dim"), rank, loc);
  }
  return unary(in, kind, name, x, loc, 0, 0, dim);
}

/// Builds a Reshape node (a view) with a flattening note for diagnostics.
ValueRef reshape(Interpreter &in, const ValueRef &x, const Shape &out,
                 const std::string &name, llvm::SMLoc loc, size_t mergedFrom,
                 size_t mergedTo) {
  ValueRef r = emit(in, OpKind::Reshape, {x->tensor->node}, out, name, loc);
  const Shape &s = x->tensor->shape;
  if (mergedTo > mergedFrom + 1) {
    std::string note;
    int64_t prod = 1;
    for (size_t i = mergedFrom; i < mergedTo; ++i) {
      note += (i > mergedFrom ? " × " : "") + std::to_string(s[i]);
      prod *= s[i];
    }
    r->tensor->flattenNote = note + " = " + std::to_string(prod) + " features (" +
                             shapeStr(s) + " of " + producer(in, *x->tensor) +
                             " flattened here)";
    r->tensor->flattenLoc = loc;
  }
  return r;
}

ValueRef flatten(Interpreter &in, const ValueRef &x, int64_t start, int64_t end,
                 const std::string &name, llvm::SMLoc loc) {
  if (poisoned(x))
    return x;
  const Shape &s = x->tensor->shape;
  if (s.empty())
    return x;
  int64_t a = normDim(in, start, s.size(), loc), b = normDim(in, end, s.size(), loc);
  if (a > b)
    in.fail(loc, "flatten() has invalid args: start_dim cannot come after end_dim");
  Shape out(s.begin(), s.begin() + a);
  int64_t prod = 1;
  for (int64_t i = a; i <= b; ++i)
    prod *= s[i];
  out.push_back(prod);
  out.insert(out.end(), s.begin() + b + 1, s.end());
  return reshape(in, x, out, name, loc, a, b + 1);
}

ValueRef view(Interpreter &in, const ValueRef &x, const std::vector<ValueRef> &dims,
              const std::vector<llvm::SMLoc> &locs, llvm::SMLoc loc, const char *method) {
  std::vector<ValueRef> items = dims;
  if (items.size() == 1 && (items[0]->kind == ValueKind::Tuple ||
                            items[0]->kind == ValueKind::List))
    items = items[0]->items;
  Shape want;
  int inferAt = -1;
  std::string spelled = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    int64_t d = toInt(in, items[i], i < locs.size() ? locs[i] : loc,
                      std::string(method) + "() size");
    spelled += (i ? ", " : "") + std::to_string(d);
    if (d == -1) {
      if (inferAt >= 0)
        in.fail(loc, std::string(method) + "(): only one dimension can be inferred");
      inferAt = i;
    } else if (d < 0) {
      in.fail(loc, std::string(method) + "(): invalid shape dimension " + std::to_string(d));
    }
    want.push_back(d);
  }
  spelled += "]";
  if (poisoned(x))
    return x;
  const Shape &s = x->tensor->shape;
  int64_t total = ir::numElements(s), known = 1;
  for (int64_t d : want)
    if (d != -1)
      known *= d;
  bool ok = inferAt >= 0 ? (known != 0 && total % known == 0) : known == total;
  if (!ok) {
    in.diags.error(loc, "shape '" + spelled + "' is invalid for input of size " +
                            std::to_string(total) + " (" + shapeStr(s) + " from " +
                            producer(in, *x->tensor) + ")");
    std::string prod;
    for (size_t i = 0; i < s.size(); ++i)
      prod += (i ? " × " : "") + std::to_string(s[i]);
    in.diags.note(llvm::SMLoc(), prod + " = " + std::to_string(total) +
                                     (inferAt >= 0 ? " is not a multiple of " +
                                                         std::to_string(known)
                                                   : " elements, but the new shape has " +
                                                         std::to_string(known)));
    return poison();
  }
  if (inferAt >= 0)
    want[inferAt] = total / known;
  if (inferAt == 0 && !s.empty() && want[0] != s[0])
    in.diags.warning(loc, std::string(method) + "(" + spelled.substr(1, spelled.size() - 2) +
                              ") turns the batch of " + std::to_string(s[0]) + " into " +
                              std::to_string(want[0]) + "; did you mean " + method +
                              "(x.size(0), -1)?");
  // Describe which input dims were merged into the last output dim.
  size_t from = 0;
  if (!want.empty()) {
    int64_t acc = 1;
    size_t i = s.size();
    while (i > 0 && acc < want.back()) {
      acc *= s[--i];
    }
    from = acc == want.back() ? i : s.size();
  }
  return reshape(in, x, want, "", loc, from, s.size());
}

ValueRef concat(Interpreter &in, const std::vector<ValueRef> &ts, int64_t dimIn,
                llvm::SMLoc loc) {
  if (ts.empty())
    in.fail(loc, "torch.cat() expects a non-empty list of tensors");
  for (auto &t : ts)
    if (poisoned(t))
      return poison();
  const Shape &s0 = ts[0]->tensor->shape;
  int64_t dim = normDim(in, dimIn, s0.size(), loc);
  Shape out = s0;
  out[dim] = 0;
  std::vector<ir::Node *> ops;
  for (size_t k = 0; k < ts.size(); ++k) {
    const Shape &s = ts[k]->tensor->shape;
    bool ok = s.size() == s0.size();
    for (size_t i = 0; ok && i < s.size(); ++i)
      ok = (int64_t)i == dim || s[i] == s0[i];
    if (!ok) {
      in.diags.error(loc, "torch.cat(): sizes of tensors must match except in dimension " +
                              std::to_string(dim) + ": tensor 0 is " + shapeStr(s0) +
                              " but tensor " + std::to_string(k) + " is " + shapeStr(s));
      return poison();
    }
    out[dim] += s[dim];
    ops.push_back(ts[k]->tensor->node);
  }
  ir::Attrs at;
  at.dim = dim;
  return emit(in, OpKind::Concat, ops, out, "", loc, at);
}

// ----------------------------------------------------------------- linear

ValueRef linear(Interpreter &in, const ObjectData &obj, const ValueRef &x, llvm::SMLoc loc) {
  if (poisoned(x))
    return x;
  const auto &cfg = obj.layer->config;
  std::string what = layerName("Linear", obj.path);
  int64_t inF = (*cfg.find("in_features"))->i, outF = (*cfg.find("out_features"))->i;
  const Shape &s = x->tensor->shape;
  if (s.size() != 2) {
    in.diags.error(loc, what + " expects a 2-D input [N, features], got " + shapeStr(s) +
                            " from " + producer(in, *x->tensor) +
                            "; flatten it first, e.g. torch.flatten(x, 1)");
    return poison();
  }
  if (s[1] != inF) {
    in.diags.error(loc, what + " expects " + std::to_string(inF) +
                            " input features, got " + std::to_string(s[1]) + " from " +
                            producer(in, *x->tensor));
    if (!x->tensor->flattenNote.empty())
      in.diags.note(x->tensor->flattenLoc, x->tensor->flattenNote + " reach '" + obj.path + "'");
    in.diags.note(obj.layer->loc, "'" + obj.path + "' is defined here with in_features=" +
                                      std::to_string(inF));
    return unbuilt(in, OpKind::Linear, obj.path, loc, {s[0], outF});
  }
  ir::Attrs at;
  at.hasBias = (*cfg.find("bias"))->i != 0;
  return emit(in, OpKind::Linear, {x->tensor->node}, {s[0], outF}, obj.path, loc, at, moduleParams(obj));
}

ValueRef batchNorm(Interpreter &in, const ObjectData &obj, const ValueRef &x,
                   llvm::SMLoc loc) {
  const auto &cfg = obj.layer->config;
  std::string what = layerName("BatchNorm2d", obj.path);
  if (!require4D(in, x, what, loc))
    return poison();
  int64_t n = (*cfg.find("num_features"))->i;
  const Shape &s = x->tensor->shape;
  if (s[1] != n) {
    in.diags.error(loc, what + " expects " + std::to_string(n) + " channels, got " +
                            std::to_string(s[1]) + " from " + producer(in, *x->tensor));
    in.diags.note(obj.layer->loc, "'" + obj.path + "' is defined here with num_features=" +
                                      std::to_string(n));
    return unbuilt(in, OpKind::BatchNorm2d, obj.path, loc, s);
  }
  ir::Attrs at;
  const Value &eps = **cfg.find("eps");
  at.eps = eps.kind == ValueKind::Float ? eps.f : (double)eps.i;
  at.affine = (*cfg.find("affine"))->i != 0;
  at.trackRunningStats = true;
  return emit(in, OpKind::BatchNorm2d, {x->tensor->node}, s, obj.path, loc, at, moduleParams(obj));
}

double cfgNum(const OrderedMap<ValueRef> &cfg, const char *k) {
  const Value &v = **cfg.find(k);
  return v.kind == ValueKind::Float ? v.f : (double)v.i;
}

PoolArgs poolArgsFromConfig(const OrderedMap<ValueRef> &cfg, bool isMax) {
  PoolArgs pa;
  intPair(**cfg.find("kernel_size"), pa.k);
  const Value &st = **cfg.find("stride");
  if (st.kind == ValueKind::None) {
    pa.s[0] = pa.k[0];
    pa.s[1] = pa.k[1];
  } else {
    intPair(st, pa.s);
  }
  intPair(**cfg.find("padding"), pa.p);
  if (isMax)
    intPair(**cfg.find("dilation"), pa.d);
  pa.ceil = (*cfg.find("ceil_mode"))->i != 0;
  if (!isMax)
    pa.countIncludePad = (*cfg.find("count_include_pad"))->i != 0;
  return pa;
}

} // namespace

// ------------------------------------------------------------ layer calls

ValueRef traceLayer(Interpreter &in, const ValueRef &module, CallArgs &args) {
  const ObjectData &obj = *module->obj;
  std::string type = obj.layer ? obj.layer->type : "Module";
  if (type == "Sequential") {
    if (args.positional.size() != 1 || !args.keywords.empty())
      in.fail(args.callLoc, "nn.Sequential takes exactly one input");
    ValueRef x = args.positional[0];
    for (auto &kv : obj.modules.items()) {
      if (kv.second->kind == ValueKind::None)
        continue;
      CallArgs sub;
      sub.positional = {x};
      sub.positionalLocs = {args.callLoc};
      sub.callLoc = args.callLoc;
      sub.callRange = args.callRange;
      x = in.callModule(kv.second, sub);
    }
    return x;
  }
  std::string what = layerName(type, obj.path);
  if (type == "ModuleList" || type == "Module")
    in.fail(args.callLoc, what + " has no forward and cannot be called");
  if (type == "Identity")
    return args.positional.empty() ? makeNone() : args.positional[0];
  if (args.positional.size() != 1 || !args.keywords.empty())
    in.fail(args.callLoc, what + " takes exactly one tensor argument");
  ValueRef x = tensorArg(in, args.positional[0], args.positionalLocs[0], what);
  llvm::SMLoc loc = args.callLoc;
  const auto &cfg = obj.layer->config;
  if (type == "Conv2d")
    return conv2d(in, obj, x, loc);
  if (type == "Linear")
    return linear(in, obj, x, loc);
  if (type == "BatchNorm2d")
    return batchNorm(in, obj, x, loc);
  if (type == "MaxPool2d")
    return pool2d(in, OpKind::MaxPool2d, what, obj.path, x, poolArgsFromConfig(cfg, true), loc,
                  obj.layer->loc);
  if (type == "AvgPool2d")
    return pool2d(in, OpKind::AvgPool2d, what, obj.path, x, poolArgsFromConfig(cfg, false), loc,
                  obj.layer->loc);
  if (type == "AdaptiveAvgPool2d" || type == "AdaptiveMaxPool2d")
    return adaptivePool(in, type == "AdaptiveAvgPool2d" ? OpKind::AdaptiveAvgPool2d
                                                       : OpKind::AdaptiveMaxPool2d,
                        what, obj.path, x, **cfg.find("output_size"), loc);
  if (type == "ReLU")
    return unary(in, OpKind::Relu, obj.path, x, loc);
  if (type == "ReLU6")
    return unary(in, OpKind::Relu6, obj.path, x, loc);
  if (type == "LeakyReLU")
    return unary(in, OpKind::LeakyRelu, obj.path, x, loc, cfgNum(cfg, "negative_slope"));
  if (type == "ELU")
    return unary(in, OpKind::Elu, obj.path, x, loc, cfgNum(cfg, "alpha"));
  if (type == "Hardtanh")
    return unary(in, OpKind::Hardtanh, obj.path, x, loc, cfgNum(cfg, "min_val"),
                 cfgNum(cfg, "max_val"));
  if (type == "Sigmoid")
    return unary(in, OpKind::Sigmoid, obj.path, x, loc);
  if (type == "Tanh")
    return unary(in, OpKind::Tanh, obj.path, x, loc);
  if (type == "SiLU")
    return unary(in, OpKind::Silu, obj.path, x, loc);
  if (type == "Hardswish")
    return unary(in, OpKind::Hardswish, obj.path, x, loc);
  if (type == "Softmax" || type == "LogSoftmax")
    return softmax(in, type == "Softmax" ? OpKind::Softmax : OpKind::LogSoftmax, obj.path, x,
                   *cfg.find("dim"), loc);
  if (type == "Dropout" || type == "Dropout2d")
    return unary(in, OpKind::Dropout, obj.path, x, loc);
  if (type == "Flatten") {
    if (poisoned(x))
      return x;
    return flatten(in, x, (*cfg.find("start_dim"))->i, (*cfg.find("end_dim"))->i, obj.path,
                   loc);
  }
  in.fail(loc, "calling " + what + " is not supported");
}

ValueRef traceBinary(Interpreter &in, const std::string &op, const ValueRef &a,
                     const ValueRef &b, llvm::SMLoc loc) {
  if (a->kind != ValueKind::Tensor || b->kind != ValueKind::Tensor)
    in.fail(loc, "'" + op + "' between a tensor and " +
                     typeName(a->kind == ValueKind::Tensor ? *b : *a) +
                     " is not supported in .cnn files");
  if (op != "+" && op != "*")
    in.fail(loc, "tensor operator '" + op + "' is not supported in .cnn files "
                 "(supported: +, *)");
  if (poisoned(a) || poisoned(b))
    return poison();
  const Shape &sa = a->tensor->shape, &sb = b->tensor->shape;
  if (sa != sb) {
    size_t n = std::max(sa.size(), sb.size());
    for (size_t i = 0; i < n; ++i) {
      int64_t da = i < n - sa.size() ? 1 : sa[i - (n - sa.size())];
      int64_t db = i < n - sb.size() ? 1 : sb[i - (n - sb.size())];
      if (da != db && da != 1 && db != 1) {
        in.diags.error(loc, "the size of tensor a (" + std::to_string(da) +
                                ") must match the size of tensor b (" + std::to_string(db) +
                                ") at dimension " + std::to_string(i) + ": " +
                                shapeStr(sa) + " from " + producer(in, *a->tensor) +
                                " and " + shapeStr(sb) + " from " +
                                producer(in, *b->tensor));
        return poison();
      }
    }
    in.fail(loc, "broadcasting " + shapeStr(sa) + " with " + shapeStr(sb) +
                     " is not supported in .cnn files; the shapes must be equal");
  }
  return emit(in, op == "+" ? OpKind::Add : OpKind::Mul,
              {a->tensor->node, b->tensor->node}, sa, "", loc);
}

// ------------------------------------------------------- tensor methods

ValueRef tensorAttribute(Interpreter &in, const ValueRef &t, const std::string &name,
                         llvm::SMLoc loc) {
  auto method = [&](BuiltinFn fn) { return makeBuiltin(name, std::move(fn)); };
  const Shape &s = t->tensor->shape;
  if (name == "shape") {
    if (poisoned(t))
      in.fail(loc, "the shape of this tensor is unknown after the error above");
    std::vector<ValueRef> dims;
    for (int64_t d : s)
      dims.push_back(makeInt(d));
    return makeTuple(dims);
  }
  if (name == "size")
    return method([t](Interpreter &in, CallArgs &a) -> ValueRef {
      if (poisoned(t))
        in.fail(a.callLoc, "the shape of this tensor is unknown after the error above");
      const Shape &s = t->tensor->shape;
      auto v = bindFn(in, "size", {{"dim", "None"}}, a);
      if (v[0]->kind == ValueKind::None) {
        std::vector<ValueRef> dims;
        for (int64_t d : s)
          dims.push_back(makeInt(d));
        return makeTuple(dims);
      }
      return makeInt(s[normDim(in, toInt(in, v[0], a.callLoc, "dim"), s.size(), a.callLoc)]);
    });
  if (name == "dim" || name == "ndimension")
    return method([t](Interpreter &, CallArgs &) {
      return makeInt(t->tensor->shape.size());
    });
  if (name == "numel")
    return method([t](Interpreter &, CallArgs &) {
      return makeInt(ir::numElements(t->tensor->shape));
    });
  if (name == "view" || name == "reshape")
    return method([t, name](Interpreter &in, CallArgs &a) {
      if (!a.keywords.empty() && a.keywords[0].first != "shape")
        in.fail(a.keywordLocs[0], name + "() got an unexpected keyword argument '" +
                                      a.keywords[0].first + "'");
      std::vector<ValueRef> dims = a.positional;
      std::vector<llvm::SMLoc> locs = a.positionalLocs;
      for (size_t k = 0; k < a.keywords.size(); ++k) {
        dims.push_back(a.keywords[k].second);
        locs.push_back(a.keywordLocs[k]);
      }
      return view(in, t, dims, locs, a.callLoc, name.c_str());
    });
  if (name == "flatten")
    return method([t](Interpreter &in, CallArgs &a) {
      auto v = bindFn(in, "flatten", {{"start_dim", "0"}, {"end_dim", "-1"}}, a);
      return flatten(in, t, toInt(in, v[0], a.callLoc, "start_dim"),
                     toInt(in, v[1], a.callLoc, "end_dim"), "", a.callLoc);
    });
  if (name == "contiguous" || name == "float")
    return method([t](Interpreter &, CallArgs &) { return t; });
  struct U { const char *n; OpKind k; };
  for (U u : {U{"relu", OpKind::Relu}, U{"sigmoid", OpKind::Sigmoid}, U{"tanh", OpKind::Tanh},
              U{"relu_", OpKind::Relu}, U{"sigmoid_", OpKind::Sigmoid}})
    if (name == u.n) {
      OpKind k = u.k;
      return method([t, k, name](Interpreter &in, CallArgs &a) {
        bindFn(in, name, {}, a);
        return unary(in, k, "", t, a.callLoc);
      });
    }
  if (name == "softmax" || name == "log_softmax")
    return method([t, name](Interpreter &in, CallArgs &a) {
      auto v = bindFn(in, name, {{"dim", nullptr}}, a);
      return softmax(in, name == "softmax" ? OpKind::Softmax : OpKind::LogSoftmax, "", t,
                     v[0], a.callLoc);
    });
  if (name == "add" || name == "mul")
    return method([t, name](Interpreter &in, CallArgs &a) {
      auto v = bindFn(in, name, {{"other", nullptr}}, a);
      return traceBinary(in, name == "add" ? "+" : "*", t, v[0], a.callLoc);
    });
  in.fail(loc, "'Tensor." + name + "' is not supported in .cnn files");
}

// ------------------------------------------------------ functional forms

void addFunctionalOps(Interpreter &interp, OrderedMap<ValueRef> &torch,
                      OrderedMap<ValueRef> &F) {
  (void)interp;
  auto both = [&](const char *name, BuiltinFn fn, bool inTorch, bool inF) {
    if (inTorch)
      torch.set(name, makeBuiltin(std::string("torch.") + name, fn));
    if (inF)
      F.set(name, makeBuiltin(std::string("F.") + name, fn));
  };
  struct Act {
    const char *name;
    OpKind kind;
    std::vector<std::pair<const char *, const char *>> params;
    bool inTorch, inF;
  };
  std::vector<Act> acts = {
      {"relu", OpKind::Relu, {{"input", nullptr}, {"inplace", "False"}}, true, true},
      {"relu_", OpKind::Relu, {{"input", nullptr}}, true, true},
      {"relu6", OpKind::Relu6, {{"input", nullptr}, {"inplace", "False"}}, false, true},
      {"leaky_relu", OpKind::LeakyRelu,
       {{"input", nullptr}, {"negative_slope", "0.01"}, {"inplace", "False"}}, false, true},
      {"elu", OpKind::Elu, {{"input", nullptr}, {"alpha", "1.0"}, {"inplace", "False"}},
       false, true},
      {"hardtanh", OpKind::Hardtanh,
       {{"input", nullptr}, {"min_val", "-1.0"}, {"max_val", "1.0"}, {"inplace", "False"}},
       false, true},
      {"sigmoid", OpKind::Sigmoid, {{"input", nullptr}}, true, true},
      {"tanh", OpKind::Tanh, {{"input", nullptr}}, true, true},
      {"silu", OpKind::Silu, {{"input", nullptr}, {"inplace", "False"}}, false, true},
      {"hardswish", OpKind::Hardswish, {{"input", nullptr}, {"inplace", "False"}}, false, true},
  };
  for (const Act &act : acts) {
    Act a = act;
    both(a.name, [a](Interpreter &in, CallArgs &args) {
      std::string fname = a.name;
      auto v = bindFn(in, fname, a.params, args);
      ValueRef x = tensorArg(in, v[0], args.callLoc, fname + "()");
      double alpha = 0, beta = 0;
      if (a.kind == OpKind::LeakyRelu || a.kind == OpKind::Elu)
        alpha = toDouble(in, v[1], args.callLoc, a.params[1].first);
      if (a.kind == OpKind::Hardtanh) {
        alpha = toDouble(in, v[1], args.callLoc, "min_val");
        beta = toDouble(in, v[2], args.callLoc, "max_val");
      }
      return unary(in, a.kind, "", x, args.callLoc, alpha, beta);
    }, a.inTorch, a.inF);
  }
  for (const char *sm : {"softmax", "log_softmax"}) {
    std::string name = sm;
    both(sm, [name](Interpreter &in, CallArgs &a) {
      auto v = bindFn(in, name, {{"input", nullptr}, {"dim", "None"}, {"_stacklevel", "3"},
                                 {"dtype", "None"}}, a);
      ValueRef x = tensorArg(in, v[0], a.callLoc, name + "()");
      return softmax(in, name == "softmax" ? OpKind::Softmax : OpKind::LogSoftmax, "", x,
                     v[1], a.callLoc);
    }, true, true);
  }
  for (const char *dp : {"dropout", "dropout2d"}) {
    std::string name = dp;
    both(dp, [name](Interpreter &in, CallArgs &a) {
      auto v = bindFn(in, name, {{"input", nullptr}, {"p", "0.5"}, {"training", "True"},
                                 {"inplace", "False"}}, a);
      ValueRef x = tensorArg(in, v[0], a.callLoc, name + "()");
      if (in.truthy(*v[2], a.callLoc))
        in.diags.warning(a.callLoc, "F." + name + "() defaults to training=True and drops "
                                    "values even in eval mode in PyTorch; cnnc compiles it "
                                    "as identity (pass training=self.training)");
      return unary(in, OpKind::Dropout, "", x, a.callLoc);
    }, false, true);
  }
  for (const char *mp : {"max_pool2d", "avg_pool2d"}) {
    bool isMax = std::string(mp) == "max_pool2d";
    std::string name = mp;
    both(mp, [isMax, name](Interpreter &in, CallArgs &a) {
      std::vector<llvm::SMLoc> locs;
      auto v = isMax ? bindFn(in, name, {{"input", nullptr}, {"kernel_size", nullptr},
                                         {"stride", "None"}, {"padding", "0"},
                                         {"dilation", "1"}, {"ceil_mode", "False"},
                                         {"return_indices", "False"}}, a, &locs)
                     : bindFn(in, name, {{"input", nullptr}, {"kernel_size", nullptr},
                                         {"stride", "None"}, {"padding", "0"},
                                         {"ceil_mode", "False"}, {"count_include_pad", "True"},
                                         {"divisor_override", "None"}}, a, &locs);
      ValueRef x = tensorArg(in, v[0], a.callLoc, "F." + name + "()");
      PoolArgs pa;
      toPair(in, v[1], locs[1], "kernel_size", pa.k);
      if (v[2]->kind == ValueKind::None || (v[2]->kind == ValueKind::List && v[2]->items.empty())) {
        pa.s[0] = pa.k[0];
        pa.s[1] = pa.k[1];
      } else {
        toPair(in, v[2], locs[2], "stride", pa.s);
      }
      toPair(in, v[3], locs[3], "padding", pa.p);
      if (isMax) {
        toPair(in, v[4], locs[4], "dilation", pa.d);
        pa.ceil = in.truthy(*v[5], locs[5]);
        if (in.truthy(*v[6], locs[6]))
          in.fail(locs[6], "F.max_pool2d(return_indices=True) is not supported in .cnn files");
      } else {
        pa.ceil = in.truthy(*v[4], locs[4]);
        pa.countIncludePad = in.truthy(*v[5], locs[5]);
        if (v[6]->kind != ValueKind::None)
          in.fail(locs[6], "F.avg_pool2d(divisor_override=...) is not supported in .cnn files");
      }
      for (int i = 0; i < 2; ++i) {
        if (pa.k[i] <= 0 || pa.s[i] <= 0 || pa.d[i] <= 0)
          in.fail(a.callLoc, "F." + name + "(): kernel_size, stride and dilation must be positive");
        if (pa.p[i] < 0 || pa.p[i] * 2 > pa.k[i])
          in.fail(locs[3], "F." + name + "(): padding should be at most half of the kernel size");
      }
      return pool2d(in, isMax ? OpKind::MaxPool2d : OpKind::AvgPool2d, "F." + name + "()", "",
                    x, pa, a.callLoc);
    }, false, true);
  }
  for (const char *ap : {"adaptive_avg_pool2d", "adaptive_max_pool2d"}) {
    bool isMax = std::string(ap) == "adaptive_max_pool2d";
    std::string name = ap;
    both(ap, [isMax, name](Interpreter &in, CallArgs &a) {
      auto v = bindFn(in, name, {{"input", nullptr}, {"output_size", nullptr},
                                 {"return_indices", "False"}}, a);
      ValueRef x = tensorArg(in, v[0], a.callLoc, "F." + name + "()");
      return adaptivePool(in, isMax ? OpKind::AdaptiveMaxPool2d : OpKind::AdaptiveAvgPool2d,
                          "F." + name + "()", "", x, *v[1], a.callLoc);
    }, false, true);
  }
  torch.set("flatten", makeBuiltin("torch.flatten", [](Interpreter &in, CallArgs &a) {
    auto v = bindFn(in, "flatten", {{"input", nullptr}, {"start_dim", "0"}, {"end_dim", "-1"}}, a);
    ValueRef x = tensorArg(in, v[0], a.callLoc, "torch.flatten()");
    return flatten(in, x, toInt(in, v[1], a.callLoc, "start_dim"),
                   toInt(in, v[2], a.callLoc, "end_dim"), "", a.callLoc);
  }));
  torch.set("reshape", makeBuiltin("torch.reshape", [](Interpreter &in, CallArgs &a) {
    auto v = bindFn(in, "reshape", {{"input", nullptr}, {"shape", nullptr}}, a);
    ValueRef x = tensorArg(in, v[0], a.callLoc, "torch.reshape()");
    return view(in, x, {v[1]}, {a.callLoc}, a.callLoc, "reshape");
  }));
  torch.set("cat", makeBuiltin("torch.cat", [](Interpreter &in, CallArgs &a) {
    auto v = bindFn(in, "cat", {{"tensors", nullptr}, {"dim", "0"}}, a);
    std::vector<ValueRef> ts = in.iterate(v[0], a.callLoc);
    for (auto &t : ts)
      tensorArg(in, t, a.callLoc, "torch.cat()");
    return concat(in, ts, toInt(in, v[1], a.callLoc, "dim"), a.callLoc);
  }));
  for (const char *bin : {"add", "mul"}) {
    std::string name = bin;
    torch.set(bin, makeBuiltin("torch." + name, [name](Interpreter &in, CallArgs &a) {
      auto v = bindFn(in, name, {{"input", nullptr}, {"other", nullptr}}, a);
      return traceBinary(in, name == "add" ? "+" : "*", v[0], v[1], a.callLoc);
    }));
  }
}

} // namespace cnnc::eval
