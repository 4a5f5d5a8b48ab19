//===- ASTBuilder.h - ANTLR parse tree to our AST (front end private) -----===//
#ifndef CNNC_FRONTEND_ASTBUILDER_H
#define CNNC_FRONTEND_ASTBUILDER_H

#include "CnnParser.h"
#include "Frontend/AST.h"
#include "Support/Diagnostics.h"

#include <vector>

namespace cnnc {

/// Converts ANTLR positions (code-point indices) to SMLocs in the buffer.
class SourcePositions {
public:
  SourcePositions(const char *bufStart, size_t bufSize);
  llvm::SMLoc at(size_t codePointIndex) const;
  llvm::SMLoc startOf(antlr4::Token *t) const { return at(t->getStartIndex()); }
  llvm::SMLoc endOf(antlr4::Token *t) const { return at(t->getStopIndex() + 1); }

private:
  const char *start_;
  std::vector<uint32_t> byteOffset_; ///< per code point, plus one past the end
};

/// Builds the AST of a whole file; reports literal and construct problems.
std::unique_ptr<ast::File> buildAST(cnnc_antlr::CnnParser::File_Context *tree,
                                    const SourcePositions &pos,
                                    DiagEngine &diags);

} // namespace cnnc

#endif
