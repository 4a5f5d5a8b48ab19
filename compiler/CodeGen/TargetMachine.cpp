//===- TargetMachine.cpp - the target machine for codegen and the JIT ------===//
#include "CodeGen/CodeGen.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

#include <mutex>

using namespace llvm;

namespace cnnc::codegen {

void initNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    InitializeNativeTarget();
    InitializeNativeTargetAsmPrinter();
    InitializeNativeTargetAsmParser();
  });
}

/// Host CPU features in -mattr form ("+avx2,+fma,-avx512f,...").
std::string hostFeatures() {
  SubtargetFeatures f;
  for (const auto &kv : sys::getHostCPUFeatures())
    f.AddFeature(kv.getKey(), kv.getValue());
  return f.getString();
}

CodeGenOptLevel codeGenOptLevel(unsigned optLevel) {
  switch (optLevel) {
  case 0:
    return CodeGenOptLevel::None;
  case 1:
    return CodeGenOptLevel::Less;
  case 2:
    return CodeGenOptLevel::Default;
  default:
    return CodeGenOptLevel::Aggressive;
  }
}

Expected<std::unique_ptr<TargetMachine>> createTargetMachine(const Options &o) {
  initNativeTarget();
  std::string hostTriple = sys::getProcessTriple();
  std::string triple =
      o.triple.empty() ? hostTriple : Triple::normalize(o.triple);
  std::string error;
  const Target *target = TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return createStringError(inconvertibleErrorCode(),
                             "cannot generate code for target '" + triple +
                                 "': " + error +
                                 " (only the native target is built in)");
  bool sameArch = Triple(triple).getArch() == Triple(hostTriple).getArch();
  std::string cpu = o.cpu, features;
  if (cpu.empty() || cpu == "native") {
    if (sameArch) {
      cpu = sys::getHostCPUName().str();
      features = hostFeatures();
    } else {
      cpu = "generic";
    }
  }
  // An unknown -mcpu only warns (on stderr) inside LLVM; reject it up front.
  if (!o.cpu.empty() && o.cpu != "native") {
    std::unique_ptr<MCSubtargetInfo> sti(
        target->createMCSubtargetInfo(triple, "", ""));
    if (!sti || !sti->isCPUStringValid(cpu))
      return createStringError(inconvertibleErrorCode(),
                               "unknown target CPU '" + cpu + "' for '" +
                                   triple + "'");
  }
  TargetOptions opts;
  std::unique_ptr<TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, opts, Reloc::PIC_, std::nullopt,
      codeGenOptLevel(o.optLevel)));
  if (!tm)
    return createStringError(inconvertibleErrorCode(),
                             "cannot create a target machine for '" + triple +
                                 "' and cpu '" + cpu + "'");
  return tm;
}

Error checkHostCanRun(const Options &o) {
  if (o.cpu.empty() || o.cpu == "native")
    return Error::success();
  initNativeTarget();
  std::string triple = sys::getProcessTriple(), error;
  const Target *target = TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return createStringError(inconvertibleErrorCode(), error);
  std::unique_ptr<MCSubtargetInfo> want(
      target->createMCSubtargetInfo(triple, o.cpu, ""));
  if (!want || !want->isCPUStringValid(o.cpu))
    return createStringError(inconvertibleErrorCode(),
                             "unknown target CPU '" + o.cpu + "' for '" +
                                 triple + "'");
  // The ISA features the host reports as absent that the CPU implies
  // (tuning flags are not in the host's list, so they never count).
  StringMap<bool> host = sys::getHostCPUFeatures();
  std::string missing;
  unsigned count = 0;
  for (const SubtargetFeatureKV &kv : want->getAllProcessorFeatures()) {
    if (!want->getFeatureBits().test(kv.Value))
      continue;
    auto it = host.find(kv.Key);
    if (it == host.end() || it->getValue())
      continue;
    if (count++ < 6)
      missing += (missing.empty() ? "" : ", ") + std::string(kv.Key);
  }
  if (!count)
    return Error::success();
  if (count > 6)
    missing += ", ... (" + std::to_string(count) + " in all)";
  return createStringError(
      inconvertibleErrorCode(),
      "this machine (" + sys::getHostCPUName().str() +
          ") cannot run code for --target-cpu=" + o.cpu +
          ": it lacks " + missing +
          "; compile with -o FILE.o to run it elsewhere");
}

} // namespace cnnc::codegen
