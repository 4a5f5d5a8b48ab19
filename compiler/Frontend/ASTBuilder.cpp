//===- ASTBuilder.cpp - ANTLR parse tree to our AST -----------------------===//
//
// A visitor over CnnParser's contexts that produces ast::Stmt / ast::Expr with
// source ranges. Literals are decoded here (integers checked against 64 bits,
// strings unescaped, implicit concatenation done). Constructs the grammar
// accepts only to name them (while, try, lambda, ...) become Unsupported
// statements or are reported directly.
//
//===----------------------------------------------------------------------===//
#include "Frontend/ASTBuilder.h"

#include "CnnLexer.h"
#include "CnnParser.h"

#include <cerrno>
#include <cstdlib>

using namespace cnnc::ast;
using P = cnnc_antlr::CnnParser;

static_assert(cnnc_antlr::CnnLexer::INDENT == P::INDENT &&
                  cnnc_antlr::CnnLexer::DEDENT == P::DEDENT,
              "lexer layout tokens out of sync with the parser");

namespace cnnc {

SourcePositions::SourcePositions(const char *bufStart, size_t bufSize)
    : start_(bufStart) {
  // Mirror ANTLRInputStream's UTF-8 decoding: one entry per code point.
  for (size_t i = 0; i < bufSize;) {
    byteOffset_.push_back(i);
    unsigned char c = bufStart[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    i += len;
  }
  byteOffset_.push_back(bufSize);
}

llvm::SMLoc SourcePositions::at(size_t cp) const {
  if (cp >= byteOffset_.size())
    cp = byteOffset_.size() - 1;
  return llvm::SMLoc::getFromPointer(start_ + byteOffset_[cp]);
}

namespace {

class Builder {
public:
  Builder(const SourcePositions &pos, DiagEngine &diags)
      : pos_(pos), diags_(diags) {}

  StmtList stmts(const std::vector<P::StmtContext *> &list) {
    StmtList out;
    for (auto *s : list)
      stmt(s, out);
    return out;
  }

  void stmt(P::StmtContext *s, StmtList &out) {
    if (auto *ss = s->simpleStmts())
      return simpleStmts(ss, out);
    out.push_back(compound(s->compoundStmt()));
  }

private:
  const SourcePositions &pos_;
  DiagEngine &diags_;

  SourceRange range(antlr4::ParserRuleContext *c) const {
    return {pos_.startOf(c->getStart()), pos_.endOf(c->getStop())};
  }
  SourceRange range(antlr4::Token *t) const {
    return {pos_.startOf(t), pos_.endOf(t)};
  }

  ExprPtr make(ExprKind k, antlr4::ParserRuleContext *c) {
    return std::make_unique<Expr>(k, range(c));
  }

  // ------------------------------------------------------------ statements

  void simpleStmts(P::SimpleStmtsContext *c, StmtList &out) {
    for (auto *s : c->simpleStmt())
      out.push_back(simple(s));
  }

  StmtPtr simple(P::SimpleStmtContext *c) {
    auto r = range(c);
    if (auto *i = c->importStmt()) {
      auto s = std::make_unique<Stmt>(StmtKind::Import, r);
      for (auto *d : i->dottedAsName())
        s->imports.push_back({d->dottedName()->getText(),
                              d->NAME() ? d->NAME()->getText() : "",
                              range(d)});
      return s;
    }
    if (auto *f = c->fromImportStmt()) {
      auto s = std::make_unique<Stmt>(StmtKind::ImportFrom, r);
      s->module = f->dottedName()->getText();
      if (auto *names = f->importAsNames()) {
        for (auto *n : names->importAsName())
          s->imports.push_back({n->NAME(0)->getText(),
                                n->NAME().size() > 1 ? n->NAME(1)->getText() : "",
                                range(n)});
      } else {
        s->imports.push_back({"*", "", r});
      }
      return s;
    }
    if (auto *ret = c->returnStmt()) {
      auto s = std::make_unique<Stmt>(StmtKind::Return, r);
      if (ret->testlist())
        s->value = testlist(ret->testlist());
      return s;
    }
    if (c->passStmt())
      return std::make_unique<Stmt>(StmtKind::Pass, r);
    if (c->breakStmt())
      return std::make_unique<Stmt>(StmtKind::Break, r);
    if (c->continueStmt())
      return std::make_unique<Stmt>(StmtKind::Continue, r);
    if (auto *u = c->unsupportedSimpleStmt()) {
      auto s = std::make_unique<Stmt>(StmtKind::Unsupported, r);
      s->text = u->kw->getText();
      return s;
    }
    return exprStmt(c->exprStmt());
  }

  StmtPtr exprStmt(P::ExprStmtContext *c) {
    auto r = range(c);
    auto lists = c->testlistStar();
    if (c->augassign()) {
      auto s = std::make_unique<Stmt>(StmtKind::AugAssign, r);
      std::string op = c->augassign()->getText();
      s->text = op.substr(0, op.size() - 1);
      s->targets.push_back(testlistStar(lists[0]));
      s->value = testlist(c->testlist());
      return s;
    }
    if (c->test()) {
      auto s = std::make_unique<Stmt>(StmtKind::AnnAssign, r);
      s->targets.push_back(testlistStar(lists[0]));
      s->annotation = test(c->test());
      if (c->testlist())
        s->value = testlist(c->testlist());
      return s;
    }
    if (lists.size() == 1) {
      auto s = std::make_unique<Stmt>(StmtKind::Expr, r);
      s->value = testlistStar(lists[0]);
      return s;
    }
    auto s = std::make_unique<Stmt>(StmtKind::Assign, r);
    for (size_t i = 0; i + 1 < lists.size(); ++i)
      s->targets.push_back(testlistStar(lists[i]));
    s->value = testlistStar(lists.back());
    return s;
  }

  StmtList block(P::BlockContext *c) {
    StmtList out;
    if (auto *ss = c->simpleStmts())
      simpleStmts(ss, out);
    else
      for (auto *s : c->stmt())
        stmt(s, out);
    return out;
  }

  StmtPtr compound(P::CompoundStmtContext *c) {
    if (auto *i = c->ifStmt())
      return ifStmt(i);
    if (auto *f = c->forStmt())
      return forStmt(f);
    if (auto *f = c->funcDef())
      return funcDef(f);
    if (auto *k = c->classDef())
      return classDef(k);
    if (auto *d = c->decorated()) {
      StmtPtr s = d->classDef() ? classDef(d->classDef()) : funcDef(d->funcDef());
      for (auto *dec : d->decorator()) {
        auto e = make(ExprKind::Name, dec);
        e->text = dec->dottedName()->getText();
        s->decorators.push_back(std::move(e));
      }
      return s;
    }
    auto *u = c->unsupportedCompoundStmt();
    auto s = std::make_unique<Stmt>(StmtKind::Unsupported, range(u->kw));
    s->text = u->kw->getText();
    if (s->text == "async")
      s->text = "async";
    return s;
  }

  StmtPtr ifStmt(P::IfStmtContext *c) {
    auto s = std::make_unique<Stmt>(StmtKind::If, range(c));
    s->value = test(c->test());
    s->body = block(c->block());
    // elif chains become nested If statements in orelse.
    Stmt *cur = s.get();
    for (auto *e : c->elifClause()) {
      auto n = std::make_unique<Stmt>(StmtKind::If, range(e));
      n->value = test(e->test());
      n->body = block(e->block());
      Stmt *next = n.get();
      cur->orelse.push_back(std::move(n));
      cur = next;
    }
    if (auto *e = c->elseClause())
      cur->orelse = block(e->block());
    return s;
  }

  StmtPtr forStmt(P::ForStmtContext *c) {
    auto s = std::make_unique<Stmt>(StmtKind::For, range(c));
    s->targets.push_back(exprlist(c->exprlist()));
    s->value = testlist(c->testlist());
    s->body = block(c->block());
    if (auto *e = c->elseClause())
      s->orelse = block(e->block());
    return s;
  }

  StmtPtr funcDef(P::FuncDefContext *c) {
    auto s = std::make_unique<Stmt>(StmtKind::FunctionDef, range(c));
    s->name = c->NAME()->getText();
    if (auto *ps = c->parameters())
      s->params = parameters(ps);
    s->body = block(c->block());
    return s;
  }

  std::vector<ast::Param> parameters(P::ParametersContext *c) {
    std::vector<ast::Param> out;
    for (auto *p : c->parameter()) {
      ast::Param param;
      param.range = range(p);
      if (auto *pp = dynamic_cast<P::PlainParamContext *>(p)) {
        param.name = pp->NAME()->getText();
        auto tests = pp->test();
        size_t i = 0;
        // `name: ann = default` -- the ':' token tells whether test(0) is
        // the annotation.
        bool hasAnn = false;
        for (auto *ch : pp->children)
          if (ch->getText() == ":")
            hasAnn = true;
        if (hasAnn && i < tests.size())
          param.annotation = test(tests[i++]);
        if (i < tests.size())
          param.defaultValue = test(tests[i++]);
      } else if (auto *sp = dynamic_cast<P::StarParamContext *>(p)) {
        param.kind = ast::Param::Star;
        if (sp->NAME())
          param.name = sp->NAME()->getText();
      } else if (auto *kp = dynamic_cast<P::KwStarParamContext *>(p)) {
        param.kind = ast::Param::DoubleStar;
        param.name = kp->NAME()->getText();
      } else {
        continue; // positional-only marker '/' has no effect here
      }
      out.push_back(std::move(param));
    }
    return out;
  }

  StmtPtr classDef(P::ClassDefContext *c) {
    auto s = std::make_unique<Stmt>(StmtKind::ClassDef, range(c));
    s->name = c->NAME()->getText();
    if (auto *args = c->arglist()) {
      std::vector<std::string> names;
      arglist(args, s->bases, names);
    }
    s->body = block(c->block());
    return s;
  }

  // ----------------------------------------------------------- expressions

  ExprPtr tupleOrSingle(std::vector<ExprPtr> elems, bool trailingComma,
                        antlr4::ParserRuleContext *c) {
    if (elems.size() == 1 && !trailingComma)
      return std::move(elems[0]);
    auto t = make(ExprKind::Tuple, c);
    t->children = std::move(elems);
    return t;
  }

  static bool endsWithComma(antlr4::ParserRuleContext *c) {
    return !c->children.empty() && c->children.back()->getText() == ",";
  }

  ExprPtr testlist(P::TestlistContext *c) {
    std::vector<ExprPtr> elems;
    for (auto *t : c->test())
      elems.push_back(test(t));
    return tupleOrSingle(std::move(elems), endsWithComma(c), c);
  }

  ExprPtr testlistStar(P::TestlistStarContext *c) {
    std::vector<ExprPtr> elems;
    for (auto *ch : c->children) {
      if (auto *t = dynamic_cast<P::TestContext *>(ch))
        elems.push_back(test(t));
      else if (auto *s = dynamic_cast<P::StarExprContext *>(ch))
        elems.push_back(starExpr(s));
    }
    return tupleOrSingle(std::move(elems), endsWithComma(c), c);
  }

  ExprPtr exprlist(P::ExprlistContext *c) {
    std::vector<ExprPtr> elems;
    for (auto *ch : c->children) {
      if (auto *e = dynamic_cast<P::ExprContext *>(ch))
        elems.push_back(expr(e));
      else if (auto *s = dynamic_cast<P::StarExprContext *>(ch))
        elems.push_back(starExpr(s));
    }
    return tupleOrSingle(std::move(elems), endsWithComma(c), c);
  }

  ExprPtr starExpr(P::StarExprContext *c) {
    auto e = make(ExprKind::Starred, c);
    e->children.push_back(expr(c->expr()));
    return e;
  }

  ExprPtr test(P::TestContext *c) {
    if (auto *l = c->lambdef())
      return make(ExprKind::Lambda, l);
    auto ors = c->orTest();
    if (ors.size() == 1)
      return orTest(ors[0]);
    auto e = make(ExprKind::IfExp, c);
    e->children.push_back(orTest(ors[0]));
    e->children.push_back(orTest(ors[1]));
    e->children.push_back(test(c->test()));
    return e;
  }

  ExprPtr testNoCond(P::TestNoCondContext *c) {
    if (auto *l = c->lambdef())
      return make(ExprKind::Lambda, l);
    return orTest(c->orTest());
  }

  ExprPtr orTest(P::OrTestContext *c) {
    auto ands = c->andTest();
    if (ands.size() == 1)
      return andTest(ands[0]);
    auto e = make(ExprKind::BoolOp, c);
    e->text = "or";
    for (auto *a : ands)
      e->children.push_back(andTest(a));
    return e;
  }

  ExprPtr andTest(P::AndTestContext *c) {
    auto nots = c->notTest();
    if (nots.size() == 1)
      return notTest(nots[0]);
    auto e = make(ExprKind::BoolOp, c);
    e->text = "and";
    for (auto *n : nots)
      e->children.push_back(notTest(n));
    return e;
  }

  ExprPtr notTest(P::NotTestContext *c) {
    if (c->comparison())
      return comparison(c->comparison());
    auto e = make(ExprKind::UnaryOp, c);
    e->text = "not";
    e->children.push_back(notTest(c->notTest()));
    return e;
  }

  ExprPtr comparison(P::ComparisonContext *c) {
    auto es = c->expr();
    if (es.size() == 1)
      return expr(es[0]);
    auto e = make(ExprKind::Compare, c);
    for (auto *x : es)
      e->children.push_back(expr(x));
    for (auto *op : c->compOp()) {
      std::string t;
      for (auto *ch : op->children)
        t += (t.empty() ? "" : " ") + ch->getText();
      e->ops.push_back(t);
    }
    return e;
  }

  /// Left-associative chain of binary operators over sub-rules.
  template <typename Sub, typename Fn>
  ExprPtr chain(antlr4::ParserRuleContext *c, const std::vector<Sub *> &subs,
                const std::vector<std::string> &ops, Fn sub) {
    // The operators are the terminal children, between the operands.
    std::vector<antlr4::Token *> opTokens;
    for (auto *ch : c->children)
      if (auto *t = dynamic_cast<antlr4::tree::TerminalNode *>(ch))
        opTokens.push_back(t->getSymbol());
    ExprPtr lhs = sub(subs[0]);
    for (size_t i = 1; i < subs.size(); ++i) {
      auto e = std::make_unique<Expr>(
          ExprKind::BinOp, SourceRange{lhs->range.begin, range(subs[i]).end});
      e->text = ops[i - 1];
      if (i - 1 < opTokens.size())
        e->opLoc = pos_.startOf(opTokens[i - 1]);
      e->children.push_back(std::move(lhs));
      e->children.push_back(sub(subs[i]));
      lhs = std::move(e);
    }
    return lhs;
  }

  static std::vector<std::string> repeatOp(const char *op, size_t n) {
    return std::vector<std::string>(n ? n - 1 : 0, op);
  }
  static std::vector<std::string> tokenTexts(const std::vector<antlr4::Token *> &ts) {
    std::vector<std::string> out;
    for (auto *t : ts)
      out.push_back(t->getText());
    return out;
  }

  ExprPtr expr(P::ExprContext *c) {
    auto xs = c->xorExpr();
    return chain(c, xs, repeatOp("|", xs.size()),
                 [&](P::XorExprContext *x) { return xorExpr(x); });
  }
  ExprPtr xorExpr(P::XorExprContext *c) {
    auto xs = c->andExpr();
    return chain(c, xs, repeatOp("^", xs.size()),
                 [&](P::AndExprContext *x) { return andExpr(x); });
  }
  ExprPtr andExpr(P::AndExprContext *c) {
    auto xs = c->shiftExpr();
    return chain(c, xs, repeatOp("&", xs.size()),
                 [&](P::ShiftExprContext *x) { return shiftExpr(x); });
  }
  ExprPtr shiftExpr(P::ShiftExprContext *c) {
    return chain(c, c->arithExpr(), tokenTexts(c->ops),
                 [&](P::ArithExprContext *x) { return arithExpr(x); });
  }
  ExprPtr arithExpr(P::ArithExprContext *c) {
    return chain(c, c->term(), tokenTexts(c->ops),
                 [&](P::TermContext *x) { return term(x); });
  }
  ExprPtr term(P::TermContext *c) {
    return chain(c, c->factor(), tokenTexts(c->ops),
                 [&](P::FactorContext *x) { return factor(x); });
  }

  ExprPtr factor(P::FactorContext *c) {
    if (c->power())
      return power(c->power());
    auto operand = factor(c->factor());
    // Fold `-5` into a literal so `-9223372036854775808` and `(-1, 3)` work.
    if (c->op->getText() == "-" && operand->kind == ExprKind::Int &&
        operand->intValue != INT64_MIN) {
      operand->intValue = -operand->intValue;
      operand->range.begin = pos_.startOf(c->op);
      return operand;
    }
    if (c->op->getText() == "-" && operand->kind == ExprKind::Float) {
      operand->floatValue = -operand->floatValue;
      operand->range.begin = pos_.startOf(c->op);
      return operand;
    }
    auto e = make(ExprKind::UnaryOp, c);
    e->text = c->op->getText();
    e->children.push_back(std::move(operand));
    return e;
  }

  ExprPtr power(P::PowerContext *c) {
    ExprPtr base = atomExpr(c->atomExpr());
    if (!c->factor())
      return base;
    auto e = make(ExprKind::BinOp, c);
    e->text = "**";
    if (auto *t = dynamic_cast<antlr4::tree::TerminalNode *>(c->children[1]))
      e->opLoc = pos_.startOf(t->getSymbol());
    e->children.push_back(std::move(base));
    e->children.push_back(factor(c->factor()));
    return e;
  }

  ExprPtr atomExpr(P::AtomExprContext *c) {
    ExprPtr e = atom(c->atom());
    for (auto *t : c->trailer()) {
      SourceRange r{e->range.begin, range(t).end};
      if (auto *call = dynamic_cast<P::CallTrailerContext *>(t)) {
        auto n = std::make_unique<Expr>(ExprKind::Call, r);
        n->children.push_back(std::move(e));
        if (call->arglist())
          arglist(call->arglist(), n->children, n->argNames);
        e = std::move(n);
      } else if (auto *sub = dynamic_cast<P::SubscriptTrailerContext *>(t)) {
        auto n = std::make_unique<Expr>(ExprKind::Subscript, r);
        n->children.push_back(std::move(e));
        n->children.push_back(subscriptList(sub->subscriptList()));
        e = std::move(n);
      } else {
        auto *attr = static_cast<P::AttrTrailerContext *>(t);
        auto n = std::make_unique<Expr>(ExprKind::Attribute, r);
        n->text = attr->NAME()->getText();
        n->children.push_back(std::move(e));
        e = std::move(n);
      }
    }
    return e;
  }

  ExprPtr subscriptList(P::SubscriptListContext *c) {
    std::vector<ExprPtr> elems;
    for (auto *s : c->subscript())
      elems.push_back(subscript(s));
    return tupleOrSingle(std::move(elems), endsWithComma(c), c);
  }

  ExprPtr subscript(P::SubscriptContext *c) {
    bool isSlice = false;
    for (auto *ch : c->children)
      if (ch->getText() == ":")
        isSlice = true;
    if (!isSlice)
      return test(c->test(0));
    auto e = make(ExprKind::Slice, c);
    e->children.push_back(c->lo ? test(c->lo) : nullptr);
    e->children.push_back(c->hi ? test(c->hi) : nullptr);
    e->children.push_back(c->st ? test(c->st) : nullptr);
    return e;
  }

  void arglist(P::ArglistContext *c, std::vector<ExprPtr> &args,
               std::vector<std::string> &names) {
    for (auto *a : c->argument()) {
      if (auto *p = dynamic_cast<P::PositionalArgContext *>(a)) {
        if (p->compFor()) {
          args.push_back(comprehension(ExprKind::ListComp, p->test(), p->compFor(), a));
        } else {
          args.push_back(test(p->test()));
        }
        names.push_back("");
      } else if (auto *k = dynamic_cast<P::KeywordArgContext *>(a)) {
        args.push_back(test(k->test()));
        names.push_back(k->NAME()->getText());
      } else if (auto *s = dynamic_cast<P::StarArgContext *>(a)) {
        auto e = make(ExprKind::Starred, s);
        e->children.push_back(test(s->test()));
        args.push_back(std::move(e));
        names.push_back("");
      } else {
        auto *d = static_cast<P::KwStarArgContext *>(a);
        auto e = make(ExprKind::DoubleStarred, d);
        e->children.push_back(test(d->test()));
        args.push_back(std::move(e));
        names.push_back("");
      }
    }
  }

  ExprPtr comprehension(ExprKind kind, P::TestContext *elt, P::CompForContext *cf,
                        antlr4::ParserRuleContext *whole) {
    auto e = make(kind, whole);
    e->children.push_back(test(elt));
    while (cf) {
      Comprehension g;
      g.target = exprlist(cf->exprlist());
      g.iter = orTest(cf->orTest());
      P::CompForContext *next = nullptr;
      for (auto *it = cf->compIter(); it;) {
        if (it->compFor()) {
          next = it->compFor();
          break;
        }
        auto *ci = it->compIf();
        g.conds.push_back(testNoCond(ci->testNoCond()));
        it = ci->compIter();
      }
      e->generators.push_back(std::move(g));
      cf = next;
    }
    return e;
  }

  ExprPtr testlistComp(P::TestlistCompContext *c, ExprKind seqKind,
                       antlr4::ParserRuleContext *whole, bool paren) {
    if (c->compFor())
      return comprehension(ExprKind::ListComp, c->test(0), c->compFor(), whole);
    std::vector<ExprPtr> elems;
    for (auto *ch : c->children) {
      if (auto *t = dynamic_cast<P::TestContext *>(ch))
        elems.push_back(test(t));
      else if (auto *s = dynamic_cast<P::StarExprContext *>(ch))
        elems.push_back(starExpr(s));
    }
    if (paren && elems.size() == 1 && !endsWithComma(c))
      return std::move(elems[0]);
    auto e = make(seqKind, whole);
    e->children = std::move(elems);
    return e;
  }

  ExprPtr atom(P::AtomContext *c) {
    if (auto *p = dynamic_cast<P::ParenAtomContext *>(c)) {
      if (!p->testlistComp())
        return make(ExprKind::Tuple, c);
      ExprPtr e = testlistComp(p->testlistComp(), ExprKind::Tuple, c, true);
      if (e->kind != ExprKind::Tuple && e->kind != ExprKind::ListComp)
        e->range = range(c); // keep the parentheses in the range
      return e;
    }
    if (auto *l = dynamic_cast<P::ListAtomContext *>(c)) {
      if (!l->testlistComp())
        return make(ExprKind::List, c);
      return testlistComp(l->testlistComp(), ExprKind::List, c, false);
    }
    if (auto *d = dynamic_cast<P::DictAtomContext *>(c)) {
      auto e = make(ExprKind::Dict, c);
      if (auto *m = d->dictOrSetMaker()) {
        bool isDict = false;
        for (auto *ch : m->children)
          if (ch->getText() == ":" || ch->getText() == "**")
            isDict = true;
        if (!isDict || m->compFor()) {
          diags_.error(range(c).begin,
                       isDict ? "'dict comprehension' is not supported in .cnn files"
                              : "'set' is not supported in .cnn files");
          return e;
        }
        for (auto *ch : m->children) {
          if (auto *t = dynamic_cast<P::TestContext *>(ch))
            e->children.push_back(test(t));
          else if (dynamic_cast<P::ExprContext *>(ch)) {
            diags_.error(range(c).begin,
                         "'**' in a dict display is not supported in .cnn files");
            return e;
          }
        }
      }
      return e;
    }
    if (auto *n = dynamic_cast<P::NameAtomContext *>(c)) {
      auto e = make(ExprKind::Name, c);
      e->text = n->NAME()->getText();
      return e;
    }
    if (auto *n = dynamic_cast<P::NumberAtomContext *>(c))
      return number(n);
    if (auto *s = dynamic_cast<P::StringAtomContext *>(c))
      return string(s);
    if (dynamic_cast<P::EllipsisAtomContext *>(c))
      return make(ExprKind::Ellipsis, c);
    if (dynamic_cast<P::NoneAtomContext *>(c))
      return make(ExprKind::None, c);
    auto e = make(ExprKind::Bool, c);
    e->intValue = dynamic_cast<P::TrueAtomContext *>(c) ? 1 : 0;
    return e;
  }

  ExprPtr number(P::NumberAtomContext *c) {
    std::string text;
    for (char ch : c->getText())
      if (ch != '_')
        text += ch;
    bool isFloat = false;
    bool isPrefixed = text.size() > 1 && text[0] == '0' &&
                      std::string("xXoObB").find(text[1]) != std::string::npos;
    if (!isPrefixed)
      isFloat = text.find_first_of(".eE") != std::string::npos;
    if (isFloat) {
      auto e = make(ExprKind::Float, c);
      e->floatValue = std::strtod(text.c_str(), nullptr);
      return e;
    }
    auto e = make(ExprKind::Int, c);
    int base = 10;
    const char *digits = text.c_str();
    if (isPrefixed) {
      char p = text[1] | 0x20;
      base = p == 'x' ? 16 : p == 'o' ? 8 : 2;
      digits += 2;
    }
    errno = 0;
    char *end = nullptr;
    unsigned long long v = std::strtoull(digits, &end, base);
    if (errno == ERANGE || v > (unsigned long long)INT64_MAX) {
      diags_.error(e->loc(), "integer literal '" + c->getText() +
                                 "' does not fit in 64 bits");
      v = 0;
    }
    e->intValue = (int64_t)v;
    return e;
  }

  ExprPtr string(P::StringAtomContext *c) {
    auto e = make(ExprKind::Str, c);
    for (auto *tok : c->STRING()) {
      std::string t = tok->getText();
      size_t i = 0;
      bool raw = false, fmt = false, bytes = false;
      while (i < t.size() && t[i] != '\'' && t[i] != '"') {
        char p = t[i] | 0x20;
        raw |= p == 'r';
        fmt |= p == 'f';
        bytes |= p == 'b';
        ++i;
      }
      if (bytes)
        diags_.error(pos_.startOf(tok->getSymbol()), "'bytes' literals are not supported in .cnn files");
      size_t q = (t.compare(i, 3, "'''") == 0 || t.compare(i, 3, "\"\"\"") == 0) ? 3 : 1;
      std::string body = t.substr(i + q, t.size() - i - 2 * q);
      e->text += raw ? body : unescape(body);
      e->isFString |= fmt;
    }
    return e;
  }

  static std::string unescape(const std::string &s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\\' || i + 1 == s.size()) {
        out += s[i];
        continue;
      }
      char n = s[++i];
      switch (n) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case '\n': break; // line continuation inside a string
      default: out += '\\'; out += n; break;
      }
    }
    return out;
  }
};

} // namespace

std::unique_ptr<ast::File> buildAST(P::File_Context *tree,
                                    const SourcePositions &pos,
                                    DiagEngine &diags) {
  auto file = std::make_unique<ast::File>();
  Builder b(pos, diags);
  file->body = b.stmts(tree->stmt());
  return file;
}

} // namespace cnnc
