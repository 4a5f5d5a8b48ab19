//===- Progress.cpp - the one-line progress display of long compiles ------===//
#include "Driver/Progress.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/Process.h"

#include <algorithm>
#include <chrono>

namespace cnnc::progress {
namespace {

bool enabled = false;
bool shown = false;
std::vector<std::string> stages;

using Clock = std::chrono::steady_clock;
bool timing = false;
/// The stages entered so far and when each began.
std::vector<std::pair<std::string, Clock::time_point>> entered;

/// Forwards to llvm::errs() after erasing the progress line.
class ClearingStream : public llvm::raw_ostream {
public:
  ClearingStream() { SetUnbuffered(); }

private:
  void write_impl(const char *ptr, size_t size) override {
    clear();
    llvm::errs().write(ptr, size);
    pos_ += size;
  }
  uint64_t current_pos() const override { return pos_; }
  uint64_t pos_ = 0;
};

} // namespace

void enable(bool forced) {
  enabled = forced || llvm::sys::Process::StandardErrIsDisplayed();
}

void plan(std::vector<std::string> s) { stages = std::move(s); }

void enter(llvm::StringRef stage) {
  if (timing)
    entered.emplace_back(stage.str(), Clock::now());
  if (!enabled)
    return;
  auto it = std::find(stages.begin(), stages.end(), stage);
  // Carriage return + "erase to end of line", then the new text; no newline.
  llvm::errs() << "\r\x1b[Kcnnc: ";
  if (it != stages.end())
    llvm::errs() << "[" << (it - stages.begin() + 1) << "/" << stages.size() << "] ";
  llvm::errs() << stage;
  llvm::errs().flush();
  shown = true;
}

void clear() {
  if (!shown)
    return;
  shown = false;
  llvm::errs() << "\r\x1b[K";
  llvm::errs().flush();
}

void recordTimes() { timing = true; }

void printTimeReport(llvm::raw_ostream &os) {
  if (!timing || entered.empty())
    return;
  auto end = Clock::now();
  auto ms = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  os << "cnnc: time report (wall clock)\n";
  for (size_t i = 0; i < entered.size(); ++i) {
    auto stop = i + 1 < entered.size() ? entered[i + 1].second : end;
    os << llvm::format("  %-22s %9.1f ms\n", entered[i].first.c_str(),
                       ms(stop - entered[i].second));
  }
  os << llvm::format("  %-22s %9.1f ms\n", (const char *)"total",
                     ms(end - entered.front().second));
  entered.clear();
}

llvm::raw_ostream &errs() {
  static ClearingStream stream;
  return stream;
}

} // namespace cnnc::progress
