// Cnn.g4 - the grammar of .cnn files: the statically-shaped Python subset in
// which users write PyTorch models (see docs/language.md).
//
// The lexer turns Python's layout into NEWLINE / INDENT / DEDENT tokens
// (nextToken below): newlines inside brackets and on blank or comment-only
// lines are dropped, and indentation changes emit INDENT/DEDENT. Everything
// the parser accepts becomes our own AST in compiler/Frontend/ASTBuilder.cpp;
// constructs that parse but are outside the subset (while, try, lambda, ...)
// are rejected there with a "not supported" diagnostic rather than a syntax
// error.
grammar Cnn;

tokens { INDENT, DEDENT }

@lexer::header {
#include <deque>
#include <memory>
#include <string>
#include <vector>
}

@lexer::members {
public:
  // tokens{} of a combined grammar are numbered after the last lexer rule;
  // ASTBuilder.cpp static_asserts that these match CnnParser::INDENT/DEDENT.
  static constexpr size_t INDENT = ERROR_CHAR + 1;
  static constexpr size_t DEDENT = ERROR_CHAR + 2;
  /// An indentation problem found by the lexer, reported by the front end.
  struct LayoutError { size_t line; size_t column; std::string message; };
  std::vector<LayoutError> layoutErrors;
  /// Code-point index and text of each bracket still open at end of input.
  std::vector<std::pair<size_t, std::string>> unclosedBrackets() const { return open_; }
  /// Code-point index and text of each closing bracket with no opener.
  std::vector<std::pair<size_t, std::string>> unmatchedClosers;

  std::unique_ptr<antlr4::Token> nextToken() override {
    if (!pending_.empty())
      return popPending();
    for (;;) {
      std::unique_ptr<antlr4::Token> t = antlr4::Lexer::nextToken();
      size_t type = t->getType();
      if (type == OPEN_PAREN || type == OPEN_BRACK || type == OPEN_BRACE) {
        ++opened_;
        open_.push_back({t->getStartIndex(), t->getText()});
      } else if (type == CLOSE_PAREN || type == CLOSE_BRACK || type == CLOSE_BRACE) {
        if (opened_ > 0) {
          --opened_;
          open_.pop_back();
        } else {
          unmatchedClosers.push_back({t->getStartIndex(), t->getText()});
        }
      }
      if (type == NEWLINE) {
        if (opened_ > 0 || !sawCode_)
          continue; // implicit line joining, or leading blank lines
        if (!lastNewline_) // the end of the last line of code, for EOF
          lastNewline_ = makeToken(NEWLINE, "<NEWLINE>", t.get());
        size_t next = _input->LA(1);
        if (next == '\n' || next == '\r' || next == '#')
          continue; // blank or comment-only line: no layout meaning
        if (next == (size_t)antlr4::Token::EOF)
          continue; // handled at EOF
        std::string text = t->getText();
        // Python's rule: the width with tabs to multiples of 8 decides the
        // layout, and must order lines the same way as with tabs counted as
        // 1 (altWidth), or the meaning would depend on the tab size.
        size_t width = 0, altWidth = 0;
        for (char c : text) {
          if (c == ' ') ++width, ++altWidth;
          else if (c == '\t') width = (width / 8 + 1) * 8, ++altWidth;
          else if (c == '\f') width = altWidth = 0;
        }
        size_t lead = text.size() - (text.rfind('\n') != std::string::npos
                                         ? text.rfind('\n') + 1 : 1);
        size_t line = t->getLine() + 1;
        const char *tabError = "inconsistent use of tabs and spaces in indentation";
        // INDENT/DEDENT sit at the first character of the new line.
        size_t firstChar = t->getStartIndex() + text.size();
        pending_.push_back(makeToken(NEWLINE, "<NEWLINE>", t.get()));
        if (width > indents_.back()) {
          if (altWidth <= altIndents_.back())
            layoutErrors.push_back({line, lead, tabError});
          indents_.push_back(width);
          altIndents_.push_back(altWidth);
          pending_.push_back(makeToken(INDENT, "<INDENT>", t.get(), line, width, firstChar));
        } else {
          while (width < indents_.back()) {
            indents_.pop_back();
            altIndents_.pop_back();
            pending_.push_back(makeToken(DEDENT, "<DEDENT>", t.get(), line, width, firstChar));
          }
          if (width != indents_.back())
            layoutErrors.push_back({line, lead,
                "unindent does not match any outer indentation level"});
          else if (altWidth != altIndents_.back())
            layoutErrors.push_back({line, lead, tabError});
        }
        return popPending();
      }
      if (type == antlr4::Token::EOF) {
        if (sawCode_ && !atEof_) {
          atEof_ = true;
          // The final NEWLINE is at the end of the last line of code.
          pending_.push_back(makeToken(NEWLINE, "<NEWLINE>",
                                       lastNewline_ ? lastNewline_.get() : t.get()));
          while (indents_.size() > 1) {
            indents_.pop_back();
            pending_.push_back(makeToken(DEDENT, "<DEDENT>", t.get()));
          }
          pending_.push_back(std::move(t));
          return popPending();
        }
        return t;
      }
      sawCode_ = true;
      lastNewline_.reset();
      return t;
    }
  }

private:
  std::deque<std::unique_ptr<antlr4::Token>> pending_;
  std::vector<size_t> indents_{0};
  std::vector<size_t> altIndents_{0};
  int opened_ = 0;
  std::vector<std::pair<size_t, std::string>> open_;
  std::unique_ptr<antlr4::Token> lastNewline_;
  bool sawCode_ = false;
  bool atEof_ = false;

  std::unique_ptr<antlr4::Token> popPending() {
    std::unique_ptr<antlr4::Token> t = std::move(pending_.front());
    pending_.pop_front();
    return t;
  }

  std::unique_ptr<antlr4::Token> makeToken(size_t type, const std::string &text,
                                           antlr4::Token *at, size_t line = 0,
                                           size_t column = 0, size_t start = ~size_t(0)) {
    if (start == ~size_t(0))
      start = at->getStartIndex();
    auto tok = std::make_unique<antlr4::CommonToken>(
        std::make_pair(this, _input), type, antlr4::Token::DEFAULT_CHANNEL,
        start, start - 1);
    tok->setText(text);
    tok->setLine(line ? line : at->getLine());
    tok->setCharPositionInLine(line ? column : at->getCharPositionInLine());
    return tok;
  }
}

// ---------------------------------------------------------------- statements

file_ : (NEWLINE | stmt)* EOF ;

stmt : simpleStmts | compoundStmt ;

simpleStmts : simpleStmt (';' simpleStmt)* ';'? NEWLINE ;

simpleStmt
  : importStmt
  | fromImportStmt
  | returnStmt
  | passStmt
  | breakStmt
  | continueStmt
  | unsupportedSimpleStmt
  | exprStmt
  ;

importStmt : 'import' dottedAsName (',' dottedAsName)* ;
dottedAsName : dottedName ('as' NAME)? ;
fromImportStmt : 'from' dottedName 'import' ( '*' | '(' importAsNames ')' | importAsNames ) ;
importAsNames : importAsName (',' importAsName)* ','? ;
importAsName : NAME ('as' NAME)? ;
dottedName : NAME ('.' NAME)* ;

returnStmt : 'return' testlist? ;
passStmt : 'pass' ;
breakStmt : 'break' ;
continueStmt : 'continue' ;

// Parsed so the error can name the construct; rejected by the AST builder.
unsupportedSimpleStmt
  : kw='raise' testlist? ('from' test)?
  | kw='assert' test (',' test)?
  | kw='global' NAME (',' NAME)*
  | kw='nonlocal' NAME (',' NAME)*
  | kw='del' exprlist
  | kw='yield' testlist?
  ;

// `a = b`, `a = b = c`, `a += b`, `a: T = b`, or a bare expression.
exprStmt
  : testlistStar (augassign testlist
                 | ':' test ('=' testlist)?
                 | ('=' testlistStar)*)
  ;
augassign : '+=' | '-=' | '*=' | '/=' | '//=' | '%=' | '**=' | '@=' | '&=' | '|=' | '^=' | '<<=' | '>>=' ;

compoundStmt
  : ifStmt
  | forStmt
  | funcDef
  | classDef
  | decorated
  | unsupportedCompoundStmt
  ;

ifStmt : 'if' test ':' block elifClause* elseClause? ;
elifClause : 'elif' test ':' block ;
elseClause : 'else' ':' block ;
forStmt : 'for' exprlist 'in' testlist ':' block elseClause? ;

unsupportedCompoundStmt
  : kw='while' test ':' block elseClause?
  | kw='with' withItem (',' withItem)* ':' block
  | kw='try' ':' block (exceptClause ':' block)* elseClause? ('finally' ':' block)?
  | kw='async' (funcDef | forStmt)
  ;
withItem : test ('as' expr)? ;
exceptClause : 'except' (test ('as' NAME)?)? ;

decorated : decorator+ (classDef | funcDef) ;
decorator : '@' dottedName ('(' arglist? ')')? NEWLINE ;

funcDef : 'def' NAME '(' parameters? ')' ('->' test)? ':' block ;
parameters : parameter (',' parameter)* ','? ;
parameter
  : NAME (':' test)? ('=' test)?     # plainParam
  | '*' (NAME (':' test)?)?          # starParam
  | '**' NAME (':' test)?            # kwStarParam
  | '/'                              # slashParam
  ;

classDef : 'class' NAME ('(' arglist? ')')? ':' block ;

block : simpleStmts | NEWLINE INDENT stmt+ DEDENT ;

// --------------------------------------------------------------- expressions

test
  : orTest ('if' orTest 'else' test)?
  | lambdef
  ;
testNoCond : orTest | lambdef ;
lambdef : 'lambda' parameters? ':' test ;
orTest : andTest ('or' andTest)* ;
andTest : notTest ('and' notTest)* ;
notTest : 'not' notTest | comparison ;
comparison : expr (compOp expr)* ;
compOp : '<' | '>' | '==' | '>=' | '<=' | '!=' | 'in' | 'not' 'in' | 'is' 'not' | 'is' ;
starExpr : '*' expr ;
expr : xorExpr (op='|' xorExpr)* ;
xorExpr : andExpr (op='^' andExpr)* ;
andExpr : shiftExpr (op='&' shiftExpr)* ;
shiftExpr : arithExpr (ops+=('<<' | '>>') arithExpr)* ;
arithExpr : term (ops+=('+' | '-') term)* ;
term : factor (ops+=('*' | '/' | '//' | '%' | '@') factor)* ;
factor : op=('+' | '-' | '~') factor | power ;
power : atomExpr ('**' factor)? ;
atomExpr : atom trailer* ;

atom
  : OPEN_PAREN testlistComp? CLOSE_PAREN      # parenAtom
  | OPEN_BRACK testlistComp? CLOSE_BRACK      # listAtom
  | OPEN_BRACE dictOrSetMaker? CLOSE_BRACE    # dictAtom
  | NAME                                      # nameAtom
  | NUMBER                                    # numberAtom
  | STRING+                                   # stringAtom
  | '...'                                     # ellipsisAtom
  | 'None'                                    # noneAtom
  | 'True'                                    # trueAtom
  | 'False'                                   # falseAtom
  ;

testlistComp : (test | starExpr) (compFor | (',' (test | starExpr))* ','?) ;
trailer
  : OPEN_PAREN arglist? CLOSE_PAREN   # callTrailer
  | OPEN_BRACK subscriptList CLOSE_BRACK # subscriptTrailer
  | '.' NAME                          # attrTrailer
  ;
subscriptList : subscript (',' subscript)* ','? ;
subscript : test | lo=test? ':' hi=test? (':' st=test?)? ;
exprlist : (expr | starExpr) (',' (expr | starExpr))* ','? ;
testlist : test (',' test)* ','? ;
testlistStar : (test | starExpr) (',' (test | starExpr))* ','? ;
dictOrSetMaker
  : (test ':' test | '**' expr) (compFor | (',' (test ':' test | '**' expr))* ','?)
  | (test | starExpr) (compFor | (',' (test | starExpr))* ','?)
  ;
arglist : argument (',' argument)* ','? ;
argument
  : test compFor?     # positionalArg
  | NAME '=' test     # keywordArg
  | '**' test         # kwStarArg
  | '*' test          # starArg
  ;
compFor : 'for' exprlist 'in' orTest compIter? ;
compIter : compFor | compIf ;
compIf : 'if' testNoCond compIter? ;

// -------------------------------------------------------------------- tokens

NUMBER
  : [0-9] ('_'? [0-9])* ('.' [0-9]* )? ([eE] [+-]? [0-9]+)?
  | '.' [0-9]+ ([eE] [+-]? [0-9]+)?
  | '0' [xX] [0-9a-fA-F]+
  | '0' [oO] [0-7]+
  | '0' [bB] [01]+
  ;

STRING
  : [rRfFbBuU]? [rRfFbB]? ( '\'\'\'' .*? '\'\'\'' | '"""' .*? '"""'
                          | '\'' ( '\\' . | ~[\\\r\n'] )* '\''
                          | '"' ( '\\' . | ~[\\\r\n"] )* '"' )
  ;

NAME : [a-zA-Z_] [a-zA-Z_0-9]* ;

OPEN_PAREN : '(' ;
CLOSE_PAREN : ')' ;
OPEN_BRACK : '[' ;
CLOSE_BRACK : ']' ;
OPEN_BRACE : '{' ;
CLOSE_BRACE : '}' ;

NEWLINE : ( '\r'? '\n' | '\r' ) [ \t\f]* ;

SKIP_ : ( [ \t\f]+ | '#' ~[\r\n]* | '\\' '\r'? '\n' ) -> skip ;

// Any other character is a lexical error reported by the front end.
ERROR_CHAR : . ;
