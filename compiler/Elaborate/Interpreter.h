//===- Interpreter.h - compile-time evaluation of the Python subset -------===//
//
// A small tree-walking interpreter over the AST. Elaboration runs the file's
// top level and the entry model's `__init__` with it, producing a tree of
// module objects; tracing runs `forward` with a symbolic tensor, and every
// layer or tensor operation appends a node to the IR graph (Trace*.cpp).
// User mistakes are EvalErrors (thrown, reported with their source location);
// shape errors during tracing are reported directly and tracing continues
// with a poisoned tensor so that independent errors surface in one run.
// Evaluation is bounded: recursion depth and total steps have limits, so no
// input can hang or overflow the compiler.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_ELABORATE_INTERPRETER_H
#define CNNC_ELABORATE_INTERPRETER_H

#include "Elaborate/Value.h"
#include "Support/Diagnostics.h"

#include "llvm/ADT/Twine.h"

#include <exception>

namespace cnnc::eval {

/// A user error found during evaluation; carries its location and notes.
struct EvalError : std::exception {
  llvm::SMLoc loc;
  llvm::SMRange range;
  std::string message;
  std::vector<std::pair<llvm::SMLoc, std::string>> notes;
  const char *what() const noexcept override { return message.c_str(); }
};

struct Scope {
  OrderedMap<ValueRef> vars;
  std::shared_ptr<Scope> parent; ///< enclosing function / module scope
};

class Interpreter {
public:
  Interpreter(DiagEngine &diags, ir::Graph &graph);

  /// Runs the file's top-level statements (imports, classes, constants).
  void runModule(const ast::File &file);

  // -- evaluation -------------------------------------------------------
  ValueRef eval(const ast::Expr &e, const std::shared_ptr<Scope> &scope);
  ValueRef call(const ValueRef &callee, CallArgs &args);
  ValueRef getAttr(const ValueRef &obj, const std::string &name, llvm::SMLoc loc,
                   llvm::SMRange range = {});
  void setAttr(const ValueRef &obj, const std::string &name, ValueRef value,
               llvm::SMLoc loc);
  bool truthy(const Value &v, llvm::SMLoc loc);
  /// Elements of an iterable (tuple, list, str, dict keys, Sequential, ...).
  std::vector<ValueRef> iterate(const ValueRef &v, llvm::SMLoc loc);
  /// Python `==` for compile-time values.
  bool equals(const Value &a, const Value &b);
  ValueRef binary(const std::string &op, const ValueRef &a, const ValueRef &b,
                  llvm::SMLoc loc);

  /// Instantiates a class (user or builtin) with arguments.
  ValueRef instantiate(const ValueRef &cls, CallArgs &args);
  /// Calls a module object like PyTorch's Module.__call__ (forward).
  ValueRef callModule(const ValueRef &module, CallArgs &args);

  // -- errors -----------------------------------------------------------
  [[noreturn]] void fail(llvm::SMLoc loc, const llvm::Twine &msg,
                         llvm::SMRange range = {});
  [[noreturn]] void failWithNote(llvm::SMLoc loc, const llvm::Twine &msg,
                                 llvm::SMLoc noteLoc, const llvm::Twine &note);
  /// Reports an EvalError through the DiagEngine.
  void report(const EvalError &e);

  // -- state ------------------------------------------------------------
  DiagEngine &diags;
  ir::Graph &graph;
  /// Owns every value of this elaboration and breaks their reference cycles
  /// when the interpreter goes away (see Heap in Value.h). Declared before
  /// all members that hold values, so it is released after them.
  Heap heap;
  std::shared_ptr<Scope> globals;
  std::shared_ptr<Scope> builtins;
  bool tracing = false;       ///< inside forward (tensor operations allowed)
  unsigned callDepth = 0;
  /// Per active user-function call: its defining class and receiver.
  std::vector<std::pair<std::shared_ptr<ClassInfo>, ValueRef>> frames;
  uint64_t steps = 0;
  /// The importable namespaces (torch, torch.nn, ...), built on first use.
  OrderedMap<ValueRef> namespaces;

  static constexpr unsigned kMaxCallDepth = 200;
  static constexpr uint64_t kMaxSteps = 20'000'000;

private:
  enum class Flow { Normal, Break, Continue, Return };
  Flow exec(const ast::StmtList &body, const std::shared_ptr<Scope> &scope,
            ValueRef &ret);
  Flow execStmt(const ast::Stmt &s, const std::shared_ptr<Scope> &scope,
                ValueRef &ret);
  void assign(const ast::Expr &target, ValueRef value,
              const std::shared_ptr<Scope> &scope);
  ValueRef lookup(const std::string &name, const std::shared_ptr<Scope> &scope,
                  const ast::Expr &at);
  ValueRef evalCall(const ast::Expr &e, const std::shared_ptr<Scope> &scope);
  ValueRef evalSubscript(const ast::Expr &e, const std::shared_ptr<Scope> &scope);
  ValueRef evalCompare(const ast::Expr &e, const std::shared_ptr<Scope> &scope);
  ValueRef evalListComp(const ast::Expr &e, const std::shared_ptr<Scope> &scope);
  ValueRef evalFString(const ast::Expr &e, const std::shared_ptr<Scope> &scope);
  /// Parses and evaluates a Python expression given as text (f-strings).
  ValueRef evalSnippet(const std::string &text, llvm::SMLoc at,
                       const std::shared_ptr<Scope> &scope);
  std::vector<std::unique_ptr<ast::File>> snippets_; ///< keeps their ASTs alive
  ValueRef callFunction(const ValueRef &fn, const ValueRef &self, CallArgs &args);
  ValueRef defineClass(const ast::Stmt &s, const std::shared_ptr<Scope> &scope);
  void import(const ast::Stmt &s, const std::shared_ptr<Scope> &scope);
  void tick(llvm::SMLoc loc);
};

/// Suggestion for a misspelt name among candidates, or "".
std::string didYouMean(const std::string &name,
                       const std::vector<std::string> &candidates);

/// Registers Python builtins (len, range, int, ...) into scope.
void addPythonBuiltins(Interpreter &interp, Scope &scope);
/// The importable namespaces: "torch", "torch.nn", "torch.nn.functional",
/// "math"; null when the module is not available.
ValueRef importNamespace(Interpreter &interp, const std::string &dotted);

} // namespace cnnc::eval

#endif
