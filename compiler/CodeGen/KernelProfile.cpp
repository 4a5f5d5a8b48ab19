//===- KernelProfile.cpp - per-kernel times for cnnc bench --profile ------===//
//
// Code compiled with Options::profile calls cnnc_profile_mark(i) before its
// kernel i and cnnc_profile_mark(n) after the last one. Each mark adds the
// time since the previous mark to the previous kernel's total; mark 0 starts
// a run. The JIT binds the symbol to this function (JIT.cpp); object files
// are never compiled with profiling.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/CodeGen.h"

#include <chrono>

namespace cnnc::codegen {
namespace {

using Clock = std::chrono::steady_clock;

struct Profile {
  std::vector<double> totalMs; ///< per kernel, over all runs
  int64_t runs = 0;
  int64_t last = -1;           ///< index of the previous mark, -1: none
  Clock::time_point lastTime;
};
Profile profile;

} // namespace

void resetKernelProfile(size_t kernels) {
  profile = Profile();
  profile.totalMs.assign(kernels, 0.0);
}

std::vector<double> kernelProfileMs() {
  std::vector<double> out(profile.totalMs.size(), 0.0);
  for (size_t i = 0; i < out.size() && profile.runs; ++i)
    out[i] = profile.totalMs[i] / (double)profile.runs;
  return out;
}

} // namespace cnnc::codegen

/// Called by profiled generated code, always from the thread that called
/// the model's entry (kernels' worker threads never mark).
extern "C" void cnnc_profile_mark(int32_t i) {
  using namespace cnnc::codegen;
  auto now = Clock::now();
  if (i == 0)
    ++profile.runs;
  else if (profile.last == i - 1 && (size_t)(i - 1) < profile.totalMs.size())
    profile.totalMs[i - 1] +=
        std::chrono::duration<double, std::milli>(now - profile.lastTime).count();
  profile.last = i;
  profile.lastTime = now;
}
