//===- Value.cpp - construction and printing of compile-time values -------===//
#include "Elaborate/Value.h"

#include <cmath>
#include <cstdio>

namespace cnnc::eval {

// ------------------------------------------------------------------- heap

static thread_local Heap *currentHeap = nullptr;

Heap *Heap::current() { return currentHeap; }

Heap::Heap() : previous_(currentHeap) { currentHeap = this; }

Heap::~Heap() {
  release();
  // Survivors (held from outside) must not unlink from a dead heap.
  for (Tracked *t = first_; t;) {
    Tracked *next = t->next;
    t->heap = nullptr;
    t->prev = t->next = nullptr;
    t = next;
  }
  if (currentHeap == this)
    currentHeap = previous_;
}

void Heap::link(Tracked *t) {
  t->heap = this;
  t->prev = nullptr;
  t->next = first_;
  if (first_)
    first_->prev = t;
  first_ = t;
  ++live_;
}

void Heap::unlink(Tracked *t) {
  if (t->prev)
    t->prev->next = t->next;
  else
    first_ = t->next;
  if (t->next)
    t->next->prev = t->prev;
  t->heap = nullptr;
  t->prev = t->next = nullptr;
  --live_;
}

void Heap::release() {
  // 1. Keep everything alive while the references are cut, so that clearing
  //    one object never destroys another in the middle (no deep recursion,
  //    no list surgery under our feet). Objects not owned by a shared_ptr
  //    (temporaries on the stack) are left to their owner.
  std::vector<ValueRef> values;
  std::vector<std::shared_ptr<ClassInfo>> classes;
  values.reserve(live_);
  for (Tracked *t = first_; t; t = t->next) {
    if (t->trackedType == Tracked::Type::Value) {
      if (ValueRef v = static_cast<Value *>(t)->weak_from_this().lock())
        values.push_back(std::move(v));
    } else if (auto c = static_cast<ClassInfo *>(t)->weak_from_this().lock()) {
      classes.push_back(std::move(c));
    }
  }
  // 2. Cut every outgoing reference. What this frees directly (dicts,
  //    function data and their closure scopes, object data, layer
  //    configurations, tensors, builtin closures) only holds references to
  //    objects kept alive by step 1.
  for (auto &v : values) {
    std::vector<ValueRef>().swap(v->items);
    v->dict.reset();
    v->fn.reset();
    v->builtin = nullptr;
    v->cls.reset();
    v->obj.reset();
    v->self.reset();
    v->method.reset();
    v->ns.reset();
    v->tensor.reset();
  }
  for (auto &c : classes) {
    std::vector<ValueRef>().swap(c->bases);
    c->attrs = OrderedMap<ValueRef>();
    std::vector<std::shared_ptr<ClassInfo>>().swap(c->mro);
  }
  // 3. Let go: every object is now a leaf and is freed unless something
  //    outside the heap still holds it.
  values.clear();
  classes.clear();
}

Tracked::Tracked(Type t) : trackedType(t) {
  if (currentHeap)
    currentHeap->link(this);
}

Tracked::Tracked(const Tracked &other) : trackedType(other.trackedType) {
  if (currentHeap)
    currentHeap->link(this);
}

Tracked::~Tracked() {
  if (heap)
    heap->unlink(this);
}

// ----------------------------------------------------------------- values

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
