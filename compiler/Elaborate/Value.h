//===- Value.h - compile-time Python values -------------------------------===//
//
// The values the elaborator computes while it runs `__init__` and traces
// `forward`: Python scalars and containers, functions and classes defined in
// the file, module objects (nn layers and user nn.Module subclasses), builtin
// callables (torch, nn, F, Python builtins) and symbolic tensors, which stand
// for an IR node. Values are shared (Python reference semantics).
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_ELABORATE_VALUE_H
#define CNNC_ELABORATE_VALUE_H

#include "Frontend/AST.h"
#include "IR/Graph.h"

#include "llvm/Support/SMLoc.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cnnc::eval {

struct Value;
using ValueRef = std::shared_ptr<Value>;
struct Scope;
class Interpreter;
class Heap;

/// Base of the objects that can close a reference cycle (Value, ClassInfo):
/// links the object into the Heap of the elaboration running on this thread
/// when it is created (none: not linked). See Heap.
struct Tracked {
  enum class Type : uint8_t { Value, Class };
  explicit Tracked(Type t);
  Tracked(const Tracked &other);
  Tracked &operator=(const Tracked &) { return *this; } ///< links stay
  ~Tracked();

  Type trackedType;
  Heap *heap = nullptr;
  Tracked *prev = nullptr, *next = nullptr;
};

/// The owner of one elaboration's values. Values, scopes, classes and
/// objects share each other through shared_ptr with Python's reference
/// semantics, and Python programs make cycles all the time: a method's
/// closure scope holds the class that holds the method, a class's MRO starts
/// with the class itself, an instance's attribute dict holds a bound method
/// of the instance, a list can contain itself. Every Value and ClassInfo
/// created while a Heap is current is linked into it (an intrusive list, O(1)
/// per object, objects that die on the way unlink themselves). release()
/// (and the destructor, i.e. the end of the Interpreter) first takes a strong
/// reference to every object still alive, then clears the references each of
/// them holds (containers, closures, attributes, bases, bound receivers,
/// builtin closures) - which breaks every cycle, since each one passes
/// through a Value or a ClassInfo - and finally drops its strong references,
/// so everything is freed, shallowly (no deep recursive destruction).
/// Nothing from an elaboration may be used after its Heap is released; the
/// IR graph does not reference compile-time values.
class Heap {
public:
  Heap();  ///< becomes the current heap of this thread
  ~Heap(); ///< release(), then the previous heap is current again
  Heap(const Heap &) = delete;
  Heap &operator=(const Heap &) = delete;

  /// Breaks all cycles among the live objects and lets them go. Objects that
  /// something outside the heap still holds survive, emptied.
  void release();
  /// Number of linked objects still alive (for tests and debugging).
  size_t live() const { return live_; }
  static Heap *current();

private:
  friend struct Tracked;
  void link(Tracked *t);
  void unlink(Tracked *t);
  Tracked *first_ = nullptr;
  size_t live_ = 0;
  Heap *previous_ = nullptr;
};

/// An insertion-ordered string map (Python dict / module registration order).
template <typename T> class OrderedMap {
public:
  T *find(const std::string &k) {
    auto it = index_.find(k);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  const T *find(const std::string &k) const {
    auto it = index_.find(k);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  void set(const std::string &k, T v) {
    if (T *p = find(k))
      *p = std::move(v);
    else {
      index_[k] = items_.size();
      items_.emplace_back(k, std::move(v));
    }
  }
  bool erase(const std::string &k) {
    auto it = index_.find(k);
    if (it == index_.end())
      return false;
    items_.erase(items_.begin() + it->second);
    index_.clear();
    for (size_t i = 0; i < items_.size(); ++i)
      index_[items_[i].first] = i;
    return true;
  }
  const std::vector<std::pair<std::string, T>> &items() const { return items_; }
  size_t size() const { return items_.size(); }

private:
  std::vector<std::pair<std::string, T>> items_;
  std::map<std::string, size_t> index_;
};

/// Arguments of a call after evaluation.
struct CallArgs {
  std::vector<ValueRef> positional;
  std::vector<std::pair<std::string, ValueRef>> keywords;
  std::vector<llvm::SMLoc> positionalLocs;
  std::vector<llvm::SMLoc> keywordLocs;
  llvm::SMLoc callLoc;    ///< start of the whole call expression
  llvm::SMRange callRange;
};

using BuiltinFn = std::function<ValueRef(Interpreter &, CallArgs &)>;

enum class ValueKind {
  None, Bool, Int, Float, Str, Tuple, List, Dict, Slice,
  Function,    ///< a `def` from the file
  Builtin,     ///< a callable implemented by cnnc (range, F.relu, nn.Conv2d, ...)
  Class,       ///< a `class` from the file, or a builtin base (nn.Module, ...)
  Object,      ///< an instance of a class; modules are objects
  BoundMethod, ///< self + Function or Builtin
  Namespace,   ///< an imported module (torch, torch.nn, F, math)
  Tensor,      ///< a symbolic tensor of the traced forward
  Super,       ///< super(): cls = the class to search after, self = receiver
};

struct ClassInfo;

/// Layer configuration of a builtin nn layer object (argument name → value).
struct LayerInfo {
  std::string type;                     ///< "Conv2d", "Sequential", "Module", ...
  OrderedMap<ValueRef> config;          ///< bound constructor arguments
  llvm::SMLoc loc;                      ///< where it was constructed
};

struct ObjectData {
  std::shared_ptr<ClassInfo> cls;       ///< user class, or null for plain layers
  std::shared_ptr<LayerInfo> layer;     ///< builtin layer behaviour, if any
  OrderedMap<ValueRef> attrs;           ///< plain attributes
  OrderedMap<ValueRef> modules;         ///< registered submodules (None allowed)
  OrderedMap<ir::Shape> params;         ///< parameters and float buffers
  std::vector<std::string> paramOrder;  ///< state_dict order (params then buffers)
  std::string path;                     ///< module path from the root ("" root)
  bool isModule = false;
  bool initCalled = false;              ///< nn.Module.__init__ has run
};

struct ClassInfo : Tracked, std::enable_shared_from_this<ClassInfo> {
  ClassInfo() : Tracked(Type::Class) {}
  std::string name;
  const ast::Stmt *def = nullptr;
  std::vector<ValueRef> bases;          ///< Class values, in order
  OrderedMap<ValueRef> attrs;           ///< methods and class attributes
  std::string builtinBase;              ///< "Module", "Sequential", "ModuleList" or ""
  /// Method resolution order (this class first), computed depth-first.
  std::vector<std::shared_ptr<ClassInfo>> mro;
};

struct FunctionData {
  const ast::Stmt *def = nullptr;
  std::shared_ptr<Scope> closure;       ///< scope the def was evaluated in
  std::vector<ValueRef> defaults;       ///< one per param (null when none)
  std::string qualName;
  std::shared_ptr<ClassInfo> owner;     ///< class whose body defined it
};

struct TensorData {
  ir::Node *node = nullptr;             ///< null: poisoned by an earlier error
  ir::Shape shape;
  /// How the last dimension was formed when it comes from flattening
  /// ("16 × 8 × 8 = 1024"), with the flattening call; for diagnostics.
  std::string flattenNote;
  llvm::SMLoc flattenLoc;
  /// For a tensor without a node (after an error upstream): what would have
  /// produced it ("'conv3'"), for later diagnostics.
  std::string origin;
};

struct Value : Tracked, std::enable_shared_from_this<Value> {
  Value() : Tracked(Type::Value) {}
  ValueKind kind = ValueKind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;                              ///< Str; Builtin/Namespace name
  std::vector<ValueRef> items;                ///< Tuple, List, Slice(lo,hi,step)
  std::shared_ptr<OrderedMap<ValueRef>> dict; ///< Dict (string keys)
  std::shared_ptr<FunctionData> fn;
  BuiltinFn builtin;
  std::shared_ptr<ClassInfo> cls;
  std::shared_ptr<ObjectData> obj;
  ValueRef self;                              ///< BoundMethod receiver
  ValueRef method;                            ///< BoundMethod callee
  std::shared_ptr<OrderedMap<ValueRef>> ns;   ///< Namespace members
  std::shared_ptr<TensorData> tensor;
};

// Constructors.
ValueRef makeNone();
ValueRef makeBool(bool v);
ValueRef makeInt(int64_t v);
ValueRef makeFloat(double v);
ValueRef makeStr(std::string v);
ValueRef makeTuple(std::vector<ValueRef> items);
ValueRef makeList(std::vector<ValueRef> items);
ValueRef makeBuiltin(std::string name, BuiltinFn fn);
ValueRef makeTensor(ir::Node *node, ir::Shape shape);

/// Python's type name ("int", "tuple", "Conv2d", "Tensor", ...).
std::string typeName(const Value &v);
/// Python's repr() of simple values, used in messages and f-strings.
std::string repr(const Value &v);
/// str(): like repr but strings unquoted.
std::string str(const Value &v);
bool isNumber(const Value &v);
bool isModuleObject(const Value &v);

} // namespace cnnc::eval

#endif
