//===- Builtins.cpp - Python builtins and the importable namespaces -------===//
//
// The Python builtins model code uses in __init__ (len, range, int, min, max,
// enumerate, zip, isinstance, super, ...) and the namespaces a .cnn file can
// import: torch, torch.nn, torch.nn.functional, math, typing, collections.
//
//===----------------------------------------------------------------------===//
#include "Elaborate/Interpreter.h"
#include "Elaborate/Layers.h"
#include "Elaborate/Trace.h"

#include <cmath>

namespace cnnc::eval {
namespace {

void expectArgs(Interpreter &in, CallArgs &a, const std::string &name, size_t lo,
                size_t hi) {
  if (!a.keywords.empty())
    in.fail(a.keywordLocs[0], name + "() takes no keyword arguments");
  size_t n = a.positional.size();
  if (n < lo || n > hi) {
    std::string want = lo == hi ? std::to_string(lo)
                                : std::to_string(lo) + " to " + std::to_string(hi);
    in.fail(a.callLoc, name + "() takes " + want + " argument" +
                           (hi == 1 ? "" : "s") + " (" + std::to_string(n) + " given)");
  }
}

int64_t intArg(Interpreter &in, CallArgs &a, size_t i, const std::string &fn) {
  const Value &v = *a.positional[i];
  if (v.kind != ValueKind::Int && v.kind != ValueKind::Bool)
    in.fail(a.positionalLocs[i], "'" + typeName(v) + "' object cannot be interpreted "
                                 "as an integer in " + fn + "()");
  return v.i;
}

double numArg(Interpreter &in, CallArgs &a, size_t i, const std::string &fn) {
  const Value &v = *a.positional[i];
  if (v.kind == ValueKind::Float)
    return v.f;
  if (v.kind == ValueKind::Int || v.kind == ValueKind::Bool)
    return (double)v.i;
  in.fail(a.positionalLocs[i], fn + "() expects a number, not " + typeName(v));
}

ValueRef floatToInt(Interpreter &in, double d, llvm::SMLoc loc) {
  if (std::isnan(d))
    in.fail(loc, "cannot convert float NaN to integer");
  if (std::isinf(d))
    in.fail(loc, "cannot convert float infinity to integer");
  if (d >= 9.2e18 || d <= -9.2e18)
    in.fail(loc, "cannot convert float " + repr(*makeFloat(d)) + " to integer");
  return makeInt((int64_t)d);
}

ValueRef minMax(Interpreter &in, CallArgs &a, bool isMax) {
  const char *name = isMax ? "max" : "min";
  std::vector<ValueRef> items;
  if (a.positional.size() == 1)
    items = in.iterate(a.positional[0], a.positionalLocs[0]);
  else
    items = a.positional;
  if (items.empty())
    in.fail(a.callLoc, std::string(name) + "() arg is an empty sequence");
  ValueRef best = items[0];
  for (size_t i = 1; i < items.size(); ++i) {
    if (!isNumber(*items[i]) || !isNumber(*best))
      in.fail(a.callLoc, std::string(name) + "() supports numbers only in .cnn files");
    double x = items[i]->kind == ValueKind::Float ? items[i]->f : (double)items[i]->i;
    double y = best->kind == ValueKind::Float ? best->f : (double)best->i;
    bool better = items[i]->kind != ValueKind::Float && best->kind != ValueKind::Float
                      ? (isMax ? items[i]->i > best->i : items[i]->i < best->i)
                      : (isMax ? x > y : x < y);
    if (better)
      best = items[i];
  }
  return best;
}

bool isInstance(const Value &v, const Value &cls) {
  if (cls.kind == ValueKind::Tuple) {
    for (auto &c : cls.items)
      if (isInstance(v, *c))
        return true;
    return false;
  }
  if (cls.kind == ValueKind::Builtin) {
    const std::string &n = cls.s;
    if (n == "int") return v.kind == ValueKind::Int || v.kind == ValueKind::Bool;
    if (n == "float") return v.kind == ValueKind::Float;
    if (n == "bool") return v.kind == ValueKind::Bool;
    if (n == "str") return v.kind == ValueKind::Str;
    if (n == "tuple") return v.kind == ValueKind::Tuple;
    if (n == "list") return v.kind == ValueKind::List;
    if (n == "dict") return v.kind == ValueKind::Dict;
    if (n.rfind("nn.", 0) == 0)
      return v.kind == ValueKind::Object && v.obj->layer &&
             "nn." + v.obj->layer->type == n;
    return false;
  }
  if (cls.kind == ValueKind::Class && v.kind == ValueKind::Object) {
    if (v.obj->cls)
      for (auto &c : v.obj->cls->mro)
        if (c == cls.cls)
          return true;
    if (!cls.cls->def && v.obj->isModule)
      return cls.cls->builtinBase == "Module" ||
             (v.obj->layer && v.obj->layer->type == cls.cls->builtinBase);
  }
  return false;
}

ValueRef makeNamespace(const std::string &name) {
  auto v = std::make_shared<Value>();
  v->kind = ValueKind::Namespace;
  v->s = name;
  v->ns = std::make_shared<OrderedMap<ValueRef>>();
  return v;
}

struct Namespaces {
  ValueRef torch, nn, functional, math, typing, collections, init;
};

/// Builds the importable namespaces into in.namespaces (once per
/// interpreter: their values belong to its heap).
void buildNamespaces(Interpreter &in) {
  if (in.namespaces.size())
    return;
  Namespaces n;
  n.torch = makeNamespace("torch");
  n.nn = makeNamespace("torch.nn");
  n.functional = makeNamespace("torch.nn.functional");
  n.init = makeNamespace("torch.nn.init");
  n.math = makeNamespace("math");
  n.typing = makeNamespace("typing");
  n.collections = makeNamespace("collections");
  addNNLayers(in, *n.nn->ns);
  addFunctionalOps(in, *n.torch->ns, *n.functional->ns);
  n.nn->ns->set("functional", n.functional);
  n.nn->ns->set("init", n.init);
  n.torch->ns->set("nn", n.nn);
  n.torch->ns->set("Tensor", makeNone());
  n.torch->ns->set("float32", makeStr("float32"));
  // Weight initialisation in __init__ has no effect on compiled code (the
  // weights file provides the values): accept and ignore nn.init.*.
  for (const char *f : {"kaiming_normal_", "kaiming_uniform_", "xavier_normal_",
                        "xavier_uniform_", "normal_", "uniform_", "constant_",
                        "zeros_", "ones_", "trunc_normal_", "orthogonal_"})
    n.init->ns->set(f, makeBuiltin(std::string("nn.init.") + f,
                                   [](Interpreter &, CallArgs &) { return makeNone(); }));
  n.math->ns->set("pi", makeFloat(M_PI));
  n.math->ns->set("e", makeFloat(M_E));
  auto mathFn = [&](const char *name, double (*f)(double), bool toInt) {
    n.math->ns->set(name, makeBuiltin(std::string("math.") + name,
                                      [name, f, toInt](Interpreter &in, CallArgs &a) {
                                        expectArgs(in, a, name, 1, 1);
                                        double x = numArg(in, a, 0, name);
                                        double r = f(x);
                                        // Python's math module raises where
                                        // C returns nan or inf.
                                        bool logFn = name[0] == 'l';
                                        if ((std::isnan(r) && !std::isnan(x)) ||
                                            (logFn && std::isinf(r) && !std::isinf(x)))
                                          in.fail(a.callLoc, std::string("math.") + name +
                                                                 "(" + repr(*a.positional[0]) +
                                                                 "): math domain error");
                                        if (std::isinf(r) && std::isfinite(x))
                                          in.fail(a.callLoc, std::string("math.") + name +
                                                                 "(" + repr(*a.positional[0]) +
                                                                 "): math range error");
                                        return toInt ? floatToInt(in, r, a.callLoc)
                                                     : makeFloat(r);
                                      }));
  };
  mathFn("sqrt", [](double x) { return std::sqrt(x); }, false);
  mathFn("ceil", [](double x) { return std::ceil(x); }, true);
  mathFn("floor", [](double x) { return std::floor(x); }, true);
  mathFn("log", [](double x) { return std::log(x); }, false);
  mathFn("log2", [](double x) { return std::log2(x); }, false);
  mathFn("exp", [](double x) { return std::exp(x); }, false);
  for (const char *t : {"List", "Tuple", "Optional", "Union", "Any", "Dict",
                        "Callable", "Type", "Sequence"})
    n.typing->ns->set(t, makeNone());
  // typing.cast(T, v) is v (torchvision's make_layers: `v = cast(int, v)`).
  n.typing->ns->set("cast", makeBuiltin("typing.cast", [](Interpreter &in, CallArgs &a) {
                      expectArgs(in, a, "cast", 2, 2);
                      return a.positional[1];
                    }));
  n.collections->ns->set(
      "OrderedDict", makeBuiltin("OrderedDict", [](Interpreter &in, CallArgs &a) {
        auto d = std::make_shared<Value>();
        d->kind = ValueKind::Dict;
        d->dict = std::make_shared<OrderedMap<ValueRef>>();
        if (!a.positional.empty())
          for (auto &kv : in.iterate(a.positional[0], a.positionalLocs[0])) {
            auto pair = in.iterate(kv, a.positionalLocs[0]);
            if (pair.size() != 2 || pair[0]->kind != ValueKind::Str)
              in.fail(a.positionalLocs[0], "OrderedDict() expects (name, value) pairs");
            d->dict->set(pair[0]->s, pair[1]);
          }
        return d;
      }));
  in.namespaces.set("torch", n.torch);
  in.namespaces.set("torch.nn", n.nn);
  in.namespaces.set("torch.nn.functional", n.functional);
  in.namespaces.set("torch.nn.init", n.init);
  in.namespaces.set("math", n.math);
  in.namespaces.set("typing", n.typing);
  in.namespaces.set("__future__", n.typing);
  in.namespaces.set("collections", n.collections);
}

} // namespace

ValueRef importNamespace(Interpreter &in, const std::string &dotted) {
  buildNamespaces(in);
  const ValueRef *ns = in.namespaces.find(dotted);
  return ns ? *ns : nullptr;
}

void addPythonBuiltins(Interpreter &interp, Scope &scope) {
  auto def = [&](const char *name, BuiltinFn fn) {
    scope.vars.set(name, makeBuiltin(name, std::move(fn)));
  };
  def("len", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "len", 1, 1);
    const Value &v = *a.positional[0];
    if (v.kind == ValueKind::Str)
      return makeInt(v.s.size());
    if (v.kind == ValueKind::Dict)
      return makeInt(v.dict->size());
    if (v.kind == ValueKind::Tensor)
      return makeInt(v.tensor->shape.empty() ? 0 : v.tensor->shape[0]);
    return makeInt(in.iterate(a.positional[0], a.positionalLocs[0]).size());
  });
  def("range", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "range", 1, 3);
    int64_t lo = 0, hi, step = 1;
    if (a.positional.size() == 1) {
      hi = intArg(in, a, 0, "range");
    } else {
      lo = intArg(in, a, 0, "range");
      hi = intArg(in, a, 1, "range");
      if (a.positional.size() == 3)
        step = intArg(in, a, 2, "range");
    }
    if (step == 0)
      in.fail(a.positionalLocs[2], "range() arg 3 must not be zero");
    __int128 count = step > 0 ? ((__int128)hi - lo + step - 1) / step
                              : ((__int128)lo - hi - step - 1) / -step;
    if (count > 1'000'000)
      in.fail(a.callLoc, "range() of " + std::to_string((long long)count) +
                             " elements is too large for compile-time evaluation");
    std::vector<ValueRef> out;
    for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step)
      out.push_back(makeInt(i));
    return makeList(out);
  });
  def("int", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "int", 0, 1);
    if (a.positional.empty())
      return makeInt(0);
    const Value &v = *a.positional[0];
    if (v.kind == ValueKind::Int || v.kind == ValueKind::Bool)
      return makeInt(v.i);
    if (v.kind == ValueKind::Float)
      return floatToInt(in, std::trunc(v.f), a.callLoc);
    if (v.kind == ValueKind::Str) {
      try {
        size_t used = 0;
        long long r = std::stoll(v.s, &used);
        if (used == v.s.size())
          return makeInt(r);
      } catch (...) {
      }
      in.fail(a.positionalLocs[0], "invalid literal for int(): " + repr(v));
    }
    in.fail(a.positionalLocs[0], "int() argument must be a number, not " + typeName(v));
  });
  def("float", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "float", 0, 1);
    if (a.positional.empty())
      return makeFloat(0);
    return makeFloat(numArg(in, a, 0, "float"));
  });
  def("bool", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "bool", 0, 1);
    return makeBool(!a.positional.empty() &&
                    in.truthy(*a.positional[0], a.positionalLocs[0]));
  });
  def("str", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "str", 0, 1);
    return makeStr(a.positional.empty() ? "" : str(*a.positional[0]));
  });
  def("round", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "round", 1, 2);
    double x = numArg(in, a, 0, "round");
    if (a.positional.size() == 2) {
      int64_t nd = intArg(in, a, 1, "round");
      if (!std::isfinite(x) || nd > 308)
        return makeFloat(x); // nothing to round at that precision
      if (nd < -308)
        return makeFloat(std::copysign(0.0, x));
      double p = std::pow(10.0, (double)nd);
      if (!std::isfinite(x * p))
        return makeFloat(x);
      return makeFloat(std::nearbyint(x * p) / p);
    }
    return floatToInt(in, std::nearbyint(x), a.callLoc); // banker's rounding
  });
  def("abs", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "abs", 1, 1);
    const Value &v = *a.positional[0];
    if (v.kind == ValueKind::Float)
      return makeFloat(std::fabs(v.f));
    int64_t i = intArg(in, a, 0, "abs");
    if (i == INT64_MIN)
      in.fail(a.callLoc, "integer overflow in compile-time arithmetic");
    return makeInt(i < 0 ? -i : i);
  });
  def("min", [](Interpreter &in, CallArgs &a) { return minMax(in, a, false); });
  def("max", [](Interpreter &in, CallArgs &a) { return minMax(in, a, true); });
  def("sum", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "sum", 1, 2);
    ValueRef acc = a.positional.size() == 2 ? a.positional[1] : makeInt(0);
    for (auto &x : in.iterate(a.positional[0], a.positionalLocs[0]))
      acc = in.binary("+", acc, x, a.callLoc);
    return acc;
  });
  def("list", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "list", 0, 1);
    return makeList(a.positional.empty()
                        ? std::vector<ValueRef>{}
                        : in.iterate(a.positional[0], a.positionalLocs[0]));
  });
  def("tuple", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "tuple", 0, 1);
    return makeTuple(a.positional.empty()
                         ? std::vector<ValueRef>{}
                         : in.iterate(a.positional[0], a.positionalLocs[0]));
  });
  def("dict", [](Interpreter &in, CallArgs &a) {
    auto d = std::make_shared<Value>();
    d->kind = ValueKind::Dict;
    d->dict = std::make_shared<OrderedMap<ValueRef>>();
    for (auto &kw : a.keywords)
      d->dict->set(kw.first, kw.second);
    return d;
  });
  def("enumerate", [](Interpreter &in, CallArgs &a) {
    int64_t start = 0;
    for (auto &kw : a.keywords)
      if (kw.first == "start" && kw.second->kind == ValueKind::Int)
        start = kw.second->i;
    if (a.positional.size() == 2)
      start = intArg(in, a, 1, "enumerate");
    if (a.positional.empty())
      in.fail(a.callLoc, "enumerate() takes an iterable");
    std::vector<ValueRef> out;
    for (auto &x : in.iterate(a.positional[0], a.positionalLocs[0]))
      out.push_back(makeTuple({makeInt(start++), x}));
    return makeList(out);
  });
  def("zip", [](Interpreter &in, CallArgs &a) {
    std::vector<std::vector<ValueRef>> seqs;
    for (size_t i = 0; i < a.positional.size(); ++i)
      seqs.push_back(in.iterate(a.positional[i], a.positionalLocs[i]));
    std::vector<ValueRef> out;
    for (size_t k = 0; !seqs.empty(); ++k) {
      std::vector<ValueRef> row;
      for (auto &s : seqs) {
        if (k >= s.size())
          return makeList(out);
        row.push_back(s[k]);
      }
      out.push_back(makeTuple(row));
    }
    return makeList(out);
  });
  def("reversed", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "reversed", 1, 1);
    auto items = in.iterate(a.positional[0], a.positionalLocs[0]);
    return makeList(std::vector<ValueRef>(items.rbegin(), items.rend()));
  });
  def("isinstance", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "isinstance", 2, 2);
    return makeBool(isInstance(*a.positional[0], *a.positional[1]));
  });
  def("hasattr", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "hasattr", 2, 2);
    if (a.positional[1]->kind != ValueKind::Str)
      in.fail(a.positionalLocs[1], "hasattr(): attribute name must be a string");
    try {
      in.getAttr(a.positional[0], a.positional[1]->s, a.callLoc);
      return makeBool(true);
    } catch (EvalError &) {
      return makeBool(false);
    }
  });
  def("getattr", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "getattr", 2, 3);
    if (a.positional[1]->kind != ValueKind::Str)
      in.fail(a.positionalLocs[1], "getattr(): attribute name must be a string");
    if (a.positional.size() == 3) {
      try {
        return in.getAttr(a.positional[0], a.positional[1]->s, a.callLoc);
      } catch (EvalError &) {
        return a.positional[2];
      }
    }
    return in.getAttr(a.positional[0], a.positional[1]->s, a.callLoc);
  });
  def("setattr", [](Interpreter &in, CallArgs &a) {
    expectArgs(in, a, "setattr", 3, 3);
    if (a.positional[1]->kind != ValueKind::Str)
      in.fail(a.positionalLocs[1], "setattr(): attribute name must be a string");
    in.setAttr(a.positional[0], a.positional[1]->s, a.positional[2], a.callLoc);
    return makeNone();
  });
  def("print", [](Interpreter &, CallArgs &) { return makeNone(); });
  def("super", [](Interpreter &in, CallArgs &a) {
    auto v = std::make_shared<Value>();
    v->kind = ValueKind::Super;
    if (a.positional.size() == 2) {
      if (a.positional[0]->kind != ValueKind::Class ||
          a.positional[1]->kind != ValueKind::Object)
        in.fail(a.callLoc, "super() takes a class and an instance");
      v->cls = a.positional[0]->cls;
      v->self = a.positional[1];
      return v;
    }
    if (!a.positional.empty() || in.frames.empty() || !in.frames.back().first ||
        !in.frames.back().second)
      in.fail(a.callLoc, "super(): no arguments is only supported inside a method");
    v->cls = in.frames.back().first;
    v->self = in.frames.back().second;
    return v;
  });
  // isinstance() targets.
  for (const char *t : {"object"})
    def(t, [t](Interpreter &in, CallArgs &a) -> ValueRef {
      in.fail(a.callLoc, std::string("'") + t + "' cannot be called in .cnn files");
    });
}

} // namespace cnnc::eval
