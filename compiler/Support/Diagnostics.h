//===- Diagnostics.h - the one diagnostic engine over llvm::SourceMgr -----===//
//
// Every user-facing message of the compiler goes through DiagEngine: errors,
// warnings and notes at a source location render as
// `file:line:col: error: message`, the source line and a caret (and a ~~~
// range when one is given), via llvm::SourceMgr::PrintMessage. Messages
// without a location (weights files, command-line problems) render as
// `cnnc: error: message`. Messages start lower-case and end without a period.
// The engine counts errors so a stage can report several independent errors
// before the driver stops with exit code 1.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_SUPPORT_DIAGNOSTICS_H
#define CNNC_SUPPORT_DIAGNOSTICS_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace cnnc {

/// Exit code of a user error and of an internal compiler error.
constexpr int kExitUserError = 1;
constexpr int kExitInternalError = 70;

class DiagEngine {
public:
  explicit DiagEngine(llvm::SourceMgr &sm, llvm::raw_ostream &os = llvm::errs())
      : sm_(sm), os_(os) {}

  void error(llvm::SMLoc loc, const llvm::Twine &msg,
             llvm::SMRange range = {});
  void warning(llvm::SMLoc loc, const llvm::Twine &msg,
               llvm::SMRange range = {});
  void note(llvm::SMLoc loc, const llvm::Twine &msg, llvm::SMRange range = {});
  /// A note attached to the previous diagnostic, with no source location.
  void note(const llvm::Twine &msg);
  /// An error that is not about a source location (`cnnc: error: ...`).
  void error(const llvm::Twine &msg);
  void warning(const llvm::Twine &msg);

  unsigned errorCount() const { return errors_; }
  bool hasErrors() const { return errors_ != 0; }
  /// Stops reporting after this many errors (the rest are counted only).
  void setErrorLimit(unsigned n) { limit_ = n; }
  llvm::SourceMgr &sourceMgr() { return sm_; }
  /// Enables ANSI colors (off by default; the driver decides).
  void setColors(bool on) { colors_ = on; }

private:
  void print(llvm::SMLoc loc, llvm::SourceMgr::DiagKind kind,
             const llvm::Twine &msg, llvm::SMRange range);
  llvm::SourceMgr &sm_;
  llvm::raw_ostream &os_;
  unsigned errors_ = 0;
  unsigned limit_ = 20;
  bool colors_ = false;
  bool suppressed_ = false; ///< the last error was over the limit
};

/// Reports an internal compiler error (our bug) and exits with code 70.
[[noreturn]] void reportInternalError(const llvm::Twine &msg);

} // namespace cnnc

#endif
