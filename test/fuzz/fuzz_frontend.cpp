//===- fuzz_frontend.cpp - libFuzzer target: bytes -> diagnostics or IR ---===//
//
// Feeds arbitrary bytes through the whole front end exactly as the driver
// does: SourceMgr buffer -> parseFile (byte checks, ANTLR, AST) -> elaborate
// (__init__ at compile time, forward traced, shape inference) -> the IR
// verifier and printer. Every input must end in diagnostics or a verified
// graph: a crash, a sanitizer report, an exit() (reportInternalError) or a
// graph that does not verify is a bug.
//
//===----------------------------------------------------------------------===//
#include "Elaborate/Elaborate.h"
#include "Frontend/Parser.h"
#include "IR/Printer.h"
#include "IR/Verifier.h"
#include "Support/Diagnostics.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::SourceMgr sm;
  // Rendering the diagnostics (source line, caret, ranges) is part of the
  // target: a location outside the buffer would show up here.
  std::string diagText;
  llvm::raw_string_ostream diagOS(diagText);
  cnnc::DiagEngine diags(sm, diagOS);
  sm.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz.cnn"),
      llvm::SMLoc());
  auto file = cnnc::parseFile(1, diags);
  if (!file) {
    if (!diags.hasErrors()) {
      fprintf(stderr, "parseFile returned null without a diagnostic\n");
      abort();
    }
    return 0;
  }
  cnnc::ElaborateOptions opts;
  cnnc::ModelInfo info;
  auto g = cnnc::elaborate(*file, diags, opts, info);
  if (!g) {
    if (!diags.hasErrors()) {
      fprintf(stderr, "elaborate returned null without a diagnostic\n");
      abort();
    }
    return 0;
  }
  auto problems = cnnc::ir::verifyGraph(*g);
  if (!problems.empty()) {
    fprintf(stderr, "traced graph does not verify: %s\n", problems[0].c_str());
    abort();
  }
  std::string irText;
  llvm::raw_string_ostream irOS(irText);
  cnnc::ir::printGraph(*g, irOS);
  return 0;
}
