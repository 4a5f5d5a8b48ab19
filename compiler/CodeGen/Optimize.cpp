//===- Optimize.cpp - the LLVM optimisation pipeline -----------------------===//
#include "CodeGen/CodeGen.h"

#include "llvm/Analysis/CGSCCPassManager.h"
#include "llvm/Analysis/LoopAnalysisManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassManager.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Target/TargetMachine.h"

using namespace llvm;

namespace cnnc::codegen {

void optimizeModule(Module &m, TargetMachine &tm, unsigned optLevel) {
  PipelineTuningOptions pto;
  pto.LoopVectorization = optLevel >= 2;
  pto.SLPVectorization = optLevel >= 2;
  // The kernels are register-blocked and unrolled where it pays when they
  // are generated; LLVM's own (full and partial) unrolling of their loops
  // made no kernel faster in `make bench` but took 60% of the optimisation
  // time and doubled the machine code (ResNet-18: 6.5 -> 3.2 s to compile).
  pto.LoopUnrolling = false;
  pto.LoopInterleaving = optLevel >= 2;

  LoopAnalysisManager lam;
  FunctionAnalysisManager fam;
  CGSCCAnalysisManager cgam;
  ModuleAnalysisManager mam;
  PassBuilder pb(&tm, pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);

  ModulePassManager mpm;
  switch (optLevel) {
  case 0:
    mpm = pb.buildO0DefaultPipeline(OptimizationLevel::O0);
    break;
  case 1:
    mpm = pb.buildPerModuleDefaultPipeline(OptimizationLevel::O1);
    break;
  case 2:
    mpm = pb.buildPerModuleDefaultPipeline(OptimizationLevel::O2);
    break;
  default:
    mpm = pb.buildPerModuleDefaultPipeline(OptimizationLevel::O3);
    break;
  }
  mpm.run(m, mam);
}

} // namespace cnnc::codegen
