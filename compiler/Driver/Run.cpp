//===- Run.cpp - `cnnc run` and `cnnc bench`: JIT-compile and execute -----===//
//
// Both subcommands compile the model in memory (LLVM ORC JIT, runtime linked
// into cnnc itself). `run` reads a float32 .npy input of exactly the model's
// input shape and writes the output .npy. `bench` times the entry point:
// warm-up runs, then timed runs, reporting median/min latency and GFLOP/s
// (2 FLOPs per multiply-accumulate).
//
//===----------------------------------------------------------------------===//
#include "Driver/Driver.h"
#include "Driver/Progress.h"
#include "IR/Printer.h"
#include "Support/Diagnostics.h"

#include "cnnrt.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <algorithm>
#include <chrono>
#include <random>

using namespace llvm;

namespace cnnc {
namespace {

int fail(const Twine &msg) {
  progress::errs() << "cnnc: error: " << msg << "\n";
  return kExitUserError;
}

std::string listShape(const ir::Shape &s) { return ir::shapeToList(s); }

/// "conv2d 'layer1.0.conv2' + add(%5), relu": the op, its module path (or
/// node id) and the steps fused into its kernel (node ids as --emit=ir-opt
/// prints them).
std::string kernelLabel(const ir::Node &n) {
  std::string s = ir::opName(n.kind);
  s += n.name.empty() ? " %" + std::to_string(n.id) : " '" + n.name + "'";
  if (!n.epilogue.empty())
    s += " + " + ir::epilogueText(n);
  return s;
}

/// The per-kernel table of `cnnc bench --profile`: mean time per run, share
/// of the kernels' total and GFLOP/s (for kernels that multiply-accumulate).
void printKernelTable(const std::vector<const ir::Node *> &kernels,
                      const std::vector<double> &ms, raw_ostream &os) {
  double total = 0;
  for (double v : ms)
    total += v;
  size_t w = 6;
  for (const ir::Node *n : kernels)
    w = std::max(w, kernelLabel(*n).size());
  auto row = [&](StringRef idx, StringRef label, StringRef shape, StringRef t,
                 StringRef share, StringRef gf) {
    os << right_justify(idx, 5) << "  " << left_justify(label, w) << "  "
       << left_justify(shape, 18) << right_justify(t, 10) << right_justify(share, 8)
       << right_justify(gf, 10) << "\n";
  };
  row("node", "kernel", "output", "ms/run", "share", "GFLOP/s");
  for (size_t i = 0; i < kernels.size(); ++i) {
    const ir::Node &n = *kernels[i];
    std::string gf = n.macs() && ms[i] > 0
                         ? formatv("{0:f2}", 2.0 * n.macs() / (ms[i] * 1e-3) / 1e9).str()
                         : "-";
    row("%" + std::to_string(n.id), kernelLabel(n), listShape(n.shape), formatv("{0:f4}", ms[i]).str(),
        formatv("{0:f1}%", total > 0 ? 100 * ms[i] / total : 0.0).str(), gf);
  }
  row("", "sum of kernels", "", formatv("{0:f4}", total).str(), "", "");
}

struct Compiled {
  std::unique_ptr<ir::Graph> graph;
  std::unique_ptr<codegen::JITModel> model;
  int64_t macs = 0;
};

/// Front end + weights + JIT; returns an exit code != 0 on failure.
int compileForRun(Compiled &c, bool weightsRequired, bool profile = false) {
  SourceMgr sm;
  DiagEngine diags(sm, progress::errs());
  ModelInfo info;
  c.graph = compileToGraph(sm, diags, info, false);
  if (!c.graph)
    return kExitUserError;
  for (const auto &n : c.graph->nodes())
    c.macs += n->macs();
  auto ws = loadWeights(*c.graph, weightsRequired);
  if (!ws)
    return fail(toString(ws.takeError()));
  if (Error e = optimizeGraph(*c.graph, *ws))
    return fail(toString(std::move(e)));
  codegen::Options co = codegenOptions();
  co.profile = profile;
  // Target problems (an unknown --target-cpu, a CPU this machine cannot
  // execute) are user errors, found before any code is generated.
  if (auto tm = codegen::createTargetMachine(co); !tm)
    return fail(toString(tm.takeError()));
  if (Error e = codegen::checkHostCanRun(co))
    return fail(toString(std::move(e)));
  auto ctx = std::make_unique<LLVMContext>();
  progress::enter("generating code");
  auto mod = codegen::buildModule(*c.graph, *ws, *ctx, co);
  if (!mod) {
    progress::clear();
    reportInternalError(toString(mod.takeError()));
  }
  progress::enter("JIT compiling");
  auto jit = codegen::JITModel::create(std::move(*mod), std::move(ctx), co);
  if (!jit)
    return fail(toString(jit.takeError()));
  c.model = std::move(*jit);
  progress::clear();
  progress::printTimeReport(errs()); // compile stages only, not the run
  if (opts::Threads)
    cnnrt_set_num_threads((int)opts::Threads);
  return 0;
}

int checkStatus(int rc) {
  if (rc == 0)
    return 0;
  progress::errs() << "cnnc: error: the compiled model failed: " << cnnrt_error_string(rc) << "\n";
  return kExitUserError;
}

} // namespace

/// The stages compileForRun goes through, for the progress line.
static void planRun() {
  progress::plan({"parsing", "elaborating", "reading weights", "optimizing the graph",
                  "generating code", "JIT compiling"});
}

int runMain() {
  planRun();
  if (opts::RunInput.empty() || opts::RunOutput.empty())
    return fail("cnnc run needs --input X.npy and --output Y.npy");
  if (opts::Weights.empty() && opts::RandomWeights < 0)
    return fail("cnnc run needs --weights FILE.safetensors (or --random-weights SEED)");
  auto x = weights::readNpy(opts::RunInput);
  if (!x)
    return fail(toString(x.takeError()));
  Compiled c;
  if (int rc = compileForRun(c, true))
    return rc;
  const ir::Shape &want = c.graph->input()->shape;
  if (x->shape != want)
    return fail(opts::RunInput + ": input has shape " + listShape(x->shape) +
                " but the model expects " + listShape(want));
  weights::Tensor y;
  y.shape = c.graph->output()->shape;
  y.data.assign(ir::numElements(y.shape), 0.0f);
  if (int rc = checkStatus(c.model->run(x->data.data(), y.data.data())))
    return rc;
  if (Error e = weights::writeNpy(opts::RunOutput, y))
    return fail(toString(std::move(e)));
  return 0;
}

int benchMain() {
  planRun();
  if (opts::BenchFormat != "text" && opts::BenchFormat != "json")
    return fail("--format=" + opts::BenchFormat + " is not a format (use text or json)");
  Compiled c;
  if (int rc = compileForRun(c, false, opts::BenchProfile))
    return rc;
  std::vector<const ir::Node *> kernels = codegen::kernelOrder(*c.graph);
  std::vector<float> in(ir::numElements(c.graph->input()->shape));
  std::vector<float> out(ir::numElements(c.graph->output()->shape));
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (float &v : in)
    v = dist(rng);
  using clock = std::chrono::steady_clock;
  auto once = [&]() {
    auto t0 = clock::now();
    int rc = c.model->run(in.data(), out.data());
    auto t1 = clock::now();
    if (rc)
      exit(checkStatus(rc));
    return std::chrono::duration<double, std::milli>(t1 - t0).count();
  };
  double warm = 0;
  for (int i = 0; i < 3; ++i)
    warm = once();
  unsigned runs = opts::BenchRuns;
  if (!runs)
    runs = (unsigned)std::clamp(1000.0 / std::max(warm, 1e-3), 10.0, 10000.0);
  codegen::resetKernelProfile(kernels.size());
  std::vector<double> times;
  for (unsigned i = 0; i < runs; ++i)
    times.push_back(once());
  std::vector<double> kernelMs = codegen::kernelProfileMs();
  std::sort(times.begin(), times.end());
  double median = times[times.size() / 2], best = times.front();
  double gflops = 2.0 * c.macs / (median * 1e-3) / 1e9;
  int threads = cnnrt_get_num_threads();
  if (opts::BenchFormat == "json") {
    json::Object o{{"model", c.graph->modelName}, {"median_ms", median}, {"min_ms", best},
                   {"runs", (int64_t)runs},       {"threads", threads},  {"gflops", gflops},
                   {"macs", c.macs}};
    if (opts::BenchProfile) {
      json::Array ks;
      for (size_t i = 0; i < kernels.size(); ++i)
        ks.push_back(json::Object{{"node", kernels[i]->id},
                                  {"kernel", kernelLabel(*kernels[i])},
                                  {"shape", json::Array(kernels[i]->shape)},
                                  {"mean_ms", kernelMs[i]},
                                  {"macs", kernels[i]->macs()}});
      o["kernels"] = std::move(ks);
    }
    outs() << formatv("{0:2}", json::Value(std::move(o))) << "\n";
  } else {
    outs() << c.graph->modelName << ": median " << format("%.3f", median) << " ms, min "
           << format("%.3f", best) << " ms over " << runs << " runs, " << threads
           << " thread(s), " << format("%.2f", gflops) << " GFLOP/s\n";
    if (opts::BenchProfile)
      printKernelTable(kernels, kernelMs, outs());
  }
  return 0;
}

} // namespace cnnc
