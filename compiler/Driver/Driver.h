//===- Driver.h - what the driver's files share ---------------------------===//
#ifndef CNNC_DRIVER_DRIVER_H
#define CNNC_DRIVER_DRIVER_H

#include "CodeGen/CodeGen.h"
#include "Elaborate/Elaborate.h"
#include "Weights/Weights.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"

namespace cnnc {

enum class EmitAction { None, AST, IR, IROpt, Dot, DotOpt, Memory, LLVM, Asm, Obj, Header };

namespace opts {
extern llvm::cl::opt<std::string> Input, Weights, RunInput, RunOutput, BenchFormat;
extern llvm::cl::opt<unsigned> Threads, BenchRuns;
extern llvm::cl::opt<bool> BenchProfile;
extern llvm::cl::opt<int> RandomWeights;
} // namespace opts

/// Parses, elaborates and traces opts::Input; null after reported errors.
std::unique_ptr<ir::Graph> compileToGraph(llvm::SourceMgr &sm, DiagEngine &diags,
                                          ModelInfo &info, bool stopAfterAST);
/// The weights for g: --weights, --random-weights, or (not required) seed 0.
llvm::Expected<weights::WeightSet> loadWeights(const ir::Graph &g, bool required);
codegen::Options codegenOptions();

/// Runs the optimization pipeline chosen by the pass options on g and ws.
llvm::Error optimizeGraph(ir::Graph &g, weights::WeightSet &ws);
bool listPassesRequested();
/// Options declared as --cnnc-NAME that main() renames to --NAME.
std::vector<llvm::cl::Option *> shadowedPassOptions();
void printPassList(llvm::raw_ostream &os);

int runMain();   ///< cnnc run
int benchMain(); ///< cnnc bench

} // namespace cnnc

#endif
