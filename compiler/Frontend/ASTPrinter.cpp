//===- ASTPrinter.cpp - stable text dump of the AST -----------------------===//
#include "Frontend/ASTPrinter.h"

#include "llvm/Support/Format.h"

using namespace cnnc::ast;

namespace cnnc {
namespace {

const char *exprKindName(ExprKind k) {
  switch (k) {
  case ExprKind::Name: return "Name";
  case ExprKind::Int: return "Int";
  case ExprKind::Float: return "Float";
  case ExprKind::Str: return "Str";
  case ExprKind::Bool: return "Bool";
  case ExprKind::None: return "None";
  case ExprKind::Ellipsis: return "Ellipsis";
  case ExprKind::Tuple: return "Tuple";
  case ExprKind::List: return "List";
  case ExprKind::Dict: return "Dict";
  case ExprKind::Attribute: return "Attribute";
  case ExprKind::Call: return "Call";
  case ExprKind::Subscript: return "Subscript";
  case ExprKind::Slice: return "Slice";
  case ExprKind::BinOp: return "BinOp";
  case ExprKind::UnaryOp: return "UnaryOp";
  case ExprKind::Compare: return "Compare";
  case ExprKind::BoolOp: return "BoolOp";
  case ExprKind::IfExp: return "IfExp";
  case ExprKind::ListComp: return "ListComp";
  case ExprKind::Starred: return "Starred";
  case ExprKind::DoubleStarred: return "DoubleStarred";
  case ExprKind::Lambda: return "Lambda";
  }
  return "?";
}

const char *stmtKindName(StmtKind k) {
  switch (k) {
  case StmtKind::Expr: return "ExprStmt";
  case StmtKind::Assign: return "Assign";
  case StmtKind::AugAssign: return "AugAssign";
  case StmtKind::AnnAssign: return "AnnAssign";
  case StmtKind::Return: return "Return";
  case StmtKind::Pass: return "Pass";
  case StmtKind::Break: return "Break";
  case StmtKind::Continue: return "Continue";
  case StmtKind::If: return "If";
  case StmtKind::For: return "For";
  case StmtKind::FunctionDef: return "FunctionDef";
  case StmtKind::ClassDef: return "ClassDef";
  case StmtKind::Import: return "Import";
  case StmtKind::ImportFrom: return "ImportFrom";
  case StmtKind::Unsupported: return "Unsupported";
  }
  return "?";
}

class Printer {
public:
  Printer(const llvm::SourceMgr &sm, llvm::raw_ostream &os) : sm_(sm), os_(os) {}

  void stmts(const StmtList &list, unsigned depth) {
    for (const auto &s : list)
      stmt(*s, depth);
  }

private:
  const llvm::SourceMgr &sm_;
  llvm::raw_ostream &os_;

  void at(llvm::SMLoc loc) {
    if (!loc.isValid())
      return;
    auto lc = sm_.getLineAndColumn(loc);
    os_ << " @" << lc.first << ":" << lc.second;
  }
  void indent(unsigned d) { os_.indent(2 * d); }

  static std::string quote(const std::string &s) {
    std::string out = "'";
    for (char c : s) {
      if (c == '\n') out += "\\n";
      else if (c == '\'') out += "\\'";
      else if (c == '\\') out += "\\\\";
      else out += c;
    }
    return out + "'";
  }

  void label(const char *what, unsigned depth) {
    indent(depth);
    os_ << what << ":\n";
  }

  void stmt(const Stmt &s, unsigned d) {
    indent(d);
    os_ << stmtKindName(s.kind);
    switch (s.kind) {
    case StmtKind::AugAssign: os_ << " " << s.text << "="; break;
    case StmtKind::FunctionDef:
    case StmtKind::ClassDef: os_ << " " << s.name; break;
    case StmtKind::ImportFrom: os_ << " " << s.module << " import"; break;
    case StmtKind::Unsupported: os_ << " '" << s.text << "'"; break;
    default: break;
    }
    for (size_t i = 0; i < s.imports.size(); ++i) {
      const auto &imp = s.imports[i];
      os_ << (i ? ", " : " ") << imp.name;
      if (!imp.asName.empty())
        os_ << " as " << imp.asName;
    }
    at(s.loc());
    os_ << "\n";
    for (const auto &dec : s.decorators) {
      label("decorator", d + 1);
      expr(*dec, d + 2);
    }
    for (const auto &b : s.bases) {
      label("base", d + 1);
      expr(*b, d + 2);
    }
    for (const auto &p : s.params) {
      indent(d + 1);
      os_ << "Param " << (p.kind == Param::Star ? "*" : p.kind == Param::DoubleStar ? "**" : "")
          << p.name;
      at(p.range.begin);
      os_ << "\n";
      if (p.annotation) {
        label("annotation", d + 2);
        expr(*p.annotation, d + 3);
      }
      if (p.defaultValue) {
        label("default", d + 2);
        expr(*p.defaultValue, d + 3);
      }
    }
    for (const auto &t : s.targets) {
      label("target", d + 1);
      expr(*t, d + 2);
    }
    if (s.annotation) {
      label("annotation", d + 1);
      expr(*s.annotation, d + 2);
    }
    if (s.value) {
      label(s.kind == StmtKind::If ? "cond" : s.kind == StmtKind::For ? "iter" : "value", d + 1);
      expr(*s.value, d + 2);
    }
    if (!s.body.empty()) {
      label("body", d + 1);
      stmts(s.body, d + 2);
    }
    if (!s.orelse.empty()) {
      label("else", d + 1);
      stmts(s.orelse, d + 2);
    }
  }

  void expr(const Expr &e, unsigned d) {
    indent(d);
    os_ << exprKindName(e.kind);
    switch (e.kind) {
    case ExprKind::Name:
    case ExprKind::Attribute: os_ << " " << e.text; break;
    case ExprKind::Int: os_ << " " << e.intValue; break;
    case ExprKind::Float: os_ << " " << llvm::format("%g", e.floatValue); break;
    case ExprKind::Str: os_ << (e.isFString ? " f" : " ") << quote(e.text); break;
    case ExprKind::Bool: os_ << (e.intValue ? " True" : " False"); break;
    case ExprKind::BinOp:
    case ExprKind::UnaryOp:
    case ExprKind::BoolOp: os_ << " " << e.text; break;
    case ExprKind::Compare:
      for (const auto &op : e.ops)
        os_ << " " << op;
      break;
    default: break;
    }
    at(e.loc());
    os_ << "\n";
    for (size_t i = 0; i < e.children.size(); ++i) {
      if (!e.children[i]) {
        indent(d + 1);
        os_ << "<none>\n";
        continue;
      }
      if (e.kind == ExprKind::Call && i > 0 && !e.argNames[i - 1].empty()) {
        indent(d + 1);
        os_ << "keyword " << e.argNames[i - 1] << ":\n";
        expr(*e.children[i], d + 2);
        continue;
      }
      expr(*e.children[i], d + 1);
    }
    for (const auto &g : e.generators) {
      label("for", d + 1);
      expr(*g.target, d + 2);
      label("in", d + 1);
      expr(*g.iter, d + 2);
      for (const auto &c : g.conds) {
        label("if", d + 1);
        expr(*c, d + 2);
      }
    }
  }
};

} // namespace

void printAST(const File &file, const llvm::SourceMgr &sm, llvm::raw_ostream &os) {
  os << "File " << file.path << "\n";
  Printer(sm, os).stmts(file.body, 1);
}

} // namespace cnnc
