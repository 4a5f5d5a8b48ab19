//===- Parser.h - source text to AST --------------------------------------===//
//
// The front end's one entry point: checks the raw bytes (UTF-8, NUL bytes,
// nesting depth), runs the ANTLR lexer and parser with our own error
// listener, and builds the AST. Syntax errors are reported through the
// DiagEngine with our wording; on any error the result is null.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_FRONTEND_PARSER_H
#define CNNC_FRONTEND_PARSER_H

#include "Frontend/AST.h"
#include "Support/Diagnostics.h"

#include <memory>

namespace cnnc {

/// Deepest bracket nesting / indentation accepted (a limit, not a crash).
constexpr unsigned kMaxNestingDepth = 100;

std::unique_ptr<ast::File> parseFile(unsigned bufferId, DiagEngine &diags);

} // namespace cnnc

#endif
