//===- PassManager.cpp - the pass registry and the pipeline runner --------===//
#include "Passes/Pass.h"

#include "IR/Printer.h"
#include "IR/Verifier.h"

#include "llvm/Support/Format.h"

#include <chrono>

namespace cnnc::passes {

const std::vector<PassInfo> &registry() {
  static const std::vector<PassInfo> passes = {
      {"eliminate-identities",
       "remove Dropout, Identity and reshapes that do not change the shape", 1,
       eliminateIdentities},
      {"fold-batchnorm",
       "fold BatchNorm2d into the preceding convolution's weights and bias", 1,
       foldBatchNorm},
      {"subsample-pointwise",
       "run a strided 1x1 conv2d at stride 1 over a subsampled input (maxpool2d of kernel 1)", 1,
       subsamplePointwise},
      {"fuse-residual-add",
       "apply add(conv, x) in the conv's epilogue (residual connections)", 1,
       fuseResidualAdd},
      {"fuse-activation",
       "apply an activation after conv2d / linear in its epilogue, in registers", 1,
       fuseActivation},
      {"fuse-pool",
       "pool conv output rows in the conv kernel while they are in cache (kernel == stride)", 1,
       fusePool},
      {"concat-in-place",
       "let the producers of a concat write straight into its slices (no copy)", 1,
       concatInPlace},
      {"block-channels",
       "keep activations between channel-vector convs in the blocked layout nChw<VL>c", 1,
       blockChannels},
  };
  return passes;
}

static std::string graphText(const ir::Graph &g) {
  std::string s;
  llvm::raw_string_ostream os(s);
  ir::printGraph(g, os);
  return os.str();
}

llvm::Error runPipeline(PassContext &ctx, const PipelineOptions &opts,
                        llvm::raw_ostream &dump) {
  std::vector<const PassInfo *> pipeline;
  auto find = [](const std::string &name) -> const PassInfo * {
    for (const PassInfo &p : registry())
      if (name == p.name)
        return &p;
    return nullptr;
  };
  for (const std::string &n : opts.disabled)
    if (!find(n))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "--disable-pass: unknown pass '" + n +
                                         "' (see --list-passes)");
  for (const std::string &n : opts.printAfter)
    if (!find(n))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "--print-after: unknown pass '" + n +
                                         "' (see --list-passes)");
  if (!opts.explicitPasses.empty()) {
    for (const std::string &n : opts.explicitPasses) {
      const PassInfo *p = find(n);
      if (!p)
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "--passes: unknown pass '" + n +
                                           "' (see --list-passes)");
      pipeline.push_back(p);
    }
  } else {
    for (const PassInfo &p : registry())
      if (opts.optLevel >= p.minOptLevel)
        pipeline.push_back(&p);
  }
  for (const PassInfo *p : pipeline) {
    if (opts.disabled.count(p->name))
      continue;
    ctx.currentPass = p->name;
    auto t0 = std::chrono::steady_clock::now();
    bool changed = p->run(ctx);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
    if (opts.verifyEach) {
      auto problems = ir::verifyGraph(ctx.graph);
      if (!problems.empty())
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "internal error: the graph does not verify "
                                       "after pass '" +
                                           std::string(p->name) + "': " + problems[0]);
    }
    if (opts.timePasses)
      dump << llvm::format("pass %-24s %8.3f ms%s\n", p->name, ms,
                           changed ? "" : "  (unchanged)");
    if (opts.printAfterAll || opts.printAfter.count(p->name)) {
      dump << "// ----- IR after " << p->name << (changed ? "" : " (unchanged)")
           << " -----\n";
      if (changed)
        dump << graphText(ctx.graph);
    }
  }
  return llvm::Error::success();
}

} // namespace cnnc::passes
