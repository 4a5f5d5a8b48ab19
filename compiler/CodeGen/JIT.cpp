//===- JIT.cpp - in-process compilation for `cnnc run` / `cnnc bench` -----===//
#include "CodeGen/CodeGen.h"

#include "cnnrt.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace llvm;
using namespace llvm::orc;

extern "C" void cnnc_profile_mark(int32_t i); // KernelProfile.cpp

namespace cnnc::codegen {

void initNativeTarget();
std::string hostFeatures();
CodeGenOptLevel codeGenOptLevel(unsigned optLevel);

JITModel::JITModel() = default;
JITModel::~JITModel() = default;

Expected<std::unique_ptr<JITModel>>
JITModel::create(std::unique_ptr<Module> m, std::unique_ptr<LLVMContext> ctx,
                 const Options &o) {
  initNativeTarget();
  if (!o.triple.empty() &&
      Triple(Triple::normalize(o.triple)).getArch() !=
          Triple(sys::getProcessTriple()).getArch())
    return createStringError(inconvertibleErrorCode(),
                             "the JIT runs only on the host target");

  // Code for a CPU with features this one lacks would die of SIGILL.
  if (Error e = checkHostCanRun(o))
    return e;

  auto jtmb = JITTargetMachineBuilder::detectHost();
  if (!jtmb)
    return jtmb.takeError();
  if (!o.cpu.empty() && o.cpu != "native") {
    jtmb->setCPU(o.cpu);
    jtmb->getFeatures() = SubtargetFeatures();
  }
  jtmb->setCodeGenOptLevel(codeGenOptLevel(o.optLevel));

  // Optimise with the same target machine the JIT compiles with.
  {
    auto tm = jtmb->createTargetMachine();
    if (!tm)
      return tm.takeError();
    m->setDataLayout((*tm)->createDataLayout());
    m->setTargetTriple((*tm)->getTargetTriple().str());
    optimizeModule(*m, **tm, o.optLevel);
  }
  storeConstantsAsBytes(*m);

  auto jit = LLJITBuilder().setJITTargetMachineBuilder(*jtmb).create();
  if (!jit)
    return jit.takeError();
  JITDylib &jd = (*jit)->getMainJITDylib();

  // The runtime is linked into this binary but its symbols are hidden, so
  // bind the ones generated code calls explicitly; libm etc. come from the
  // process.
  SymbolMap rt;
  auto bind = [&](const char *name, void *addr) {
    rt[(*jit)->mangleAndIntern(name)] = {ExecutorAddr::fromPtr(addr),
                                         JITSymbolFlags::Exported |
                                             JITSymbolFlags::Callable};
  };
  bind("cnnrt_check_abi", reinterpret_cast<void *>(&cnnrt_check_abi));
  bind("cnnrt_arena_get", reinterpret_cast<void *>(&cnnrt_arena_get));
  bind("cnnrt_parallel_for", reinterpret_cast<void *>(&cnnrt_parallel_for));
  if (o.profile)
    bind("cnnc_profile_mark", reinterpret_cast<void *>(&cnnc_profile_mark));
  if (Error e = jd.define(absoluteSymbols(std::move(rt))))
    return e;
  auto gen = DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!gen)
    return gen.takeError();
  jd.addGenerator(std::move(*gen));

  std::string entry = o.entryName + "_run";
  if (Error e = (*jit)->addIRModule(
          ThreadSafeModule(std::move(m), std::move(ctx))))
    return e;
  auto sym = (*jit)->lookup(entry);
  if (!sym)
    return sym.takeError();

  std::unique_ptr<JITModel> model(new JITModel());
  model->jit_ = std::move(*jit);
  model->fn_ = sym->toPtr<int (*)(const float *, float *)>();
  return model;
}

int JITModel::run(const float *input, float *output) {
  return fn_(input, output);
}

} // namespace cnnc::codegen
