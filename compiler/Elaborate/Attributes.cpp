//===- Attributes.cpp - attribute access, assignment and subscripts -------===//
//
// `obj.name` follows Python's order for module objects: plain attributes,
// registered submodules, parameters, class attributes through the MRO (methods
// come back bound), builtin module methods, then a builtin layer's
// constructor arguments (`conv.out_channels`). `self.x = module` registers a
// submodule, which fixes the state_dict order. Subscripts cover sequences,
// dicts, and indexing into nn.Sequential / nn.ModuleList.
//
//===----------------------------------------------------------------------===//
#include "Elaborate/Interpreter.h"
#include "Elaborate/Layers.h"
#include "Elaborate/Trace.h"

using namespace cnnc::ast;

namespace cnnc::eval {
namespace {

ValueRef bindMethod(const ValueRef &self, const ValueRef &fn) {
  if (fn->kind != ValueKind::Function ||
      (fn->fn->def && !fn->fn->def->decorators.empty()))
    return fn; // staticmethod or non-function class attribute
  auto m = std::make_shared<Value>();
  m->kind = ValueKind::BoundMethod;
  m->self = self;
  m->method = fn;
  return m;
}

std::vector<std::string> objectNames(const ObjectData &o) {
  std::vector<std::string> names;
  for (auto &kv : o.attrs.items())
    names.push_back(kv.first);
  for (auto &kv : o.modules.items())
    names.push_back(kv.first);
  if (o.cls)
    for (auto &c : o.cls->mro)
      for (auto &kv : c->attrs.items())
        names.push_back(kv.first);
  return names;
}

ValueRef listMethod(Interpreter &in, const ValueRef &list, const std::string &name) {
  if (name == "append")
    return makeBuiltin("append", [list](Interpreter &in, CallArgs &a) {
      if (a.positional.size() != 1)
        in.fail(a.callLoc, "append() takes exactly one argument");
      list->items.push_back(a.positional[0]);
      return makeNone();
    });
  if (name == "extend")
    return makeBuiltin("extend", [list](Interpreter &in, CallArgs &a) {
      if (a.positional.size() != 1)
        in.fail(a.callLoc, "extend() takes exactly one argument");
      for (auto &x : in.iterate(a.positional[0], a.positionalLocs[0]))
        list->items.push_back(x);
      return makeNone();
    });
  if (name == "insert")
    return makeBuiltin("insert", [list](Interpreter &in, CallArgs &a) {
      if (a.positional.size() != 2 || a.positional[0]->kind != ValueKind::Int)
        in.fail(a.callLoc, "insert() takes an index and a value");
      int64_t n = list->items.size(), i = a.positional[0]->i;
      i = std::max<int64_t>(0, std::min(n, i < 0 ? i + n : i));
      list->items.insert(list->items.begin() + i, a.positional[1]);
      return makeNone();
    });
  if (name == "pop")
    return makeBuiltin("pop", [list](Interpreter &in, CallArgs &a) {
      if (list->items.empty())
        in.fail(a.callLoc, "pop from empty list");
      int64_t n = list->items.size();
      int64_t i = a.positional.empty() ? n - 1 : a.positional[0]->i;
      if (i < 0)
        i += n;
      if (i < 0 || i >= n)
        in.fail(a.callLoc, "pop index out of range");
      ValueRef v = list->items[i];
      list->items.erase(list->items.begin() + i);
      return v;
    });
  (void)in;
  return nullptr;
}

ValueRef dictMethod(const ValueRef &d, const std::string &name) {
  if (name == "items" || name == "keys" || name == "values")
    return makeBuiltin(name, [d, name](Interpreter &, CallArgs &) {
      std::vector<ValueRef> out;
      for (auto &kv : d->dict->items()) {
        if (name == "items")
          out.push_back(makeTuple({makeStr(kv.first), kv.second}));
        else if (name == "keys")
          out.push_back(makeStr(kv.first));
        else
          out.push_back(kv.second);
      }
      return makeList(out);
    });
  if (name == "get")
    return makeBuiltin("get", [d](Interpreter &in, CallArgs &a) {
      if (a.positional.empty() || a.positional[0]->kind != ValueKind::Str)
        in.fail(a.callLoc, "get() takes a string key");
      if (ValueRef *v = d->dict->find(a.positional[0]->s))
        return *v;
      return a.positional.size() > 1 ? a.positional[1] : makeNone();
    });
  return nullptr;
}

ValueRef strMethod(const ValueRef &s, const std::string &name) {
  if (name == "format")
    return makeBuiltin("format", [s](Interpreter &in, CallArgs &a) {
      std::string out;
      size_t next = 0;
      const std::string &f = s->s;
      for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] == '{' && i + 1 < f.size() && f[i + 1] == '{') {
          out += '{';
          ++i;
        } else if (f[i] == '}' && i + 1 < f.size() && f[i + 1] == '}') {
          out += '}';
          ++i;
        } else if (f[i] == '{') {
          size_t close = f.find('}', i);
          if (close == std::string::npos)
            in.fail(a.callLoc, "format(): single '{' encountered");
          std::string key = f.substr(i + 1, close - i - 1);
          key = key.substr(0, key.find(':'));
          ValueRef v;
          if (key.empty()) {
            if (next >= a.positional.size())
              in.fail(a.callLoc, "format(): not enough arguments");
            v = a.positional[next++];
          } else if (isdigit((unsigned char)key[0])) {
            size_t idx = std::stoul(key);
            if (idx >= a.positional.size())
              in.fail(a.callLoc, "format(): index out of range");
            v = a.positional[idx];
          } else {
            for (auto &kw : a.keywords)
              if (kw.first == key)
                v = kw.second;
            if (!v)
              in.fail(a.callLoc, "format(): missing keyword '" + key + "'");
          }
          out += str(*v);
          i = close;
        } else {
          out += f[i];
        }
      }
      return makeStr(out);
    });
  if (name == "join")
    return makeBuiltin("join", [s](Interpreter &in, CallArgs &a) {
      if (a.positional.size() != 1)
        in.fail(a.callLoc, "join() takes one iterable");
      std::string out;
      bool first = true;
      for (auto &x : in.iterate(a.positional[0], a.positionalLocs[0])) {
        if (x->kind != ValueKind::Str)
          in.fail(a.callLoc, "join() expects strings, got " + typeName(*x));
        out += (first ? "" : s->s) + x->s;
        first = false;
      }
      return makeStr(out);
    });
  return nullptr;
}

/// A parameter or buffer read in __init__ (`m.weight`, `m.bn3.weight`): an
/// object of type "Parameter" that nn.init.* accepts and whose in-place
/// initialisers (`m.weight.data.normal_(0, 0.01)`, `.zero_()`, `.fill_(1)`)
/// do nothing: the weights file provides the values.
ValueRef makeParameterValue(const ir::Shape &shape) {
  auto obj = std::make_shared<ObjectData>();
  obj->layer = std::make_shared<LayerInfo>();
  obj->layer->type = "Parameter";
  std::vector<ValueRef> dims;
  for (int64_t d : shape)
    dims.push_back(makeInt(d));
  obj->layer->config.set("shape", makeTuple(dims));
  auto v = std::make_shared<Value>();
  v->kind = ValueKind::Object;
  v->obj = obj;
  return v;
}

bool isParameterValue(const Value &v) {
  return v.kind == ValueKind::Object && !v.obj->isModule && v.obj->layer &&
         v.obj->layer->type == "Parameter";
}

ValueRef parameterAttribute(const ValueRef &p, const std::string &name) {
  const ValueRef &shape = *p->obj->layer->config.find("shape");
  if (name == "data")
    return p;
  if (name == "shape")
    return shape;
  if (name == "requires_grad")
    return makeBool(true);
  if (name == "size")
    return makeBuiltin("size", [shape](Interpreter &in, CallArgs &a) -> ValueRef {
      if (a.positional.empty())
        return shape;
      if (a.positional[0]->kind != ValueKind::Int)
        in.fail(a.positionalLocs[0], "size(): dim must be an int");
      int64_t n = shape->items.size(), d = a.positional[0]->i;
      if (d < -n || d >= n)
        in.fail(a.positionalLocs[0], "size(): dimension out of range");
      return shape->items[d < 0 ? d + n : d];
    });
  if (name == "dim" || name == "ndimension")
    return makeBuiltin(name, [shape](Interpreter &, CallArgs &) {
      return makeInt(shape->items.size());
    });
  if (name == "numel")
    return makeBuiltin(name, [shape](Interpreter &, CallArgs &) {
      int64_t n = 1;
      for (auto &d : shape->items)
        n *= d->i;
      return makeInt(n);
    });
  static const char *inPlace[] = {
      "normal_", "uniform_", "zero_", "fill_", "copy_", "mul_", "add_", "sub_",
      "div_", "clamp_", "clamp_min_", "clamp_max_", "bernoulli_", "exponential_",
      "log_normal_", "geometric_", "cauchy_", "random_", "fill_diagonal_",
      "requires_grad_", "detach", "detach_", "contiguous", "float"};
  for (const char *m : inPlace)
    if (name == m)
      return makeBuiltin(name, [p](Interpreter &, CallArgs &) { return p; });
  return nullptr;
}

int64_t normalizeIndex(Interpreter &in, int64_t i, int64_t n, llvm::SMLoc loc,
                       const char *what) {
  if (i < 0)
    i += n;
  if (i < 0 || i >= n)
    in.fail(loc, llvm::Twine(what) + " index out of range");
  return i;
}

} // namespace

ValueRef Interpreter::getAttr(const ValueRef &obj, const std::string &name,
                              llvm::SMLoc loc, llvm::SMRange range) {
  switch (obj->kind) {
  case ValueKind::Object: {
    ObjectData &o = *obj->obj;
    if (ValueRef *v = o.attrs.find(name))
      return *v;
    if (ValueRef *v = o.modules.find(name))
      return *v;
    if (const ir::Shape *shape = o.params.find(name)) {
      if (tracing)
        fail(loc, "reading parameter '" + name + "' directly is not supported in "
                  "forward; call the module instead");
      return makeParameterValue(*shape); // __init__: weight initialisation
    }
    if (isParameterValue(*obj))
      if (ValueRef v = parameterAttribute(obj, name))
        return v;
    if (o.cls)
      for (auto &c : o.cls->mro)
        if (ValueRef *v = c->attrs.find(name))
          return bindMethod(obj, *v);
    if (o.isModule) {
      if (ValueRef m = moduleMethod(*this, obj, name, loc))
        return m;
      if (ValueRef v = layerAttribute(o, name))
        return v;
      if (name == "training")
        return makeBool(false); // cnnc compiles inference (eval mode)
    }
    std::string hint = didYouMean(name, objectNames(o));
    fail(loc, "'" + typeName(*obj) + "' object has no attribute '" + name + "'" +
                  (hint.empty() ? "" : "; did you mean '" + hint + "'?"),
         range);
  }
  case ValueKind::Class:
    for (auto &c : obj->cls->mro)
      if (ValueRef *v = c->attrs.find(name))
        return *v;
    if (name == "__init__" || name == "forward")
      break;
    fail(loc, "type object '" + obj->cls->name + "' has no attribute '" + name + "'");
  case ValueKind::Super: {
    // Search the receiver's MRO after the class super() was called in.
    const auto &self = obj->self;
    auto &mro = self->obj->cls ? self->obj->cls->mro : obj->cls->mro;
    bool after = false;
    for (auto &c : mro) {
      if (after) {
        if (!c->def) {
          if (name == "__init__") {
            std::string base = c->builtinBase;
            return makeBuiltin("__init__", [self, base](Interpreter &in, CallArgs &a) {
              initBuiltinBase(in, self, base, a);
              return makeNone();
            });
          }
          break;
        }
        if (ValueRef *v = c->attrs.find(name))
          return bindMethod(self, *v);
      }
      if (c == obj->cls)
        after = true;
    }
    if (name == "__init__") // object.__init__
      return makeBuiltin("__init__", [](Interpreter &, CallArgs &) { return makeNone(); });
    fail(loc, "'super' object has no attribute '" + name + "'");
  }
  case ValueKind::Namespace: {
    if (ValueRef *v = obj->ns->find(name))
      return *v;
    std::string full = obj->s + "." + name;
    if (obj->s == "torch.nn" && isKnownUnsupportedLayer(name)) {
      // A value so that `isinstance(m, (nn.BatchNorm2d, nn.GroupNorm))` in
      // init loops works (it is false for every cnnc module); constructing
      // one is the error.
      if (tracing)
        fail(loc, "'nn." + name + "' is not supported in .cnn files", range);
      return makeBuiltin("nn." + name, [name](Interpreter &in, CallArgs &a) -> ValueRef {
        in.fail(a.callLoc, "'nn." + name + "' is not supported in .cnn files",
                a.callRange);
      });
    }
    // Name it as the user spelled it ("nn.Conv2D", "F.rleu").
    std::string prefix = obj->s;
    if (range.isValid() && range.End.getPointer() > range.Start.getPointer()) {
      llvm::StringRef spelled(range.Start.getPointer(),
                              range.End.getPointer() - range.Start.getPointer());
      if (spelled.ends_with("." + name) &&
          spelled.find_first_of(" \t\n\\()[]") == llvm::StringRef::npos)
        prefix = spelled.drop_back(name.size() + 1).str();
    }
    std::vector<std::string> names;
    for (auto &kv : obj->ns->items())
      names.push_back(kv.first);
    std::string hint = didYouMean(name, names);
    fail(loc, "'" + prefix + "." + name + "' is not supported in .cnn files" +
                  (hint.empty() ? "" : "; did you mean '" + prefix + "." + hint + "'?"),
         range);
  }
  case ValueKind::Tensor:
    return tensorAttribute(*this, obj, name, loc);
  case ValueKind::List:
    if (ValueRef m = listMethod(*this, obj, name))
      return m;
    break;
  case ValueKind::Dict:
    if (ValueRef m = dictMethod(obj, name))
      return m;
    break;
  case ValueKind::Str:
    if (ValueRef m = strMethod(obj, name))
      return m;
    break;
  default:
    break;
  }
  fail(loc, "'" + typeName(*obj) + "' object has no attribute '" + name + "'", range);
}

void Interpreter::setAttr(const ValueRef &obj, const std::string &name,
                          ValueRef value, llvm::SMLoc loc) {
  if (obj->kind != ValueKind::Object)
    fail(loc, "cannot set attribute '" + name + "' on '" + typeName(*obj) + "'");
  ObjectData &o = *obj->obj;
  if (tracing && o.isModule)
    fail(loc, "assigning attributes of modules in forward is not supported in "
              ".cnn files; use a local variable");
  if (o.isModule && (isModuleObject(*value) ||
                     (value->kind == ValueKind::None && o.modules.find(name)))) {
    registerModule(*this, o, name, value, loc);
    return;
  }
  if (o.isModule && o.modules.find(name))
    fail(loc, "cannot assign '" + typeName(*value) + "' as child module '" + name +
                  "' (torch.nn.Module or None expected)");
  o.attrs.set(name, std::move(value));
}

ValueRef Interpreter::evalSubscript(const Expr &e, const std::shared_ptr<Scope> &scope) {
  ValueRef obj = eval(*e.children[0], scope);
  const Expr &idxExpr = *e.children[1];
  llvm::SMLoc loc = e.loc();
  if (obj->kind == ValueKind::Tensor)
    fail(loc, "indexing tensors is not supported in .cnn files");
  bool isModuleSeq = obj->kind == ValueKind::Object && obj->obj->isModule &&
                     obj->obj->layer &&
                     (obj->obj->layer->type == "Sequential" ||
                      obj->obj->layer->type == "ModuleList");
  std::vector<ValueRef> items;
  if (isModuleSeq) {
    for (auto &kv : obj->obj->modules.items())
      items.push_back(kv.second);
  } else if (obj->kind == ValueKind::Dict) {
    ValueRef k = eval(idxExpr, scope);
    if (k->kind != ValueKind::Str)
      fail(idxExpr.loc(), "dict keys must be strings in .cnn files");
    if (ValueRef *v = obj->dict->find(k->s))
      return *v;
    fail(idxExpr.loc(), "key " + repr(*k) + " not found");
  } else if (obj->kind == ValueKind::List || obj->kind == ValueKind::Tuple) {
    items = obj->items;
  } else if (obj->kind == ValueKind::Str) {
    for (char c : obj->s)
      items.push_back(makeStr(std::string(1, c)));
  } else {
    fail(loc, "'" + typeName(*obj) + "' object is not subscriptable");
  }
  int64_t n = items.size();
  if (idxExpr.kind == ExprKind::Slice) {
    auto part = [&](size_t i, int64_t dflt) -> int64_t {
      if (!idxExpr.children[i])
        return dflt;
      ValueRef v = eval(*idxExpr.children[i], scope);
      if (v->kind == ValueKind::None)
        return dflt;
      if (v->kind != ValueKind::Int)
        fail(idxExpr.children[i]->loc(), "slice indices must be integers");
      return v->i;
    };
    int64_t step = part(2, 1);
    if (step == 0)
      fail(idxExpr.loc(), "slice step cannot be zero");
    int64_t lo = part(0, step > 0 ? 0 : n - 1), hi = part(1, step > 0 ? n : -n - 1);
    auto clamp = [&](int64_t v, bool isHi) {
      if (v < 0)
        v += n;
      int64_t minV = step > 0 ? 0 : -1, maxV = step > 0 ? n : n - 1;
      (void)isHi;
      return std::max(minV, std::min(maxV, v));
    };
    lo = clamp(lo, false);
    hi = clamp(hi, true);
    std::vector<ValueRef> out;
    for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step)
      out.push_back(items[i]);
    if (isModuleSeq) {
      auto seq = std::make_shared<ObjectData>();
      seq->isModule = seq->initCalled = true;
      seq->layer = std::make_shared<LayerInfo>();
      seq->layer->type = obj->obj->layer->type;
      // Keep the original names so parameters keep their state_dict keys.
      for (auto &kv : obj->obj->modules.items())
        for (auto &x : out)
          if (x == kv.second)
            seq->modules.set(kv.first, kv.second);
      auto v = std::make_shared<Value>();
      v->kind = ValueKind::Object;
      v->obj = seq;
      return v;
    }
    if (obj->kind == ValueKind::Str) {
      std::string s;
      for (auto &x : out)
        s += x->s;
      return makeStr(s);
    }
    return obj->kind == ValueKind::Tuple ? makeTuple(out) : makeList(out);
  }
  ValueRef idx = eval(idxExpr, scope);
  if (idx->kind != ValueKind::Int && idx->kind != ValueKind::Bool)
    fail(idxExpr.loc(), "indices must be integers, not " + typeName(*idx));
  return items[normalizeIndex(*this, idx->i, n, idxExpr.loc(),
                              obj->kind == ValueKind::Tuple ? "tuple" : "list")];
}

} // namespace cnnc::eval
