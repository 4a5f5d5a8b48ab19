//===- Progress.h - the one-line progress display of long compiles --------===//
//
// While cnnc works, stderr shows a single line that is redrawn at each stage
// boundary, `cnnc: [5/7] generating code`, and erased when cnnc is done or
// before anything else is written to stderr. It is drawn only when stderr is
// a terminal, or when forced with --progress (for tests); never when piped.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_DRIVER_PROGRESS_H
#define CNNC_DRIVER_PROGRESS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace cnnc::progress {

/// Turns the display on when `forced` or stderr is a terminal.
void enable(bool forced);
/// The stages this invocation goes through, in order (numbers the line).
void plan(std::vector<std::string> stages);
/// Redraws the line for `stage`, one of the planned stages.
void enter(llvm::StringRef stage);
/// Erases the line, if one is shown.
void clear();
/// Records the wall time of each stage from now on (--time-report).
void recordTimes();
/// Prints the recorded stages and their wall times, ending the last stage
/// now; nothing unless recordTimes() was called.
void printTimeReport(llvm::raw_ostream &os);
/// llvm::errs() that first erases the progress line: diagnostics written
/// through it never land on the end of a half-drawn line.
llvm::raw_ostream &errs();

} // namespace cnnc::progress

#endif
