//===- Parser.cpp - source text to AST through ANTLR ----------------------===//
//
// Checks the bytes before ANTLR sees them (valid UTF-8, no NUL bytes, bracket
// nesting and indentation within kMaxNestingDepth so the recursive-descent
// parser cannot overflow the stack), lexes the whole file and reports lexical
// problems, then parses with ANTLR's error output replaced by ours, and
// finally builds the AST.
//
//===----------------------------------------------------------------------===//
#include "Frontend/Parser.h"

#include "CnnLexer.h"
#include "CnnParser.h"
#include "Frontend/ASTBuilder.h"

#include "llvm/Support/ConvertUTF.h"

using namespace cnnc_antlr;

namespace cnnc {
namespace {

llvm::SMLoc locAt(const char *p) { return llvm::SMLoc::getFromPointer(p); }

/// Byte-level checks that keep hostile input away from ANTLR.
bool checkBytes(llvm::StringRef buf, DiagEngine &diags) {
  if (const char *p = (const char *)memchr(buf.data(), '\0', buf.size())) {
    diags.error(locAt(p), "source file contains a NUL byte");
    return false;
  }
  const llvm::UTF8 *b = (const llvm::UTF8 *)buf.begin();
  const llvm::UTF8 *e = (const llvm::UTF8 *)buf.end();
  if (!llvm::isLegalUTF8String(&b, e)) {
    diags.error(locAt((const char *)b), "source file is not valid UTF-8");
    return false;
  }
  unsigned depth = 0;
  size_t indent = 0;
  bool lineStart = true;
  for (const char *p = buf.begin(); p != buf.end(); ++p) {
    char c = *p;
    if (lineStart) {
      if (c == ' ' || c == '\t') {
        if (++indent > kMaxNestingDepth * 8) {
          diags.error(locAt(p), "indentation is nested too deeply (limit " +
                                    llvm::Twine(kMaxNestingDepth) + " levels)");
          return false;
        }
        continue;
      }
      lineStart = false;
    }
    if (c == '\n') {
      lineStart = true;
      indent = 0;
    } else if (c == '(' || c == '[' || c == '{') {
      if (++depth > kMaxNestingDepth) {
        diags.error(locAt(p), "brackets are nested too deeply (limit " +
                                  llvm::Twine(kMaxNestingDepth) + ")");
        return false;
      }
    } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == '#') {
      while (p + 1 != buf.end() && p[1] != '\n')
        ++p;
    }
  }
  return true;
}

std::string describe(antlr4::Token *t) {
  switch (t->getType()) {
  case antlr4::Token::EOF: return "end of file";
  case CnnParser::NEWLINE: return "end of line";
  case CnnParser::INDENT: return "indent";
  case CnnParser::DEDENT: return "unindent";
  default: return "'" + t->getText() + "'";
  }
}

/// Keeps ANTLR's first syntax error, in our own words.
class SyntaxErrorListener : public antlr4::BaseErrorListener {
public:
  explicit SyntaxErrorListener(const SourcePositions &pos)
      : pos_(pos) {}

  void syntaxError(antlr4::Recognizer *, antlr4::Token *tok, size_t, size_t,
                   const std::string &msg, std::exception_ptr) override {
    llvm::SMLoc loc = tok ? pos_.startOf(tok) : llvm::SMLoc();
    // Like Python, report the first syntax error only: what ANTLR's error
    // recovery finds after it is mostly a consequence of the first.
    if (!firstText.empty())
      return;
    std::string what = tok ? describe(tok) : "input";
    std::string text = "invalid syntax: unexpected " + what;
    if (tok && tok->getType() == CnnParser::INDENT)
      text = "invalid syntax: unexpected indent";
    // "missing ':' at ..." is worth keeping: say what was expected.
    if (msg.rfind("missing ", 0) == 0) {
      size_t at = msg.find(" at ");
      std::string expected = msg.substr(8, at - 8);
      if (expected == "INDENT")
        text = "expected an indented block before " + what;
      else
        text = "invalid syntax: expected " +
               (expected == "NEWLINE" ? std::string("end of line") : expected) +
               " before " + what;
    }
    firstLoc = loc;
    firstText = text;
  }

  /// The first syntax error, reported by parseFile.
  llvm::SMLoc firstLoc;
  std::string firstText;

private:
  const SourcePositions &pos_;
};

} // namespace

std::unique_ptr<ast::File> parseFile(unsigned bufferId, DiagEngine &diags) {
  const llvm::MemoryBuffer *mb = diags.sourceMgr().getMemoryBuffer(bufferId);
  llvm::StringRef buf = mb->getBuffer();
  if (!checkBytes(buf, diags))
    return nullptr;

  SourcePositions pos(buf.data(), buf.size());
  antlr4::ANTLRInputStream input(buf.data(), buf.size());
  CnnLexer lexer(&input);
  lexer.removeErrorListeners();
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();

  // Lexical errors: stray characters, unterminated strings, bad dedents,
  // brackets that do not pair up.
  unsigned before = diags.errorCount();
  const auto &all = tokens.getTokens();
  for (size_t i = 0; i < all.size(); ++i) {
    antlr4::Token *t = all[i];
    if (t->getType() != CnnLexer::ERROR_CHAR)
      continue;
    std::string c = t->getText();
    if (c == "'" || c == "\"") {
      // An unterminated triple-quoted string lexes as an empty string
      // literal followed by a stray quote.
      antlr4::Token *prev = i > 0 ? all[i - 1] : nullptr;
      if (prev && prev->getType() == CnnLexer::STRING && prev->getText() == c + c &&
          prev->getStopIndex() + 1 == t->getStartIndex())
        diags.error(pos.startOf(prev), "unterminated triple-quoted string literal");
      else
        diags.error(pos.startOf(t), "unterminated string literal");
      break; // the rest of the file is inside the string
    }
    diags.error(pos.startOf(t), "invalid character '" + c + "' in source");
  }
  if (diags.errorCount() == before && !lexer.unmatchedClosers.empty()) {
    auto &u = lexer.unmatchedClosers.front();
    diags.error(pos.at(u.first), "unmatched '" + u.second + "'");
  }
  for (auto &e : lexer.layoutErrors) {
    const char *lineStart =
        diags.sourceMgr().FindLocForLineAndColumn(bufferId, e.line, 1).getPointer();
    diags.error(locAt(lineStart + e.column), e.message);
  }
  if (diags.errorCount() != before)
    return nullptr;

  CnnParser parser(&tokens);
  parser.removeErrorListeners();
  SyntaxErrorListener listener(pos);
  parser.addErrorListener(&listener);
  CnnParser::File_Context *tree = nullptr;
  try {
    tree = parser.file_();
  } catch (std::exception &ex) {
    diags.error(llvm::SMLoc(), llvm::Twine("parser failure: ") + ex.what());
    return nullptr;
  }
  if (!listener.firstText.empty()) {
    // A bracket left open makes the parser fail on a later line; then the
    // bracket is the thing to fix (Python says the same).
    auto open = lexer.unclosedBrackets();
    auto &sm = diags.sourceMgr();
    if (!open.empty() && listener.firstLoc.isValid() &&
        sm.getLineAndColumn(listener.firstLoc).first >
            sm.getLineAndColumn(pos.at(open.back().first)).first)
      diags.error(pos.at(open.back().first), "'" + open.back().second + "' was never closed");
    else
      diags.error(listener.firstLoc, listener.firstText);
  }
  if (diags.errorCount() != before)
    return nullptr;
  auto file = buildAST(tree, pos, diags);
  if (diags.errorCount() != before)
    return nullptr;
  file->path = mb->getBufferIdentifier().str();
  return file;
}

} // namespace cnnc
