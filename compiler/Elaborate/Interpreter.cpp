//===- Interpreter.cpp - statements, expressions, calls and classes -------===//
//
// The evaluation core: Python statement semantics (assignment with unpacking,
// if/for/break/continue/return, def, class, import), expression evaluation,
// argument binding with Python's rules and messages, attribute lookup through
// the method resolution order, and module registration on `self.x = layer`
// (the order PyTorch's state_dict follows). Tensor operations are delegated
// to Trace.cpp, nn layers to Layers.cpp, builtins to Builtins.cpp.
//
//===----------------------------------------------------------------------===//
#include "Elaborate/Interpreter.h"

#include "Elaborate/Layers.h"
#include "Frontend/Parser.h"
#include "Elaborate/Trace.h"

#include <algorithm>
#include <cmath>

using namespace cnnc::ast;

namespace cnnc::eval {

/// Case-insensitive edit distance that counts a swap of two adjacent
/// letters as one edit ("rleu" -> "relu"), as typos usually are.
static unsigned typoDistance(llvm::StringRef a, llvm::StringRef b) {
  std::string x = a.lower(), y = b.lower();
  size_t n = x.size(), m = y.size();
  std::vector<std::vector<unsigned>> d(n + 1, std::vector<unsigned>(m + 1));
  for (size_t i = 0; i <= n; ++i)
    d[i][0] = i;
  for (size_t j = 0; j <= m; ++j)
    d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (x[i - 1] != y[j - 1])});
      if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

std::string didYouMean(const std::string &name,
                       const std::vector<std::string> &candidates) {
  std::string best;
  unsigned bestDist = ~0u;
  for (const auto &c : candidates) {
    if (c == name)
      continue;
    unsigned d = typoDistance(name, c);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  unsigned limit = std::max<unsigned>(1, name.size() / 3);
  return bestDist <= limit ? best : "";
}

Interpreter::Interpreter(DiagEngine &diags, ir::Graph &graph)
    : diags(diags), graph(graph) {
  builtins = std::make_shared<Scope>();
  addPythonBuiltins(*this, *builtins);
  globals = std::make_shared<Scope>();
  globals->parent = builtins;
}

// ------------------------------------------------------------------ errors

void Interpreter::fail(llvm::SMLoc loc, const llvm::Twine &msg,
                       llvm::SMRange range) {
  EvalError e;
  e.loc = loc;
  e.range = range;
  e.message = msg.str();
  throw e;
}

void Interpreter::failWithNote(llvm::SMLoc loc, const llvm::Twine &msg,
                               llvm::SMLoc noteLoc, const llvm::Twine &note) {
  EvalError e;
  e.loc = loc;
  e.message = msg.str();
  e.notes.push_back({noteLoc, note.str()});
  throw e;
}

void Interpreter::report(const EvalError &e) {
  diags.error(e.loc, e.message, e.range);
  for (const auto &n : e.notes) {
    if (n.first.isValid())
      diags.note(n.first, n.second);
    else
      diags.note(n.second);
  }
}

void Interpreter::tick(llvm::SMLoc loc) {
  if (++steps > kMaxSteps)
    fail(loc, "compile-time evaluation did not finish within " +
                  llvm::Twine(kMaxSteps) + " steps");
}

// ---------------------------------------------------------------- modules

void Interpreter::runModule(const File &file) {
  ValueRef ret;
  Flow f = exec(file.body, globals, ret);
  (void)f;
}

void Interpreter::import(const Stmt &s, const std::shared_ptr<Scope> &scope) {
  for (const auto &imp : s.imports) {
    if (s.kind == StmtKind::Import) {
      ValueRef ns = importNamespace(*this, imp.name);
      if (!ns)
        fail(imp.range.begin, "module '" + imp.name +
                                  "' is not available in .cnn files (available: "
                                  "torch, torch.nn, torch.nn.functional, math)");
      if (!imp.asName.empty()) {
        scope->vars.set(imp.asName, ns);
      } else {
        std::string root = imp.name.substr(0, imp.name.find('.'));
        scope->vars.set(root, importNamespace(*this, root));
      }
      continue;
    }
    ValueRef ns = importNamespace(*this, s.module);
    if (!ns)
      fail(s.loc(), "module '" + s.module +
                        "' is not available in .cnn files (available: torch, "
                        "torch.nn, torch.nn.functional, math, typing)");
    if (imp.name == "*") {
      for (auto &kv : ns->ns->items())
        scope->vars.set(kv.first, kv.second);
      continue;
    }
    ValueRef v;
    if (ValueRef sub = importNamespace(*this, s.module + "." + imp.name))
      v = sub;
    else
      v = getAttr(ns, imp.name, imp.range.begin);
    scope->vars.set(imp.asName.empty() ? imp.name : imp.asName, v);
  }
}

// ------------------------------------------------------------- statements

Interpreter::Flow Interpreter::exec(const StmtList &body,
                                    const std::shared_ptr<Scope> &scope,
                                    ValueRef &ret) {
  for (const auto &s : body) {
    Flow f = execStmt(*s, scope, ret);
    if (f != Flow::Normal)
      return f;
  }
  return Flow::Normal;
}

Interpreter::Flow Interpreter::execStmt(const Stmt &s,
                                        const std::shared_ptr<Scope> &scope,
                                        ValueRef &ret) {
  tick(s.loc());
  switch (s.kind) {
  case StmtKind::Expr:
    eval(*s.value, scope);
    return Flow::Normal;
  case StmtKind::Assign: {
    ValueRef v = eval(*s.value, scope);
    for (const auto &t : s.targets)
      assign(*t, v, scope);
    return Flow::Normal;
  }
  case StmtKind::AnnAssign:
    if (s.value)
      assign(*s.targets[0], eval(*s.value, scope), scope);
    return Flow::Normal;
  case StmtKind::AugAssign: {
    const Expr &t = *s.targets[0];
    if (t.kind != ExprKind::Name && t.kind != ExprKind::Attribute &&
        t.kind != ExprKind::Subscript)
      fail(t.loc(), "invalid target of augmented assignment");
    ValueRef cur = eval(t, scope);
    ValueRef rhs = eval(*s.value, scope);
    ValueRef v;
    if (s.text == "+" && cur->kind == ValueKind::List) {
      // list += iterable extends in place (aliasing semantics).
      for (auto &x : iterate(rhs, s.value->loc()))
        cur->items.push_back(x);
      v = cur;
    } else {
      v = binary(s.text, cur, rhs, s.loc());
    }
    assign(t, v, scope);
    return Flow::Normal;
  }
  case StmtKind::Return:
    ret = s.value ? eval(*s.value, scope) : makeNone();
    return Flow::Return;
  case StmtKind::Pass:
    return Flow::Normal;
  case StmtKind::Break:
    return Flow::Break;
  case StmtKind::Continue:
    return Flow::Continue;
  case StmtKind::If: {
    ValueRef c = eval(*s.value, scope);
    if (truthy(*c, s.value->loc()))
      return exec(s.body, scope, ret);
    return exec(s.orelse, scope, ret);
  }
  case StmtKind::For: {
    ValueRef it = eval(*s.value, scope);
    for (auto &x : iterate(it, s.value->loc())) {
      tick(s.loc());
      assign(*s.targets[0], x, scope);
      Flow f = exec(s.body, scope, ret);
      if (f == Flow::Break)
        return Flow::Normal;
      if (f == Flow::Return)
        return f;
    }
    return exec(s.orelse, scope, ret);
  }
  case StmtKind::FunctionDef: {
    for (const auto &d : s.decorators)
      if (d->text != "staticmethod" && d->text != "torch.jit.ignore")
        fail(d->loc(), "decorator '@" + d->text + "' is not supported in .cnn files");
    auto v = std::make_shared<Value>();
    v->kind = ValueKind::Function;
    v->fn = std::make_shared<FunctionData>();
    v->fn->def = &s;
    v->fn->closure = scope;
    v->fn->qualName = s.name;
    for (const auto &p : s.params)
      v->fn->defaults.push_back(p.defaultValue ? eval(*p.defaultValue, scope)
                                               : nullptr);
    scope->vars.set(s.name, v);
    return Flow::Normal;
  }
  case StmtKind::ClassDef:
    scope->vars.set(s.name, defineClass(s, scope));
    return Flow::Normal;
  case StmtKind::Import:
  case StmtKind::ImportFrom:
    import(s, scope);
    return Flow::Normal;
  case StmtKind::Unsupported:
    fail(s.loc(), "'" + s.text + "' is not supported in .cnn files");
  }
  return Flow::Normal;
}

void Interpreter::assign(const Expr &target, ValueRef value,
                         const std::shared_ptr<Scope> &scope) {
  switch (target.kind) {
  case ExprKind::Name:
    scope->vars.set(target.text, std::move(value));
    return;
  case ExprKind::Attribute:
    setAttr(eval(*target.children[0], scope), target.text, std::move(value),
            target.loc());
    return;
  case ExprKind::Subscript: {
    ValueRef obj = eval(*target.children[0], scope);
    ValueRef idx = eval(*target.children[1], scope);
    if (obj->kind == ValueKind::List && idx->kind == ValueKind::Int) {
      int64_t n = obj->items.size(), i = idx->i < 0 ? idx->i + n : idx->i;
      if (i < 0 || i >= n)
        fail(target.loc(), "list assignment index out of range");
      obj->items[i] = std::move(value);
      return;
    }
    if (obj->kind == ValueKind::Dict && idx->kind == ValueKind::Str) {
      obj->dict->set(idx->s, std::move(value));
      return;
    }
    fail(target.loc(), "'" + typeName(*obj) +
                           "' object does not support item assignment here");
  }
  case ExprKind::Tuple:
  case ExprKind::List: {
    std::vector<ValueRef> items = iterate(value, target.loc());
    size_t starAt = target.children.size();
    for (size_t i = 0; i < target.children.size(); ++i)
      if (target.children[i]->kind == ExprKind::Starred)
        starAt = i;
    size_t n = target.children.size();
    if (starAt == n ? items.size() != n : items.size() < n - 1)
      fail(target.loc(), "cannot unpack " + llvm::Twine(items.size()) +
                             " values into " + llvm::Twine(n) + " targets");
    size_t tail = n - starAt - 1, j = 0;
    for (size_t i = 0; i < n; ++i) {
      if (i == starAt) {
        std::vector<ValueRef> rest(items.begin() + j, items.end() - tail);
        j += rest.size();
        assign(*target.children[i]->children[0], makeList(rest), scope);
      } else {
        assign(*target.children[i], items[j++], scope);
      }
    }
    return;
  }
  default:
    fail(target.loc(), "cannot assign to this expression");
  }
}

// ------------------------------------------------------------- expressions

ValueRef Interpreter::lookup(const std::string &name,
                             const std::shared_ptr<Scope> &scope,
                             const Expr &at) {
  for (Scope *s = scope.get(); s; s = s->parent.get())
    if (ValueRef *v = s->vars.find(name))
      return *v;
  std::vector<std::string> names;
  for (Scope *s = scope.get(); s; s = s->parent.get())
    for (auto &kv : s->vars.items())
      names.push_back(kv.first);
  std::string hint = didYouMean(name, names);
  if (name == "Tensor")
    fail(at.loc(), "'Tensor' can only annotate the input of forward, as in "
                   "'x: Tensor[1, 3, 32, 32]'");
  fail(at.loc(), "name '" + name + "' is not defined" +
                     (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
}

ValueRef Interpreter::eval(const Expr &e, const std::shared_ptr<Scope> &scope) {
  tick(e.loc());
  switch (e.kind) {
  case ExprKind::Name:
    return lookup(e.text, scope, e);
  case ExprKind::Int:
    return makeInt(e.intValue);
  case ExprKind::Float:
    return makeFloat(e.floatValue);
  case ExprKind::Str:
    return e.isFString ? evalFString(e, scope) : makeStr(e.text);
  case ExprKind::Bool:
    return makeBool(e.intValue != 0);
  case ExprKind::None:
    return makeNone();
  case ExprKind::Ellipsis:
    fail(e.loc(), "'...' is not supported in .cnn files");
  case ExprKind::Tuple:
  case ExprKind::List: {
    std::vector<ValueRef> items;
    for (const auto &c : e.children) {
      if (c->kind == ExprKind::Starred) {
        for (auto &x : iterate(eval(*c->children[0], scope), c->loc()))
          items.push_back(x);
      } else {
        items.push_back(eval(*c, scope));
      }
    }
    return e.kind == ExprKind::Tuple ? makeTuple(items) : makeList(items);
  }
  case ExprKind::Dict: {
    auto v = std::make_shared<Value>();
    v->kind = ValueKind::Dict;
    v->dict = std::make_shared<OrderedMap<ValueRef>>();
    for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
      ValueRef k = eval(*e.children[i], scope);
      if (k->kind != ValueKind::Str)
        fail(e.children[i]->loc(), "only string keys are supported in dicts in .cnn files");
      v->dict->set(k->s, eval(*e.children[i + 1], scope));
    }
    return v;
  }
  case ExprKind::Attribute:
    return getAttr(eval(*e.children[0], scope), e.text, e.loc(),
                   llvm::SMRange(e.range.begin, e.range.end));
  case ExprKind::Call:
    return evalCall(e, scope);
  case ExprKind::Subscript:
    return evalSubscript(e, scope);
  case ExprKind::Slice:
    fail(e.loc(), "slices are only supported inside []");
  case ExprKind::BinOp: {
    // Left operand first, as in Python (argument evaluation order in C++ is
    // unspecified): it fixes the order of traced layer calls.
    ValueRef lhs = eval(*e.children[0], scope);
    ValueRef rhs = eval(*e.children[1], scope);
    return binary(e.text, lhs, rhs, e.opLoc.isValid() ? e.opLoc : e.loc());
  }
  case ExprKind::UnaryOp: {
    ValueRef v = eval(*e.children[0], scope);
    if (e.text == "not")
      return makeBool(!truthy(*v, e.children[0]->loc()));
    if (v->kind == ValueKind::Int || v->kind == ValueKind::Bool) {
      if (e.text == "-") {
        if (v->i == INT64_MIN)
          fail(e.loc(), "integer overflow in compile-time arithmetic");
        return makeInt(-v->i);
      }
      if (e.text == "~")
        return makeInt(~v->i);
      return makeInt(v->i);
    }
    if (v->kind == ValueKind::Float && e.text != "~")
      return makeFloat(e.text == "-" ? -v->f : v->f);
    if (v->kind == ValueKind::Tensor && e.text == "-")
      fail(e.loc(), "unary '-' on a tensor is not supported in .cnn files");
    fail(e.loc(), "bad operand type for unary " + e.text + ": '" +
                      typeName(*v) + "'");
  }
  case ExprKind::Compare:
    return evalCompare(e, scope);
  case ExprKind::BoolOp: {
    ValueRef v;
    for (const auto &c : e.children) {
      v = eval(*c, scope);
      bool t = truthy(*v, c->loc());
      if (e.text == "and" ? !t : t)
        return v;
    }
    return v;
  }
  case ExprKind::IfExp: {
    ValueRef c = eval(*e.children[1], scope);
    return eval(truthy(*c, e.children[1]->loc()) ? *e.children[0] : *e.children[2],
                scope);
  }
  case ExprKind::ListComp:
    return evalListComp(e, scope);
  case ExprKind::Starred:
  case ExprKind::DoubleStarred:
    fail(e.loc(), "can't use starred expression here");
  case ExprKind::Lambda:
    fail(e.loc(), "'lambda' is not supported in .cnn files");
  }
  fail(e.loc(), "unsupported expression");
}

ValueRef Interpreter::evalListComp(const Expr &e,
                                   const std::shared_ptr<Scope> &scope) {
  auto inner = std::make_shared<Scope>();
  inner->parent = scope;
  std::vector<ValueRef> out;
  std::function<void(size_t)> gen = [&](size_t level) {
    if (level == e.generators.size()) {
      out.push_back(eval(*e.children[0], inner));
      return;
    }
    const Comprehension &g = e.generators[level];
    for (auto &x : iterate(eval(*g.iter, level ? inner : scope), g.iter->loc())) {
      assign(*g.target, x, inner);
      bool ok = true;
      for (const auto &c : g.conds)
        ok = ok && truthy(*eval(*c, inner), c->loc());
      if (ok)
        gen(level + 1);
    }
  };
  gen(0);
  return makeList(out);
}

ValueRef Interpreter::evalFString(const Expr &e,
                                  const std::shared_ptr<Scope> &scope) {
  // Each {expression[:spec]} is parsed with the real parser (as its own small
  // source buffer named after the f-string's location) and evaluated in the
  // current scope. Format specs: none, 'd', or '0Nd'.
  std::string out;
  const std::string &t = e.text;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '{' && i + 1 < t.size() && t[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    if (t[i] == '}' && i + 1 < t.size() && t[i + 1] == '}') {
      out += '}';
      ++i;
      continue;
    }
    if (t[i] != '{') {
      out += t[i];
      continue;
    }
    // Find the matching '}' (brackets inside the expression may nest).
    size_t close = i + 1;
    int depth = 0;
    for (; close < t.size(); ++close) {
      char c = t[close];
      if (c == '(' || c == '[' || c == '{')
        ++depth;
      else if ((c == ')' || c == ']') && depth > 0)
        --depth;
      else if (c == '}' && depth-- == 0)
        break;
    }
    if (close >= t.size())
      fail(e.loc(), "f-string: expecting '}'");
    std::string inner = t.substr(i + 1, close - i - 1), spec;
    depth = 0;
    for (size_t k = 0; k < inner.size(); ++k) {
      char c = inner[k];
      if (c == '(' || c == '[' || c == '{')
        ++depth;
      else if (c == ')' || c == ']' || c == '}')
        --depth;
      else if (c == ':' && depth == 0) {
        spec = inner.substr(k + 1);
        inner = inner.substr(0, k);
        break;
      }
    }
    if (!inner.empty() && inner.back() == '=')
      fail(e.loc(), "f-string '=' specifier is not supported in .cnn files");
    if (llvm::StringRef(inner).trim().empty())
      fail(e.loc(), "f-string: empty expression not allowed");
    ValueRef v = evalSnippet(inner, e.loc(), scope);
    if (spec.empty()) {
      out += str(*v);
    } else {
      llvm::StringRef sp(spec);
      bool zero = sp.consume_front("0");
      unsigned width = 0;
      bool isD = sp.consume_back("d");
      if (!isD || (!sp.empty() && sp.getAsInteger(10, width)) ||
          (v->kind != ValueKind::Int && v->kind != ValueKind::Bool))
        fail(e.loc(), "f-string format spec ':" + spec +
                          "' is not supported (use none, 'd' or '0Nd' with an int)");
      std::string digits = std::to_string(v->i);
      while (digits.size() < width)
        digits.insert(digits.begin(), zero ? '0' : ' ');
      out += digits;
    }
    i = close;
  }
  return makeStr(out);
}

ValueRef Interpreter::evalSnippet(const std::string &text, llvm::SMLoc at,
                                  const std::shared_ptr<Scope> &scope) {
  llvm::SourceMgr &sm = diags.sourceMgr();
  auto lc = sm.getLineAndColumn(at);
  std::string name = "<f-string at line " + std::to_string(lc.first) + ">";
  unsigned id = sm.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy("(" + text + ")\n", name), at);
  DiagEngine quiet(sm, llvm::nulls()); // our own message below says it all
  std::unique_ptr<File> file = parseFile(id, quiet);
  if (!file || quiet.hasErrors() || file->body.size() != 1 ||
      file->body[0]->kind != StmtKind::Expr)
    fail(at, "f-string expression '" + text + "' is not a valid expression");
  snippets_.push_back(std::move(file));
  return eval(*snippets_.back()->body[0]->value, scope);
}

bool Interpreter::truthy(const Value &v, llvm::SMLoc loc) {
  switch (v.kind) {
  case ValueKind::None: return false;
  case ValueKind::Bool:
  case ValueKind::Int: return v.i != 0;
  case ValueKind::Float: return v.f != 0.0;
  case ValueKind::Str: return !v.s.empty();
  case ValueKind::Tuple:
  case ValueKind::List: return !v.items.empty();
  case ValueKind::Dict: return v.dict->size() != 0;
  case ValueKind::Tensor:
    fail(loc, "the truth value of a tensor depends on its data; conditions in "
              "forward must be compile-time constants");
  case ValueKind::Object:
    if (v.obj->layer && (v.obj->layer->type == "Sequential" ||
                         v.obj->layer->type == "ModuleList"))
      return v.obj->modules.size() != 0;
    return true;
  default: return true;
  }
}

std::vector<ValueRef> Interpreter::iterate(const ValueRef &v, llvm::SMLoc loc) {
  switch (v->kind) {
  case ValueKind::Tuple:
  case ValueKind::List:
    return v->items;
  case ValueKind::Str: {
    std::vector<ValueRef> out;
    for (char c : v->s)
      out.push_back(makeStr(std::string(1, c)));
    return out;
  }
  case ValueKind::Dict: {
    std::vector<ValueRef> out;
    for (auto &kv : v->dict->items())
      out.push_back(makeStr(kv.first));
    return out;
  }
  case ValueKind::Object:
    if (v->obj->isModule && v->obj->layer &&
        (v->obj->layer->type == "Sequential" || v->obj->layer->type == "ModuleList")) {
      std::vector<ValueRef> out;
      for (auto &kv : v->obj->modules.items())
        out.push_back(kv.second);
      return out;
    }
    break;
  case ValueKind::Tensor:
    fail(loc, "iterating over a tensor is not supported in .cnn files");
  default:
    break;
  }
  fail(loc, "'" + typeName(*v) + "' object is not iterable");
}

// ------------------------------------------------------------------ calls

ValueRef Interpreter::evalCall(const Expr &e, const std::shared_ptr<Scope> &scope) {
  ValueRef callee = eval(*e.children[0], scope);
  CallArgs args;
  args.callLoc = e.loc();
  args.callRange = llvm::SMRange(e.range.begin, e.range.end);
  for (size_t i = 1; i < e.children.size(); ++i) {
    const Expr &a = *e.children[i];
    const std::string &name = e.argNames[i - 1];
    if (a.kind == ExprKind::Starred) {
      for (auto &x : iterate(eval(*a.children[0], scope), a.loc())) {
        args.positional.push_back(x);
        args.positionalLocs.push_back(a.loc());
      }
    } else if (a.kind == ExprKind::DoubleStarred) {
      ValueRef d = eval(*a.children[0], scope);
      if (d->kind != ValueKind::Dict)
        fail(a.loc(), "argument after ** must be a dict, not " + typeName(*d));
      for (auto &kv : d->dict->items()) {
        args.keywords.push_back(kv);
        args.keywordLocs.push_back(a.loc());
      }
    } else if (name.empty()) {
      if (!args.keywords.empty())
        fail(a.loc(), "positional argument follows keyword argument");
      args.positional.push_back(eval(a, scope));
      args.positionalLocs.push_back(a.loc());
    } else {
      for (auto &kw : args.keywords)
        if (kw.first == name)
          fail(a.loc(), "keyword argument repeated: " + name);
      args.keywords.push_back({name, eval(a, scope)});
      args.keywordLocs.push_back(a.loc());
    }
  }
  return call(callee, args);
}

ValueRef Interpreter::call(const ValueRef &callee, CallArgs &args) {
  switch (callee->kind) {
  case ValueKind::Builtin:
    return callee->builtin(*this, args);
  case ValueKind::Function:
    return callFunction(callee, nullptr, args);
  case ValueKind::BoundMethod:
    if (callee->method->kind == ValueKind::Builtin)
      return callee->method->builtin(*this, args);
    return callFunction(callee->method, callee->self, args);
  case ValueKind::Class:
    return instantiate(callee, args);
  case ValueKind::Object:
    if (callee->obj->isModule)
      return callModule(callee, args);
    break;
  default:
    break;
  }
  fail(args.callLoc, "'" + typeName(*callee) + "' object is not callable");
}

ValueRef Interpreter::callFunction(const ValueRef &fnv, const ValueRef &self,
                                   CallArgs &args) {
  const FunctionData &fn = *fnv->fn;
  const Stmt &def = *fn.def;
  if (++callDepth > kMaxCallDepth) {
    callDepth = 0;
    fail(args.callLoc, "maximum recursion depth exceeded (" +
                           llvm::Twine(kMaxCallDepth) + " nested calls)");
  }
  auto scope = std::make_shared<Scope>();
  scope->parent = fn.closure;
  std::vector<ValueRef> positional = args.positional;
  if (self)
    positional.insert(positional.begin(), self);
  const std::string fname = fn.qualName + "()";
  size_t np = def.params.size();
  std::vector<bool> bound(np, false);
  int starIdx = -1, kwIdx = -1;
  size_t plainCount = 0;
  for (size_t i = 0; i < np; ++i) {
    if (def.params[i].kind == Param::Star)
      starIdx = i;
    else if (def.params[i].kind == Param::DoubleStar)
      kwIdx = i;
    else if (starIdx < 0)
      ++plainCount;
  }
  // Positional arguments fill plain parameters before '*'.
  size_t pi = 0;
  std::vector<ValueRef> extra;
  for (size_t a = 0; a < positional.size(); ++a) {
    while (pi < np && def.params[pi].kind != Param::Plain)
      ++pi;
    if (pi < np && (starIdx < 0 || (int)pi < starIdx)) {
      scope->vars.set(def.params[pi].name, positional[a]);
      bound[pi++] = true;
    } else if (starIdx >= 0) {
      extra.push_back(positional[a]);
    } else {
      size_t given = positional.size() - (self ? 1 : 0);
      size_t takes = plainCount - (self ? 1 : 0);
      fail(args.callLoc, fname + " takes " + llvm::Twine(takes) +
                             " positional argument" + (takes == 1 ? "" : "s") +
                             " but " + llvm::Twine(given) +
                             (given == 1 ? " was" : " were") + " given");
    }
  }
  if (starIdx >= 0) {
    bound[starIdx] = true;
    if (!def.params[starIdx].name.empty())
      scope->vars.set(def.params[starIdx].name, makeTuple(extra));
  }
  auto kwDict = std::make_shared<OrderedMap<ValueRef>>();
  for (size_t k = 0; k < args.keywords.size(); ++k) {
    const auto &kw = args.keywords[k];
    bool found = false;
    for (size_t i = 0; i < np; ++i) {
      if (def.params[i].kind != Param::Plain || def.params[i].name != kw.first)
        continue;
      if (bound[i])
        fail(args.keywordLocs[k], fname + " got multiple values for argument '" +
                                      kw.first + "'");
      scope->vars.set(kw.first, kw.second);
      bound[i] = found = true;
    }
    if (!found) {
      if (kwIdx >= 0) {
        kwDict->set(kw.first, kw.second);
        continue;
      }
      std::vector<std::string> names;
      for (auto &p : def.params)
        if (p.kind == Param::Plain)
          names.push_back(p.name);
      std::string hint = didYouMean(kw.first, names);
      fail(args.keywordLocs[k], fname + " got an unexpected keyword argument '" +
                                    kw.first + "'" +
                                    (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
    }
  }
  if (kwIdx >= 0) {
    auto d = std::make_shared<Value>();
    d->kind = ValueKind::Dict;
    d->dict = kwDict;
    scope->vars.set(def.params[kwIdx].name, d);
    bound[kwIdx] = true;
  }
  std::vector<std::string> missing;
  for (size_t i = 0; i < np; ++i) {
    if (bound[i])
      continue;
    if (fn.defaults[i])
      scope->vars.set(def.params[i].name, fn.defaults[i]);
    else
      missing.push_back("'" + def.params[i].name + "'");
  }
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size(); ++i)
      list += (i ? (i + 1 == missing.size() ? " and " : ", ") : "") + missing[i];
    failWithNote(args.callLoc,
                 fname + " missing " + llvm::Twine(missing.size()) +
                     " required argument" + (missing.size() == 1 ? "" : "s") +
                     ": " + list,
                 def.loc(), "'" + fn.qualName + "' is defined here");
  }
  // Remember the defining class and receiver for zero-argument super().
  frames.push_back({fn.owner, self});
  ValueRef ret;
  Flow f = exec(def.body, scope, ret);
  --callDepth;
  frames.pop_back();
  if (f == Flow::Break || f == Flow::Continue)
    fail(def.loc(), "'break' or 'continue' outside a loop");
  return ret ? ret : makeNone();
}

// ---------------------------------------------------------------- classes

ValueRef Interpreter::defineClass(const Stmt &s, const std::shared_ptr<Scope> &scope) {
  auto info = std::make_shared<ClassInfo>();
  info->name = s.name;
  info->def = &s;
  for (const auto &b : s.bases) {
    ValueRef base = eval(*b, scope);
    if (base->kind == ValueKind::Builtin)
      fail(b->loc(), "subclassing '" + base->s + "' is not supported in .cnn files; "
                     "derive from nn.Module, nn.Sequential or nn.ModuleList");
    if (base->kind != ValueKind::Class)
      fail(b->loc(), "base class must be a class, got '" + typeName(*base) + "'");
    info->bases.push_back(base);
  }
  info->mro.push_back(info);
  for (auto &b : info->bases)
    for (auto &c : b->cls->mro)
      if (std::find(info->mro.begin(), info->mro.end(), c) == info->mro.end())
        info->mro.push_back(c);
  for (auto &c : info->mro)
    if (!c->builtinBase.empty() && info->builtinBase.empty())
      info->builtinBase = c->builtinBase;
  auto body = std::make_shared<Scope>();
  body->parent = scope;
  ValueRef ret;
  Flow f = exec(s.body, body, ret);
  if (f != Flow::Normal)
    fail(s.loc(), "'return', 'break' or 'continue' in a class body");
  for (auto &kv : body->vars.items()) {
    if (kv.second->kind == ValueKind::Function) {
      kv.second->fn->owner = info;
      kv.second->fn->qualName = s.name + "." + kv.second->fn->qualName;
    }
    info->attrs.set(kv.first, kv.second);
  }
  auto v = std::make_shared<Value>();
  v->kind = ValueKind::Class;
  v->cls = info;
  return v;
}

ValueRef Interpreter::instantiate(const ValueRef &clsv, CallArgs &args) {
  const auto &cls = clsv->cls;
  auto obj = std::make_shared<ObjectData>();
  bool builtinOnly = cls->def == nullptr;
  obj->cls = builtinOnly ? nullptr : cls;
  obj->isModule = !cls->builtinBase.empty();
  if (cls->builtinBase == "Sequential" || cls->builtinBase == "ModuleList" ||
      cls->builtinBase == "Module") {
    obj->layer = std::make_shared<LayerInfo>();
    obj->layer->type = cls->builtinBase;
    obj->layer->loc = args.callLoc;
  }
  auto self = std::make_shared<Value>();
  self->kind = ValueKind::Object;
  self->obj = obj;
  for (auto &c : cls->mro) {
    if (!c->def) {
      // Reached the builtin base without a user __init__.
      initBuiltinBase(*this, self, c->builtinBase, args);
      return self;
    }
    if (ValueRef *init = c->attrs.find("__init__")) {
      if ((*init)->kind != ValueKind::Function)
        fail(args.callLoc, "'__init__' of '" + c->name + "' is not a function");
      callFunction(*init, self, args);
      if (obj->isModule && !obj->initCalled)
        failWithNote(args.callLoc,
                     "'" + cls->name + ".__init__' does not call super().__init__()",
                     (*init)->fn->def->loc(), "add 'super().__init__()' as the "
                     "first statement of __init__");
      return self;
    }
  }
  if (!args.positional.empty() || !args.keywords.empty())
    fail(args.callLoc, cls->name + "() takes no arguments");
  return self;
}

ValueRef Interpreter::callModule(const ValueRef &module, CallArgs &args) {
  const auto &obj = module->obj;
  if (obj->cls) {
    for (auto &c : obj->cls->mro) {
      if (!c->def)
        break;
      if (ValueRef *fwd = c->attrs.find("forward"))
        return callFunction(*fwd, module, args);
    }
  }
  if (!tracing)
    fail(args.callLoc, "modules can only be called in forward");
  return traceLayer(*this, module, args);
}

} // namespace cnnc::eval
