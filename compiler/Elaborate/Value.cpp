//===- Value.cpp - construction and printing of compile-time values -------===//
#include "Elaborate/Value.h"

#include <cmath>
#include <cstdio>

namespace cnnc::eval {

static ValueRef make(ValueKind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}

ValueRef makeNone() { return make(ValueKind::None); }
ValueRef makeBool(bool b) {
  auto v = make(ValueKind::Bool);
  v->b = b;
  v->i = b;
  return v;
}
ValueRef makeInt(int64_t i) {
  auto v = make(ValueKind::Int);
  v->i = i;
  return v;
}
ValueRef makeFloat(double f) {
  auto v = make(ValueKind::Float);
  v->f = f;
  return v;
}
ValueRef makeStr(std::string s) {
  auto v = make(ValueKind::Str);
  v->s = std::move(s);
  return v;
}
ValueRef makeTuple(std::vector<ValueRef> items) {
  auto v = make(ValueKind::Tuple);
  v->items = std::move(items);
  return v;
}
ValueRef makeList(std::vector<ValueRef> items) {
  auto v = make(ValueKind::List);
  v->items = std::move(items);
  return v;
}
ValueRef makeBuiltin(std::string name, BuiltinFn fn) {
  auto v = make(ValueKind::Builtin);
  v->s = std::move(name);
  v->builtin = std::move(fn);
  return v;
}
ValueRef makeTensor(ir::Node *node, ir::Shape shape) {
  auto v = make(ValueKind::Tensor);
  v->tensor = std::make_shared<TensorData>();
  v->tensor->node = node;
  v->tensor->shape = std::move(shape);
  return v;
}

bool isNumber(const Value &v) {
  return v.kind == ValueKind::Int || v.kind == ValueKind::Float ||
         v.kind == ValueKind::Bool;
}

bool isModuleObject(const Value &v) {
  return v.kind == ValueKind::Object && v.obj->isModule;
}

std::string typeName(const Value &v) {
  switch (v.kind) {
  case ValueKind::None: return "NoneType";
  case ValueKind::Bool: return "bool";
  case ValueKind::Int: return "int";
  case ValueKind::Float: return "float";
  case ValueKind::Str: return "str";
  case ValueKind::Tuple: return "tuple";
  case ValueKind::List: return "list";
  case ValueKind::Dict: return "dict";
  case ValueKind::Slice: return "slice";
  case ValueKind::Function: return "function";
  case ValueKind::Builtin: return "builtin function";
  case ValueKind::Class: return "type";
  case ValueKind::Object:
    if (v.obj->cls)
      return v.obj->cls->name;
    return v.obj->layer ? v.obj->layer->type : "object";
  case ValueKind::BoundMethod: return "method";
  case ValueKind::Namespace: return "module";
  case ValueKind::Tensor: return "Tensor";
  case ValueKind::Super: return "super";
  }
  return "object";
}

static std::string formatFloat(double f) {
  if (std::isinf(f))
    return f > 0 ? "inf" : "-inf";
  if (std::isnan(f))
    return "nan";
  char buf[64];
  // Python prints the shortest repr that round-trips.
  for (int prec = 1; prec <= 17; ++prec) {
    snprintf(buf, sizeof buf, "%.*g", prec, f);
    if (std::strtod(buf, nullptr) == f)
      break;
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos && s.find("inf") == std::string::npos)
    s += ".0";
  return s;
}

std::string repr(const Value &v) {
  switch (v.kind) {
  case ValueKind::None: return "None";
  case ValueKind::Bool: return v.b ? "True" : "False";
  case ValueKind::Int: return std::to_string(v.i);
  case ValueKind::Float: return formatFloat(v.f);
  case ValueKind::Str: return "'" + v.s + "'";
  case ValueKind::Tuple:
  case ValueKind::List: {
    std::string out = v.kind == ValueKind::Tuple ? "(" : "[";
    for (size_t i = 0; i < v.items.size(); ++i)
      out += (i ? ", " : "") + repr(*v.items[i]);
    if (v.kind == ValueKind::Tuple && v.items.size() == 1)
      out += ",";
    return out + (v.kind == ValueKind::Tuple ? ")" : "]");
  }
  case ValueKind::Dict: {
    std::string out = "{";
    bool first = true;
    for (auto &kv : v.dict->items()) {
      out += (first ? "'" : ", '") + kv.first + "': " + repr(*kv.second);
      first = false;
    }
    return out + "}";
  }
  case ValueKind::Tensor: {
    std::string out = "Tensor[";
    for (size_t i = 0; i < v.tensor->shape.size(); ++i)
      out += (i ? ", " : "") + std::to_string(v.tensor->shape[i]);
    return out + "]";
  }
  case ValueKind::Class: return "<class '" + v.cls->name + "'>";
  case ValueKind::Builtin: return "<built-in function " + v.s + ">";
  case ValueKind::Namespace: return "<module '" + v.s + "'>";
  default: return "<" + typeName(v) + ">";
  }
}

std::string str(const Value &v) {
  return v.kind == ValueKind::Str ? v.s : repr(v);
}

} // namespace cnnc::eval
