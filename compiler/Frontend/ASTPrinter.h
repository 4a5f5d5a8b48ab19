//===- ASTPrinter.h - stable text dump of the AST (--emit=ast) ------------===//
#ifndef CNNC_FRONTEND_ASTPRINTER_H
#define CNNC_FRONTEND_ASTPRINTER_H

#include "Frontend/AST.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

namespace cnnc {

/// One node per line, children indented by two spaces, each with its
/// `@line:col` so tests can check locations.
void printAST(const ast::File &file, const llvm::SourceMgr &sm,
              llvm::raw_ostream &os);

} // namespace cnnc

#endif
