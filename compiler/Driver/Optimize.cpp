//===- Optimize.cpp - the driver's pass options and pipeline call ---------===//
#include "CodeGen/CodeGen.h"
#include "Driver/Driver.h"
#include "Driver/Progress.h"
#include "Passes/Pass.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>

using namespace llvm;

namespace cnnc {
namespace opts {
extern cl::OptionCategory Inspect;
extern cl::opt<char> OptLevel;
extern cl::SubCommand RunCmd, BenchCmd;

#define PASS_SUBS cl::sub(cl::SubCommand::getTopLevel()), cl::sub(RunCmd), cl::sub(BenchCmd)

cl::OptionCategory PassCat("Optimization passes");
// Declared with a "cnnc-" prefix because LLVM's libraries register options of
// the same names; main() removes LLVM's and renames these (see
// shadowedPassOptions).
cl::list<std::string> Passes("cnnc-passes", cl::desc("Run exactly these passes, in order"),
                             cl::CommaSeparated, cl::value_desc("a,b,c"), cl::cat(PassCat),
                             PASS_SUBS);
cl::list<std::string> DisablePass("cnnc-disable-pass", cl::desc("Skip a pass of the pipeline"),
                                  cl::CommaSeparated, cl::value_desc("NAME"), cl::cat(PassCat),
                                  PASS_SUBS);
cl::opt<bool> PrintAfterAll("cnnc-print-after-all", cl::desc("Print the IR after every pass"),
                            cl::cat(PassCat), PASS_SUBS);
cl::list<std::string> PrintAfter("cnnc-print-after", cl::desc("Print the IR after this pass"),
                                 cl::CommaSeparated, cl::value_desc("NAME"), cl::cat(PassCat),
                                 PASS_SUBS);
cl::opt<bool> TimePasses("cnnc-time-passes", cl::desc("Print the time each pass takes"),
                         cl::cat(PassCat), PASS_SUBS);
cl::opt<bool> Remarks("cnnc-remarks", cl::desc("Explain what the passes did and did not do"),
                      cl::cat(PassCat), PASS_SUBS);
cl::opt<bool> ListPasses("cnnc-list-passes", cl::desc("List the optimization passes and exit"),
                         cl::cat(PassCat));
} // namespace opts

bool listPassesRequested() { return opts::ListPasses; }

std::vector<cl::Option *> shadowedPassOptions() {
  // std::addressof: cl::list overloads operator&.
  return {std::addressof(opts::Passes),     std::addressof(opts::DisablePass),
          std::addressof(opts::PrintAfterAll), std::addressof(opts::PrintAfter),
          std::addressof(opts::TimePasses), std::addressof(opts::Remarks),
          std::addressof(opts::ListPasses)};
}

void printPassList(raw_ostream &os) {
  for (const auto &p : passes::registry())
    os << "  " << left_justify(p.name, 24) << " -O" << p.minOptLevel << "+  " << p.description
       << "\n";
}

Error optimizeGraph(ir::Graph &g, weights::WeightSet &ws) {
  progress::enter("optimizing the graph");
  codegen::LayoutTarget lt = codegen::layoutTarget(codegenOptions(), g);
  passes::PassContext ctx{g, ws, {}, "", lt.vectorWidth,
                          [f = lt.convLayouts](const ir::Node &n) {
                            return passes::ConvLayouts(f(n));
                          }};
  passes::PipelineOptions po;
  po.optLevel = opts::OptLevel - '0';
  po.explicitPasses.assign(opts::Passes.begin(), opts::Passes.end());
  po.disabled.insert(opts::DisablePass.begin(), opts::DisablePass.end());
  po.printAfterAll = opts::PrintAfterAll;
  po.printAfter.insert(opts::PrintAfter.begin(), opts::PrintAfter.end());
  po.timePasses = opts::TimePasses;
  if (Error e = passes::runPipeline(ctx, po, progress::errs()))
    return e;
  if (opts::Remarks)
    for (const auto &r : ctx.remarks)
      progress::errs() << "remark: " << r.pass << ": " << r.message << "\n";
  return Error::success();
}

} // namespace cnnc
