//===- AST.h - the abstract syntax tree of a .cnn file --------------------===//
//
// Our own tree for the Python subset, built from ANTLR's parse tree by
// ASTBuilder; nothing outside compiler/Frontend sees ANTLR types. Every node
// carries the source range it was parsed from, so diagnostics in elaboration
// and tracing point at the exact call. Nodes are plain structs with a kind
// tag: the subset is small and the evaluator switches over the kind.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_FRONTEND_AST_H
#define CNNC_FRONTEND_AST_H

#include "llvm/Support/SMLoc.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cnnc::ast {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using StmtList = std::vector<StmtPtr>;

enum class ExprKind {
  Name,      ///< text = identifier
  Int,       ///< intValue
  Float,     ///< floatValue
  Str,       ///< text = decoded value; isFString for f-strings
  Bool,      ///< intValue 0/1
  None,
  Ellipsis,
  Tuple,     ///< children = elements
  List,      ///< children = elements
  Dict,      ///< children = key, value, key, value...
  Attribute, ///< children[0] = object, text = attribute name
  Call,      ///< children[0] = callee, then args; argNames[i] names args[i+1]
  Subscript, ///< children[0] = object, children[1] = index (a Tuple if several)
  Slice,     ///< children = lo, hi, step (null where omitted)
  BinOp,     ///< text = operator ("+", "//", ...), children = lhs, rhs
  UnaryOp,   ///< text = "-", "+", "~", "not"; children[0]
  Compare,   ///< children = operands; ops[i] between children[i] and [i+1]
  BoolOp,    ///< text = "and" / "or"; children = operands
  IfExp,     ///< children = body, cond, orelse
  ListComp,  ///< children = element, then per generator: target, iter, conds...
  Starred,   ///< children[0]; `*x` in calls, lists, targets
  DoubleStarred, ///< children[0]; `**x` in calls
  Lambda,    ///< unsupported; kept for the diagnostic
};

struct SourceRange {
  llvm::SMLoc begin, end;
};

/// One `for ... in ... if ...` clause of a comprehension.
struct Comprehension {
  ExprPtr target, iter;
  std::vector<ExprPtr> conds;
};

struct Expr {
  ExprKind kind;
  SourceRange range;
  std::string text;
  int64_t intValue = 0;
  double floatValue = 0.0;
  bool isFString = false;
  llvm::SMLoc opLoc; ///< BinOp: the operator token, where errors point
  std::vector<ExprPtr> children;
  std::vector<std::string> argNames; ///< Call: "" positional, name= keyword
  std::vector<std::string> ops;      ///< Compare operators
  std::vector<Comprehension> generators; ///< ListComp

  Expr(ExprKind k, SourceRange r) : kind(k), range(r) {}
  llvm::SMLoc loc() const { return range.begin; }
};

enum class StmtKind {
  Expr,        ///< value
  Assign,      ///< targets (a = b = value), value
  AugAssign,   ///< targets[0], text = operator without '=', value
  AnnAssign,   ///< targets[0], annotation, value (may be null)
  Return,      ///< value (may be null)
  Pass,
  Break,
  Continue,
  If,          ///< value = condition, body, orelse
  For,         ///< targets[0], value = iterable, body, orelse
  FunctionDef, ///< name, params, body, decorators
  ClassDef,    ///< name, bases (call-style arguments), body
  Import,      ///< imports
  ImportFrom,  ///< module, imports
  Unsupported, ///< text = construct name ("while", "try", ...)
};

/// One parameter of a `def`.
struct Param {
  enum Kind { Plain, Star, DoubleStar } kind = Plain;
  std::string name;  ///< empty for a bare `*`
  ExprPtr annotation; ///< may be null
  ExprPtr defaultValue; ///< may be null
  SourceRange range;
};

/// `import a.b as c` / `from a import b as c`.
struct ImportName {
  std::string name;   ///< dotted module (import) or imported name (from)
  std::string asName; ///< empty when there is no `as`
  SourceRange range;
};

struct Stmt {
  StmtKind kind;
  SourceRange range;
  std::string text;
  std::string name;
  std::vector<ExprPtr> targets;
  ExprPtr value;
  ExprPtr annotation;
  StmtList body, orelse;
  std::vector<Param> params;
  std::vector<ExprPtr> bases;         ///< ClassDef: `class A(nn.Module)`
  std::vector<ExprPtr> decorators;
  std::vector<ImportName> imports;
  std::string module;                 ///< ImportFrom

  Stmt(StmtKind k, SourceRange r) : kind(k), range(r) {}
  llvm::SMLoc loc() const { return range.begin; }
};

/// A whole .cnn file.
struct File {
  std::string path;
  StmtList body;
};

} // namespace cnnc::ast

#endif
