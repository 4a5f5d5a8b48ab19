//===- Pass.h - graph passes: the registry and the pipeline ---------------===//
//
// Every optimization is one pass in its own file, exported by a factory
// function and listed once in the registry (PassManager.cpp). The registry
// drives --list-passes, --passes=a,b,c, --disable-pass=NAME, the default
// pipeline of each -O level, --print-after(-all) and --time-passes. A pass
// may rewrite the graph and, when it folds constants, the weights; it
// reports what it did (and why it did not) as remarks for --remarks.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_PASSES_PASS_H
#define CNNC_PASSES_PASS_H

#include "IR/Graph.h"
#include "Weights/Weights.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace cnnc::passes {

struct Remark {
  std::string pass;
  bool applied;        ///< true: "fused ..."; false: "not fused: ..."
  std::string message;
};

/// The layouts a conv2d's kernel takes: NCHW only (direct, Winograd on
/// NCHW); either for input and output (the channel-vector kernel); either
/// input, but blocked only if its output is too (Winograd on blocked
/// activations).
enum class ConvLayouts { NCHWOnly, Any, BlockedOutput };

/// What a pass works on.
struct PassContext {
  ir::Graph &graph;
  weights::WeightSet &weights; ///< bound to the graph; passes keep them in sync
  std::vector<Remark> remarks;
  std::string currentPass;
  /// The target, for block-channels: its vector width in floats (0 when
  /// unknown: the pass keeps every activation NCHW) and the layouts the
  /// code generator's kernel for a conv2d reads and writes.
  int64_t vectorWidth = 0;
  std::function<ConvLayouts(const ir::Node &)> convLayouts;

  void remark(bool applied, std::string msg) {
    remarks.push_back({currentPass, applied, std::move(msg)});
  }
};

struct PassInfo {
  const char *name;
  const char *description;
  unsigned minOptLevel; ///< part of the default pipeline from this -O level
  /// Runs the pass; returns true when it changed the graph or the weights.
  std::function<bool(PassContext &)> run;
};

/// All passes, in default pipeline order.
const std::vector<PassInfo> &registry();

struct PipelineOptions {
  unsigned optLevel = 2;
  std::vector<std::string> explicitPasses; ///< --passes; empty = the default pipeline
  std::set<std::string> disabled;          ///< --disable-pass
  bool printAfterAll = false;
  std::set<std::string> printAfter;
  bool timePasses = false;
  bool verifyEach = true;
};

/// Runs the pipeline. Dumps and timings go to `dump`. Unknown pass names and
/// verifier failures are errors (the latter are compiler bugs).
llvm::Error runPipeline(PassContext &ctx, const PipelineOptions &opts,
                        llvm::raw_ostream &dump);

// The passes (one file each).
bool eliminateIdentities(PassContext &ctx);
bool foldBatchNorm(PassContext &ctx);
bool subsamplePointwise(PassContext &ctx);
bool fuseResidualAdd(PassContext &ctx);
bool fuseActivation(PassContext &ctx);
bool fusePool(PassContext &ctx);
bool concatInPlace(PassContext &ctx);
bool blockChannels(PassContext &ctx);

// Shared by the fusion passes (FuseActivation.cpp).
/// "conv2d 'features.0'" or, for a functional op, "relu %7".
std::string nodeLabel(const ir::Node &n);
/// Ops whose lowering applies an epilogue (conv2d, linear).
bool hasEpilogue(ir::OpKind k);
/// The epilogue step computing activation node `act`.
ir::EpilogueStep activationStep(const ir::Node &act);

} // namespace cnnc::passes

#endif
