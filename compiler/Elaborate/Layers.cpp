//===- Layers.cpp - nn layer constructors, validation and parameters ------===//
#include "Elaborate/Layers.h"
#include "Elaborate/Elaborate.h"

#include <cmath>
#include <functional>
#include <set>

namespace cnnc::eval {
namespace {

enum class ArgType {
  Int,        ///< int
  IntPair,    ///< int or tuple of 2 ints
  OptIntPair, ///< None, int or tuple of 2 ints (pool stride)
  Padding,    ///< int, tuple of 2 ints, 'same' or 'valid'
  OutSize,    ///< adaptive output size: int, None, or tuple of int/None
  Float,      ///< int or float
  Bool,
  OptInt,     ///< None or int (softmax dim)
  Str,
  Any,
};

struct ArgSpec {
  const char *name;
  ArgType type;
  const char *def; ///< Python literal default; nullptr = required
};

struct LayerSpec {
  const char *name;
  std::vector<ArgSpec> args;
  bool varargs = false; ///< nn.Identity(*args, **kwargs)
};

const std::vector<LayerSpec> &layerSpecs() {
  using T = ArgType;
  static const std::vector<LayerSpec> specs = {
      {"Conv2d", {{"in_channels", T::Int, nullptr}, {"out_channels", T::Int, nullptr},
                  {"kernel_size", T::IntPair, nullptr}, {"stride", T::IntPair, "1"},
                  {"padding", T::Padding, "0"}, {"dilation", T::IntPair, "1"},
                  {"groups", T::Int, "1"}, {"bias", T::Bool, "True"},
                  {"padding_mode", T::Str, "'zeros'"}, {"device", T::Any, "None"},
                  {"dtype", T::Any, "None"}}},
      {"MaxPool2d", {{"kernel_size", T::IntPair, nullptr}, {"stride", T::OptIntPair, "None"},
                     {"padding", T::IntPair, "0"}, {"dilation", T::IntPair, "1"},
                     {"return_indices", T::Bool, "False"}, {"ceil_mode", T::Bool, "False"}}},
      {"AvgPool2d", {{"kernel_size", T::IntPair, nullptr}, {"stride", T::OptIntPair, "None"},
                     {"padding", T::IntPair, "0"}, {"ceil_mode", T::Bool, "False"},
                     {"count_include_pad", T::Bool, "True"},
                     {"divisor_override", T::Any, "None"}}},
      {"AdaptiveAvgPool2d", {{"output_size", T::OutSize, nullptr}}},
      {"AdaptiveMaxPool2d", {{"output_size", T::OutSize, nullptr},
                             {"return_indices", T::Bool, "False"}}},
      {"BatchNorm2d", {{"num_features", T::Int, nullptr}, {"eps", T::Float, "1e-05"},
                       {"momentum", T::Any, "0.1"}, {"affine", T::Bool, "True"},
                       {"track_running_stats", T::Bool, "True"}, {"device", T::Any, "None"},
                       {"dtype", T::Any, "None"}}},
      {"Linear", {{"in_features", T::Int, nullptr}, {"out_features", T::Int, nullptr},
                  {"bias", T::Bool, "True"}, {"device", T::Any, "None"},
                  {"dtype", T::Any, "None"}}},
      {"ReLU", {{"inplace", T::Bool, "False"}}},
      {"ReLU6", {{"inplace", T::Bool, "False"}}},
      {"LeakyReLU", {{"negative_slope", T::Float, "0.01"}, {"inplace", T::Bool, "False"}}},
      {"ELU", {{"alpha", T::Float, "1.0"}, {"inplace", T::Bool, "False"}}},
      {"Hardtanh", {{"min_val", T::Float, "-1.0"}, {"max_val", T::Float, "1.0"},
                    {"inplace", T::Bool, "False"}}},
      {"Sigmoid", {}},
      {"Tanh", {}},
      {"SiLU", {{"inplace", T::Bool, "False"}}},
      {"Hardswish", {{"inplace", T::Bool, "False"}}},
      {"Softmax", {{"dim", T::OptInt, "None"}}},
      {"LogSoftmax", {{"dim", T::OptInt, "None"}}},
      {"Dropout", {{"p", T::Float, "0.5"}, {"inplace", T::Bool, "False"}}},
      {"Dropout2d", {{"p", T::Float, "0.5"}, {"inplace", T::Bool, "False"}}},
      {"Flatten", {{"start_dim", T::Int, "1"}, {"end_dim", T::Int, "-1"}}},
      {"Identity", {}, /*varargs=*/true},
  };
  return specs;
}

ValueRef parseDefault(const char *lit) {
  std::string s = lit;
  if (s == "None")
    return makeNone();
  if (s == "True" || s == "False")
    return makeBool(s == "True");
  if (s[0] == '\'')
    return makeStr(s.substr(1, s.size() - 2));
  if (s.find_first_of(".e") != std::string::npos)
    return makeFloat(std::stod(s));
  return makeInt(std::stoll(s));
}

bool isInt(const Value &v) { return v.kind == ValueKind::Int; }
bool isIntPair(const Value &v) {
  if (isInt(v))
    return true;
  return (v.kind == ValueKind::Tuple || v.kind == ValueKind::List) &&
         v.items.size() == 2 && isInt(*v.items[0]) && isInt(*v.items[1]);
}

const char *typeDescription(ArgType t) {
  switch (t) {
  case ArgType::Int: return "an int";
  case ArgType::IntPair: return "an int or a tuple of 2 ints";
  case ArgType::OptIntPair: return "None, an int or a tuple of 2 ints";
  case ArgType::Padding: return "an int, a tuple of 2 ints, 'same' or 'valid'";
  case ArgType::OutSize: return "an int, None or a tuple of 2 ints or None";
  case ArgType::Float: return "a number";
  case ArgType::Bool: return "a bool";
  case ArgType::OptInt: return "None or an int";
  case ArgType::Str: return "a string";
  case ArgType::Any: return "anything";
  }
  return "?";
}

bool typeOk(ArgType t, const Value &v) {
  switch (t) {
  case ArgType::Int: return isInt(v);
  case ArgType::IntPair: return isIntPair(v);
  case ArgType::OptIntPair: return v.kind == ValueKind::None || isIntPair(v);
  case ArgType::Padding:
    return isIntPair(v) || (v.kind == ValueKind::Str && (v.s == "same" || v.s == "valid"));
  case ArgType::OutSize: {
    auto ok = [](const Value &x) { return isInt(x) || x.kind == ValueKind::None; };
    if (ok(v))
      return true;
    return (v.kind == ValueKind::Tuple || v.kind == ValueKind::List) &&
           v.items.size() == 2 && ok(*v.items[0]) && ok(*v.items[1]);
  }
  case ArgType::Float: return v.kind == ValueKind::Int || v.kind == ValueKind::Float;
  case ArgType::Bool:
    // PyTorch accepts ints where a bool is expected (`nn.ReLU(1)`).
    return v.kind == ValueKind::Bool || v.kind == ValueKind::Int;
  case ArgType::OptInt: return v.kind == ValueKind::None || isInt(v);
  case ArgType::Str: return v.kind == ValueKind::Str;
  case ArgType::Any: return true;
  }
  return false;
}

/// Python-style binding of a call's arguments to a layer's parameters.
OrderedMap<ValueRef> bindArgs(Interpreter &in, const LayerSpec &spec,
                              CallArgs &args, std::vector<llvm::SMLoc> &argLocs) {
  std::string fname = "nn." + std::string(spec.name) + "()";
  OrderedMap<ValueRef> out;
  argLocs.assign(spec.args.size(), args.callLoc);
  if (!spec.varargs && args.positional.size() > spec.args.size())
    in.fail(args.positionalLocs[spec.args.size()],
            fname + " takes at most " + llvm::Twine(spec.args.size()) +
                " argument" + (spec.args.size() == 1 ? "" : "s") + " but " +
                llvm::Twine(args.positional.size()) + " were given");
  std::vector<ValueRef> vals(spec.args.size());
  for (size_t i = 0; i < args.positional.size() && i < spec.args.size(); ++i) {
    vals[i] = args.positional[i];
    argLocs[i] = args.positionalLocs[i];
  }
  for (size_t k = 0; k < args.keywords.size(); ++k) {
    const auto &kw = args.keywords[k];
    size_t i = 0;
    while (i < spec.args.size() && kw.first != spec.args[i].name)
      ++i;
    if (i == spec.args.size()) {
      if (spec.varargs)
        continue;
      std::vector<std::string> names;
      for (auto &a : spec.args)
        names.push_back(a.name);
      std::string hint = didYouMean(kw.first, names);
      in.fail(args.keywordLocs[k], fname + " got an unexpected keyword argument '" +
                                       kw.first + "'" +
                                       (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
    }
    if (vals[i])
      in.fail(args.keywordLocs[k],
              fname + " got multiple values for argument '" + kw.first + "'");
    vals[i] = kw.second;
    argLocs[i] = args.keywordLocs[k];
  }
  for (size_t i = 0; i < spec.args.size(); ++i) {
    const ArgSpec &a = spec.args[i];
    if (!vals[i]) {
      if (!a.def)
        in.fail(args.callLoc, fname + " missing required argument '" +
                                  std::string(a.name) + "'");
      vals[i] = parseDefault(a.def);
    } else if (!typeOk(a.type, *vals[i])) {
      in.fail(argLocs[i], fname + " argument '" + a.name + "' must be " +
                              typeDescription(a.type) + ", not " +
                              typeName(*vals[i]) + " " + repr(*vals[i]));
    }
    out.set(a.name, vals[i]);
  }
  return out;
}

int64_t cfgInt(const OrderedMap<ValueRef> &c, const char *k) { return (*c.find(k))->i; }
bool cfgBool(const OrderedMap<ValueRef> &c, const char *k) { return (*c.find(k))->i != 0; }

/// PyTorch's construction-time checks.
void validate(Interpreter &in, const std::string &type, const OrderedMap<ValueRef> &c,
              const LayerSpec &spec, const std::vector<llvm::SMLoc> &locs) {
  auto locOf = [&](const char *name) {
    for (size_t i = 0; i < spec.args.size(); ++i)
      if (std::string(spec.args[i].name) == name)
        return locs[i];
    return locs.empty() ? llvm::SMLoc() : locs[0];
  };
  auto positive = [&](const char *name, const char *what) {
    const Value &v = **c.find(name);
    if (v.kind == ValueKind::None || v.kind == ValueKind::Str)
      return;
    int64_t p[2];
    intPair(v, p);
    if (p[0] <= 0 || p[1] <= 0)
      in.fail(locOf(name), "nn." + type + "() " + what + " must be positive, got " +
                               repr(v));
  };
  auto nonNegative = [&](const char *name) {
    const Value &v = **c.find(name);
    if (v.kind == ValueKind::Str)
      return;
    int64_t p[2];
    intPair(v, p);
    if (p[0] < 0 || p[1] < 0)
      in.fail(locOf(name), "nn." + type + "() padding must be non-negative, got " + repr(v));
  };
  if (type == "Conv2d") {
    positive("in_channels", "in_channels");
    positive("out_channels", "out_channels");
    positive("kernel_size", "kernel_size");
    positive("stride", "stride");
    positive("dilation", "dilation");
    positive("groups", "groups");
    nonNegative("padding");
    int64_t g = cfgInt(c, "groups");
    if (cfgInt(c, "in_channels") % g)
      in.fail(locOf("groups"), "nn.Conv2d() in_channels (" +
                                   llvm::Twine(cfgInt(c, "in_channels")) +
                                   ") must be divisible by groups (" + llvm::Twine(g) + ")");
    if (cfgInt(c, "out_channels") % g)
      in.fail(locOf("groups"), "nn.Conv2d() out_channels (" +
                                   llvm::Twine(cfgInt(c, "out_channels")) +
                                   ") must be divisible by groups (" + llvm::Twine(g) + ")");
    const Value &mode = **c.find("padding_mode");
    if (mode.s != "zeros")
      in.fail(locOf("padding_mode"), "nn.Conv2d() padding_mode='" + mode.s +
                                         "' is not supported in .cnn files (only 'zeros')");
    const Value &pad = **c.find("padding");
    if (pad.kind == ValueKind::Str && pad.s == "same") {
      int64_t s[2];
      intPair(**c.find("stride"), s);
      if (s[0] != 1 || s[1] != 1)
        in.fail(locOf("padding"), "nn.Conv2d() padding='same' is not supported for "
                                  "strided convolutions");
      int64_t k[2], d[2];
      intPair(**c.find("kernel_size"), k);
      intPair(**c.find("dilation"), d);
      if ((d[0] * (k[0] - 1)) % 2 || (d[1] * (k[1] - 1)) % 2)
        in.fail(locOf("padding"), "nn.Conv2d() padding='same' with an even effective "
                                  "kernel needs asymmetric padding, which cnnc does "
                                  "not support yet");
    }
  } else if (type == "MaxPool2d" || type == "AvgPool2d") {
    positive("kernel_size", "kernel_size");
    positive("stride", "stride");
    nonNegative("padding");
    if (type == "MaxPool2d")
      positive("dilation", "dilation");
    int64_t k[2], p[2];
    intPair(**c.find("kernel_size"), k);
    intPair(**c.find("padding"), p);
    if (p[0] * 2 > k[0] || p[1] * 2 > k[1])
      in.fail(locOf("padding"), "nn." + type + "() padding should be at most half of "
                                "the kernel size, got padding " + repr(**c.find("padding")) +
                                " for kernel_size " + repr(**c.find("kernel_size")));
    if (type == "MaxPool2d" && cfgBool(c, "return_indices"))
      in.fail(locOf("return_indices"), "nn.MaxPool2d(return_indices=True) is not "
                                       "supported in .cnn files");
    if (type == "AvgPool2d" && (*c.find("divisor_override"))->kind != ValueKind::None)
      in.fail(locOf("divisor_override"), "nn.AvgPool2d(divisor_override=...) is not "
                                         "supported in .cnn files");
  } else if (type == "AdaptiveAvgPool2d" || type == "AdaptiveMaxPool2d") {
    const Value &o = **c.find("output_size");
    std::vector<ValueRef> parts = o.kind == ValueKind::Tuple || o.kind == ValueKind::List
                                      ? o.items
                                      : std::vector<ValueRef>{c.find("output_size")[0]};
    for (auto &p : parts)
      if (p->kind == ValueKind::Int && p->i <= 0)
        in.fail(locOf("output_size"), "nn." + type + "() output_size must be positive, got " +
                                          repr(o));
    if (type == "AdaptiveMaxPool2d" && cfgBool(c, "return_indices"))
      in.fail(locOf("return_indices"), "nn.AdaptiveMaxPool2d(return_indices=True) is "
                                       "not supported in .cnn files");
  } else if (type == "BatchNorm2d") {
    positive("num_features", "num_features");
    if (!cfgBool(c, "track_running_stats"))
      in.fail(locOf("track_running_stats"),
              "nn.BatchNorm2d(track_running_stats=False) normalizes with batch statistics "
              "at inference, which cnnc does not support");
    const Value &eps = **c.find("eps");
    double e = eps.kind == ValueKind::Float ? eps.f : (double)eps.i;
    if (!(e > 0))
      in.fail(locOf("eps"), "nn.BatchNorm2d() eps must be positive");
  } else if (type == "Linear") {
    positive("in_features", "in_features");
    positive("out_features", "out_features");
  } else if (type == "Dropout" || type == "Dropout2d") {
    const Value &p = **c.find("p");
    double v = p.kind == ValueKind::Float ? p.f : (double)p.i;
    if (v < 0 || v > 1)
      in.fail(locOf("p"), "dropout probability has to be between 0 and 1, but got " +
                              repr(p));
  }
}

/// Parameters created by a layer: (name, shape), in state_dict order.
std::vector<std::pair<std::string, ir::Shape>>
layerParams(const std::string &type, const OrderedMap<ValueRef> &c) {
  std::vector<std::pair<std::string, ir::Shape>> out;
  if (type == "Conv2d") {
    int64_t k[2];
    intPair(**c.find("kernel_size"), k);
    int64_t o = cfgInt(c, "out_channels");
    out.push_back({"weight", {o, cfgInt(c, "in_channels") / cfgInt(c, "groups"), k[0], k[1]}});
    if (cfgBool(c, "bias"))
      out.push_back({"bias", {o}});
  } else if (type == "Linear") {
    int64_t o = cfgInt(c, "out_features");
    out.push_back({"weight", {o, cfgInt(c, "in_features")}});
    if (cfgBool(c, "bias"))
      out.push_back({"bias", {o}});
  } else if (type == "BatchNorm2d") {
    int64_t n = cfgInt(c, "num_features");
    if (cfgBool(c, "affine")) {
      out.push_back({"weight", {n}});
      out.push_back({"bias", {n}});
    }
    out.push_back({"running_mean", {n}});
    out.push_back({"running_var", {n}});
  }
  return out;
}

ValueRef constructLayer(Interpreter &in, const LayerSpec &spec, CallArgs &args) {
  std::vector<llvm::SMLoc> locs;
  OrderedMap<ValueRef> cfg = bindArgs(in, spec, args, locs);
  validate(in, spec.name, cfg, spec, locs);
  auto obj = std::make_shared<ObjectData>();
  obj->isModule = true;
  obj->initCalled = true;
  obj->layer = std::make_shared<LayerInfo>();
  obj->layer->type = spec.name;
  obj->layer->config = cfg;
  obj->layer->loc = args.callLoc;
  for (auto &p : layerParams(spec.name, cfg)) {
    // A parameter is a tensor too: at most kMaxTensorElements elements
    // (checked without overflow; its element count feeds the summary).
    int64_t n = 1;
    std::string dims;
    bool tooBig = false;
    for (int64_t d : p.second) {
      dims += (dims.empty() ? "" : ", ") + std::to_string(d);
      tooBig |= __builtin_mul_overflow(n, d, &n) || n > kMaxTensorElements;
    }
    if (tooBig)
      in.fail(args.callLoc, std::string("nn.") + spec.name + "() " + p.first +
                                " would have shape [" + dims +
                                "], more than 2^31 elements, cnnc's limit");
    obj->params.set(p.first, p.second);
    obj->paramOrder.push_back(p.first);
  }
  auto v = std::make_shared<Value>();
  v->kind = ValueKind::Object;
  v->obj = obj;
  return v;
}

ValueRef makeBaseClass(const std::string &name) {
  auto info = std::make_shared<ClassInfo>();
  info->name = name;
  info->builtinBase = name;
  info->mro.push_back(info);
  auto v = std::make_shared<Value>();
  v->kind = ValueKind::Class;
  v->cls = info;
  return v;
}

} // namespace

void intPair(const Value &v, int64_t out[2]) {
  if (v.kind == ValueKind::Int || v.kind == ValueKind::Bool) {
    out[0] = out[1] = v.i;
  } else if ((v.kind == ValueKind::Tuple || v.kind == ValueKind::List) &&
             v.items.size() == 2) {
    out[0] = v.items[0]->i;
    out[1] = v.items[1]->i;
  } else {
    out[0] = out[1] = 0;
  }
}

void addNNLayers(Interpreter &interp, OrderedMap<ValueRef> &nn) {
  for (const LayerSpec &spec : layerSpecs()) {
    const LayerSpec *sp = &spec;
    nn.set(spec.name, makeBuiltin("nn." + std::string(spec.name),
                                  [sp](Interpreter &in, CallArgs &args) {
                                    return constructLayer(in, *sp, args);
                                  }));
  }
  for (const char *base : {"Module", "Sequential", "ModuleList"})
    nn.set(base, makeBaseClass(base));
}

bool isKnownUnsupportedLayer(const std::string &name) {
  static const char *names[] = {
      "Conv1d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
      "MaxPool1d", "MaxPool3d", "AvgPool1d", "AvgPool3d", "AdaptiveAvgPool1d",
      "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool3d", "BatchNorm1d",
      "BatchNorm3d", "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d",
      "InstanceNorm3d", "LocalResponseNorm", "LSTM", "GRU", "RNN", "LSTMCell",
      "GRUCell", "RNNCell", "Transformer", "TransformerEncoder",
      "TransformerEncoderLayer", "TransformerDecoder", "TransformerDecoderLayer",
      "MultiheadAttention", "Embedding", "EmbeddingBag", "Upsample",
      "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PReLU",
      "GELU", "Mish", "Softplus", "Softsign", "SELU", "CELU", "GLU", "Threshold",
      "Dropout1d", "Dropout3d", "AlphaDropout", "ZeroPad2d", "ConstantPad2d",
      "ReflectionPad2d", "ReplicationPad2d", "Unflatten", "ModuleDict",
      "ParameterList", "ParameterDict", "Bilinear", "LazyLinear", "LazyConv2d",
      "Fold", "Unfold", "ChannelShuffle", "Softmax2d", "Hardsigmoid"};
  for (const char *n : names)
    if (name == n)
      return true;
  return false;
}

void registerModule(Interpreter &in, ObjectData &obj, const std::string &name,
                    const ValueRef &value, llvm::SMLoc loc) {
  if (!obj.initCalled)
    in.fail(loc, "cannot assign module '" + name +
                     "' before Module.__init__() is called; call super().__init__() first");
  obj.attrs.erase(name);
  obj.modules.set(name, value);
}

void initBuiltinBase(Interpreter &in, const ValueRef &self, const std::string &base,
                     CallArgs &args) {
  ObjectData &obj = *self->obj;
  obj.initCalled = true;
  if (base == "Module" || base.empty()) {
    if (!args.positional.empty() || !args.keywords.empty())
      in.fail(args.callLoc, "nn.Module.__init__() takes no arguments");
    return;
  }
  if (!args.keywords.empty())
    in.fail(args.keywordLocs[0], "nn." + base + "() takes no keyword arguments");
  std::vector<ValueRef> items;
  std::vector<llvm::SMLoc> locs;
  if (base == "ModuleList") {
    if (args.positional.size() > 1)
      in.fail(args.positionalLocs[1], "nn.ModuleList() takes one iterable of modules");
    if (!args.positional.empty()) {
      items = in.iterate(args.positional[0], args.positionalLocs[0]);
      locs.assign(items.size(), args.positionalLocs[0]);
    }
  } else if (args.positional.size() == 1 &&
             args.positional[0]->kind == ValueKind::Dict) {
    // nn.Sequential(OrderedDict([...])): named children.
    for (auto &kv : args.positional[0]->dict->items()) {
      if (!isModuleObject(*kv.second))
        in.fail(args.positionalLocs[0], "nn.Sequential() entry '" + kv.first +
                                            "' is not a module");
      registerModule(in, obj, kv.first, kv.second, args.positionalLocs[0]);
    }
    return;
  } else {
    items = args.positional;
    locs = args.positionalLocs;
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (!isModuleObject(*items[i]))
      in.fail(locs[i], "nn." + base + "() argument " + llvm::Twine(i) +
                           " must be a module, not " + typeName(*items[i]));
    registerModule(in, obj, std::to_string(i), items[i], locs[i]);
  }
}

ValueRef layerAttribute(const ObjectData &obj, const std::string &name) {
  if (!obj.layer)
    return nullptr;
  // A parameter the layer does not have reads as None, as in PyTorch
  // (`if m.bias is not None:` with bias=False, BatchNorm2d(affine=False)).
  const std::string &type = obj.layer->type;
  if ((type == "Conv2d" || type == "Linear" || type == "BatchNorm2d") &&
      (name == "weight" || name == "bias"))
    return makeNone();
  if (const ValueRef *v = obj.layer->config.find(name)) {
    // PyTorch stores conv/pool sizes as tuples.
    static const char *tupleArgs[] = {"kernel_size", "stride", "padding", "dilation"};
    if (obj.layer->type == "Conv2d")
      for (const char *t : tupleArgs)
        if (name == t && (*v)->kind == ValueKind::Int)
          return makeTuple({makeInt((*v)->i), makeInt((*v)->i)});
    return *v;
  }
  return nullptr;
}

ValueRef moduleMethod(Interpreter &in, const ValueRef &self, const std::string &name,
                      llvm::SMLoc loc) {
  ObjectData &obj = *self->obj;
  std::string type = obj.layer ? obj.layer->type : "Module";
  auto method = [&](BuiltinFn fn) { return makeBuiltin(name, std::move(fn)); };
  if (name == "add_module" || name == "register_module")
    return method([self, name](Interpreter &in, CallArgs &a) {
      if (a.positional.size() != 2 || a.positional[0]->kind != ValueKind::Str)
        in.fail(a.callLoc, name + "() takes a name and a module");
      if (!isModuleObject(*a.positional[1]) && a.positional[1]->kind != ValueKind::None)
        in.fail(a.positionalLocs[1], name + "() argument 2 must be a module, not " +
                                         typeName(*a.positional[1]));
      registerModule(in, *self->obj, a.positional[0]->s, a.positional[1], a.callLoc);
      return makeNone();
    });
  if ((type == "ModuleList" || type == "Sequential") &&
      (name == "append" || name == "extend" || name == "insert"))
    return method([self, name](Interpreter &in, CallArgs &a) {
      ObjectData &o = *self->obj;
      std::vector<ValueRef> items;
      if (name == "append" && a.positional.size() == 1)
        items.push_back(a.positional[0]);
      else if (name == "extend" && a.positional.size() == 1)
        items = in.iterate(a.positional[0], a.positionalLocs[0]);
      else
        in.fail(a.callLoc, name + "() on a module list is not supported with these arguments");
      for (auto &m : items) {
        if (!isModuleObject(*m))
          in.fail(a.callLoc, name + "() expects modules, got " + typeName(*m));
        registerModule(in, o, std::to_string(o.modules.size()), m, a.callLoc);
      }
      return self;
    });
  if (name == "children" || name == "named_children")
    return method([self, name](Interpreter &in, CallArgs &a) {
      std::vector<ValueRef> out;
      std::set<const ObjectData *> seen;
      for (auto &kv : self->obj->modules.items()) {
        if (kv.second->kind == ValueKind::None || !seen.insert(kv.second->obj.get()).second)
          continue;
        out.push_back(name == "named_children"
                          ? makeTuple({makeStr(kv.first), kv.second})
                          : kv.second);
      }
      return makeList(out);
    });
  // PyTorch's named_modules order: pre-order, self first, each module once.
  // parameters()/buffers() follow it, each module's own tensors in order.
  if (name == "modules" || name == "named_modules" || name == "parameters" ||
      name == "named_parameters" || name == "buffers" || name == "named_buffers")
    return method([self, name](Interpreter &in, CallArgs &a) {
      std::string prefix;
      for (size_t k = 0; k < a.keywords.size(); ++k)
        if (a.keywords[k].first == "prefix" && a.keywords[k].second->kind == ValueKind::Str)
          prefix = a.keywords[k].second->s;
      std::vector<std::pair<std::string, ValueRef>> mods;
      std::set<const ObjectData *> seen;
      std::function<void(const ValueRef &, const std::string &)> walk =
          [&](const ValueRef &m, const std::string &path) {
            if (!seen.insert(m->obj.get()).second)
              return;
            mods.push_back({path, m});
            for (auto &kv : m->obj->modules.items())
              if (kv.second->kind == ValueKind::Object)
                walk(kv.second, path.empty() ? kv.first : path + "." + kv.first);
          };
      walk(self, prefix);
      bool named = name.rfind("named_", 0) == 0;
      std::vector<ValueRef> out;
      if (name == "modules" || name == "named_modules") {
        for (auto &m : mods)
          out.push_back(named ? makeTuple({makeStr(m.first), m.second}) : m.second);
        return makeList(out);
      }
      bool buffers = name == "buffers" || name == "named_buffers";
      for (auto &m : mods)
        for (const auto &p : m.second->obj->paramOrder) {
          bool isBuffer = p == "running_mean" || p == "running_var";
          if (isBuffer != buffers)
            continue;
          ValueRef v = in.getAttr(m.second, p, a.callLoc);
          out.push_back(named ? makeTuple({makeStr(m.first.empty() ? p : m.first + "." + p), v})
                              : v);
        }
      return makeList(out);
    });
  if (name == "eval" || name == "train" || name == "float")
    return method([self](Interpreter &, CallArgs &) { return self; });
  if (name == "__len__")
    return method([self](Interpreter &, CallArgs &) {
      return makeInt(self->obj->modules.size());
    });
  (void)in;
  (void)loc;
  return nullptr;
}

} // namespace cnnc::eval
