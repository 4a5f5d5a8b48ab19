//===- Diagnostics.cpp - rendering of errors, warnings and notes ----------===//
#include "Support/Diagnostics.h"

#include <cstdlib>

namespace cnnc {

void DiagEngine::print(llvm::SMLoc loc, llvm::SourceMgr::DiagKind kind,
                       const llvm::Twine &msg, llvm::SMRange range) {
  if (kind == llvm::SourceMgr::DK_Error) {
    ++errors_;
    suppressed_ = errors_ > limit_;
    if (errors_ == limit_ + 1)
      os_ << "cnnc: note: too many errors emitted, stopping now\n";
  }
  if (suppressed_)
    return;
  if (!loc.isValid()) {
    const char *label = kind == llvm::SourceMgr::DK_Error     ? "error"
                        : kind == llvm::SourceMgr::DK_Warning ? "warning"
                                                              : "note";
    os_ << "cnnc: " << label << ": " << msg << "\n";
    return;
  }
  llvm::ArrayRef<llvm::SMRange> ranges;
  if (range.isValid())
    ranges = llvm::ArrayRef<llvm::SMRange>(range);
  sm_.PrintMessage(os_, loc, kind, msg, ranges, {}, colors_);
}

void DiagEngine::error(llvm::SMLoc loc, const llvm::Twine &msg,
                       llvm::SMRange range) {
  print(loc, llvm::SourceMgr::DK_Error, msg, range);
}
void DiagEngine::warning(llvm::SMLoc loc, const llvm::Twine &msg,
                         llvm::SMRange range) {
  print(loc, llvm::SourceMgr::DK_Warning, msg, range);
}
void DiagEngine::note(llvm::SMLoc loc, const llvm::Twine &msg,
                      llvm::SMRange range) {
  print(loc, llvm::SourceMgr::DK_Note, msg, range);
}
void DiagEngine::note(const llvm::Twine &msg) {
  print({}, llvm::SourceMgr::DK_Note, msg, {});
}
void DiagEngine::error(const llvm::Twine &msg) {
  print({}, llvm::SourceMgr::DK_Error, msg, {});
}
void DiagEngine::warning(const llvm::Twine &msg) {
  print({}, llvm::SourceMgr::DK_Warning, msg, {});
}

void reportInternalError(const llvm::Twine &msg) {
  llvm::errs() << "cnnc: internal compiler error: " << msg << "\n"
               << "cnnc: note: this is a bug in cnnc; please report it with "
                  "the input file\n";
  std::exit(kExitInternalError);
}

} // namespace cnnc
