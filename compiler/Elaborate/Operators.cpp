//===- Operators.cpp - Python operators on compile-time values ------------===//
//
// Binary arithmetic with Python's semantics on 64-bit integers (floor
// division and modulo, overflow as an error), float arithmetic, string and
// sequence operators, %-formatting, equality and comparison chains. Tensor
// operands are handed to Trace.cpp.
//
//===----------------------------------------------------------------------===//
#include "Elaborate/Interpreter.h"
#include "Elaborate/Trace.h"

#include <cmath>

using namespace cnnc::ast;

namespace cnnc::eval {

static int64_t checkedInt(Interpreter &in, bool overflow, int64_t v,
                          llvm::SMLoc loc) {
  if (overflow)
    in.fail(loc, "integer overflow in compile-time arithmetic (cnnc uses 64-bit integers)");
  return v;
}

/// Python's float `**` (float_pow): the cases where Python raises instead of
/// returning inf or nan are errors here, with Python's wording.
static ValueRef floatPow(Interpreter &in, double x, double y, llvm::SMLoc loc) {
  if (y == 0)
    return makeFloat(1.0); // even nan ** 0
  if (std::isnan(x) || std::isnan(y))
    return makeFloat(NAN);
  if (x == 0 && y < 0)
    in.fail(loc, "0.0 cannot be raised to a negative power (Python raises "
                 "ZeroDivisionError)");
  if (x < 0 && std::isfinite(x) && std::isfinite(y) && y != std::floor(y))
    in.fail(loc, "a negative number raised to a fractional power is a complex "
                 "number, which compile-time arithmetic does not support");
  double r = std::pow(x, y);
  if (std::isinf(r) && std::isfinite(x) && std::isfinite(y))
    in.fail(loc, "float result of '**' out of range (Python raises "
                 "OverflowError: (34, 'Numerical result out of range'))");
  return makeFloat(r);
}

static ValueRef percentFormat(Interpreter &in, const std::string &fmt,
                              const ValueRef &arg, llvm::SMLoc loc) {
  std::vector<ValueRef> args =
      arg->kind == ValueKind::Tuple ? arg->items : std::vector<ValueRef>{arg};
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i == fmt.size())
      in.fail(loc, "incomplete format");
    if (fmt[i] == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size())
      in.fail(loc, "not enough arguments for format string");
    const Value &a = *args[next++];
    switch (fmt[i]) {
    case 'd':
    case 'i':
      if (a.kind != ValueKind::Int && a.kind != ValueKind::Bool)
        in.fail(loc, "%d format: a number is required, not " + typeName(a));
      out += std::to_string(a.i);
      break;
    case 's': out += str(a); break;
    case 'r': out += repr(a); break;
    default:
      in.fail(loc, "unsupported format character '" + std::string(1, fmt[i]) + "'");
    }
  }
  if (next != args.size())
    in.fail(loc, "not all arguments converted during string formatting");
  return makeStr(out);
}

ValueRef Interpreter::binary(const std::string &op, const ValueRef &a,
                             const ValueRef &b, llvm::SMLoc loc) {
  if (a->kind == ValueKind::Tensor || b->kind == ValueKind::Tensor)
    return traceBinary(*this, op, a, b, loc);
  bool ai = a->kind == ValueKind::Int || a->kind == ValueKind::Bool;
  bool bi = b->kind == ValueKind::Int || b->kind == ValueKind::Bool;
  if (ai && bi) {
    int64_t x = a->i, y = b->i, r = 0;
    if (op == "+") {
      bool overflow = __builtin_add_overflow(x, y, &r);
      return makeInt(checkedInt(*this, overflow, r, loc));
    }
    if (op == "-") {
      bool overflow = __builtin_sub_overflow(x, y, &r);
      return makeInt(checkedInt(*this, overflow, r, loc));
    }
    if (op == "*") {
      bool overflow = __builtin_mul_overflow(x, y, &r);
      return makeInt(checkedInt(*this, overflow, r, loc));
    }
    if (op == "/") {
      if (y == 0)
        fail(loc, "division by zero");
      return makeFloat((double)x / (double)y);
    }
    if (op == "//" || op == "%") {
      if (y == 0)
        fail(loc, "integer division or modulo by zero");
      if (x == INT64_MIN && y == -1)
        fail(loc, "integer overflow in compile-time arithmetic");
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) { // Python floors
        q -= 1;
        m += y;
      }
      return makeInt(op == "//" ? q : m);
    }
    if (op == "**") {
      if (y < 0) // a float, like Python (0 ** -1 raises there)
        return floatPow(*this, (double)x, (double)y, loc);
      // 0, 1 and -1 to any power without looping (y can be 2^63 - 1);
      // any other base overflows 64 bits after at most 63 multiplications.
      if (x == 0 || x == 1)
        return makeInt(y == 0 ? 1 : x);
      if (x == -1)
        return makeInt(y % 2 ? -1 : 1);
      int64_t res = 1;
      for (int64_t k = 0; k < y; ++k)
        if (__builtin_mul_overflow(res, x, &res))
          fail(loc, "integer overflow in compile-time arithmetic (cnnc uses 64-bit integers)");
      return makeInt(res);
    }
    if (op == "<<" || op == ">>") {
      if (y < 0)
        fail(loc, "negative shift count");
      if (op == ">>")
        return makeInt(y >= 64 ? (x < 0 ? -1 : 0) : x >> y);
      if (y >= 63 || (x != 0 && (std::abs(x) >> (63 - y)) != 0))
        fail(loc, "integer overflow in compile-time arithmetic (cnnc uses 64-bit integers)");
      return makeInt(x << y);
    }
    if (op == "&")
      return makeInt(x & y);
    if (op == "|")
      return makeInt(x | y);
    if (op == "^")
      return makeInt(x ^ y);
  }
  if (isNumber(*a) && isNumber(*b)) {
    double x = a->kind == ValueKind::Float ? a->f : (double)a->i;
    double y = b->kind == ValueKind::Float ? b->f : (double)b->i;
    if (op == "+") return makeFloat(x + y);
    if (op == "-") return makeFloat(x - y);
    if (op == "*") return makeFloat(x * y);
    if (op == "/" || op == "//" || op == "%") {
      // ZeroDivisionError, with Python's messages.
      if (y == 0)
        fail(loc, op == "/"    ? "float division by zero"
                  : op == "//" ? "float floor division by zero"
                               : "float modulo by zero");
      if (op == "/")
        return makeFloat(x / y);
      // Python's float_divmod: the remainder has the divisor's sign and is
      // exact (fmod), the quotient is rounded consistently with it; so
      // 5.0 % inf is 5.0, not nan.
      double mod = std::fmod(x, y);
      double div = (x - mod) / y;
      if (mod != 0) {
        if ((y < 0) != (mod < 0)) {
          mod += y;
          div -= 1.0;
        }
      } else {
        mod = std::copysign(0.0, y);
      }
      double floordiv;
      if (div != 0) {
        floordiv = std::floor(div);
        if (div - floordiv > 0.5)
          floordiv += 1.0;
      } else {
        floordiv = std::copysign(0.0, x / y);
      }
      return makeFloat(op == "//" ? floordiv : mod);
    }
    if (op == "**")
      return floatPow(*this, x, y, loc);
  }
  if (a->kind == ValueKind::Str && op == "%")
    return percentFormat(*this, a->s, b, loc);
  if (a->kind == ValueKind::Str && b->kind == ValueKind::Str && op == "+")
    return makeStr(a->s + b->s);
  bool aSeq = a->kind == ValueKind::List || a->kind == ValueKind::Tuple;
  if (aSeq && b->kind == a->kind && op == "+") {
    std::vector<ValueRef> items = a->items;
    items.insert(items.end(), b->items.begin(), b->items.end());
    return a->kind == ValueKind::List ? makeList(items) : makeTuple(items);
  }
  if ((aSeq || a->kind == ValueKind::Str) && bi && op == "*") {
    if (b->i > 1'000'000)
      fail(loc, "sequence repetition too large for compile-time evaluation");
    if (a->kind == ValueKind::Str) {
      std::string s;
      for (int64_t k = 0; k < b->i; ++k)
        s += a->s;
      return makeStr(s);
    }
    std::vector<ValueRef> items;
    for (int64_t k = 0; k < b->i; ++k)
      items.insert(items.end(), a->items.begin(), a->items.end());
    return a->kind == ValueKind::List ? makeList(items) : makeTuple(items);
  }
  fail(loc, "unsupported operand type(s) for " + op + ": '" + typeName(*a) +
                "' and '" + typeName(*b) + "'");
}

bool Interpreter::equals(const Value &a, const Value &b) {
  if (isNumber(a) && isNumber(b)) {
    if (a.kind == ValueKind::Float || b.kind == ValueKind::Float) {
      double x = a.kind == ValueKind::Float ? a.f : (double)a.i;
      double y = b.kind == ValueKind::Float ? b.f : (double)b.i;
      return x == y;
    }
    return a.i == b.i;
  }
  if (a.kind != b.kind)
    return false;
  switch (a.kind) {
  case ValueKind::None: return true;
  case ValueKind::Str: return a.s == b.s;
  case ValueKind::Tuple:
  case ValueKind::List:
    if (a.items.size() != b.items.size())
      return false;
    for (size_t i = 0; i < a.items.size(); ++i)
      if (!equals(*a.items[i], *b.items[i]))
        return false;
    return true;
  default:
    return &a == &b;
  }
}

ValueRef Interpreter::evalCompare(const Expr &e,
                                  const std::shared_ptr<Scope> &scope) {
  ValueRef lhs = eval(*e.children[0], scope);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    ValueRef rhs = eval(*e.children[i + 1], scope);
    const std::string &op = e.ops[i];
    llvm::SMLoc loc = e.children[i]->loc();
    if (lhs->kind == ValueKind::Tensor || rhs->kind == ValueKind::Tensor) {
      if (op != "is" && op != "is not")
        fail(loc, "comparing tensors gives a data-dependent result; conditions "
                  "in forward must be compile-time constants");
    }
    bool r;
    if (op == "is" || op == "is not") {
      bool same = lhs == rhs || (lhs->kind == ValueKind::None && rhs->kind == ValueKind::None) ||
                  (lhs->kind == ValueKind::Bool && rhs->kind == ValueKind::Bool && lhs->b == rhs->b) ||
                  (lhs->kind == ValueKind::Object && rhs->kind == ValueKind::Object &&
                   lhs->obj == rhs->obj);
      r = op == "is" ? same : !same;
    } else if (op == "==" || op == "!=") {
      r = equals(*lhs, *rhs) == (op == "==");
    } else if (op == "in" || op == "not in") {
      bool found = false;
      if (rhs->kind == ValueKind::Str && lhs->kind == ValueKind::Str)
        found = rhs->s.find(lhs->s) != std::string::npos;
      else if (rhs->kind == ValueKind::Dict && lhs->kind == ValueKind::Str)
        found = rhs->dict->find(lhs->s) != nullptr;
      else
        for (auto &x : iterate(rhs, e.children[i + 1]->loc()))
          found = found || equals(*lhs, *x);
      r = found == (op == "in");
    } else {
      int cmp;
      if (isNumber(*lhs) && isNumber(*rhs)) {
        double x = lhs->kind == ValueKind::Float ? lhs->f : (double)lhs->i;
        double y = rhs->kind == ValueKind::Float ? rhs->f : (double)rhs->i;
        if (lhs->kind != ValueKind::Float && rhs->kind != ValueKind::Float)
          cmp = lhs->i < rhs->i ? -1 : lhs->i > rhs->i;
        else
          cmp = x < y ? -1 : x > y;
      } else if (lhs->kind == ValueKind::Str && rhs->kind == ValueKind::Str) {
        cmp = lhs->s.compare(rhs->s);
      } else {
        fail(loc, "'" + op + "' not supported between instances of '" +
                      typeName(*lhs) + "' and '" + typeName(*rhs) + "'");
      }
      r = op == "<" ? cmp < 0 : op == "<=" ? cmp <= 0 : op == ">" ? cmp > 0 : cmp >= 0;
    }
    if (!r)
      return makeBool(false);
    lhs = rhs;
  }
  return makeBool(true);
}

} // namespace cnnc::eval
