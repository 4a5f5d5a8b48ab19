//===- cnnc.cpp - the compiler driver --------------------------------------===//
//
// A thin driver in the style of MLIR's toyc: it runs the pipeline stage by
// stage and stops after the stage --emit asks for:
//   parse (ast) -> elaborate + trace (ir, summary, dot) -> codegen (llvm,
//   asm, obj, header)
// and implements the `run` and `bench` subcommands on top (Run.cpp).
// User errors exit 1 and write no output file; internal errors exit 70.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/CodeGen.h"
#include "Driver/Driver.h"
#include "Driver/Progress.h"
#include "Driver/Summary.h"
#include "Elaborate/Elaborate.h"
#include "Frontend/ASTPrinter.h"
#include "Frontend/Parser.h"
#include "IR/DotPrinter.h"
#include "IR/MemoryPlan.h"
#include "IR/Printer.h"
#include "IR/Verifier.h"
#include "Support/AtomicFile.h"
#include "Weights/Weights.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

#include <unistd.h>

using namespace llvm;

namespace cnnc {
namespace opts {

cl::OptionCategory Inspect("Inspecting a model");
cl::OptionCategory Compile("Compiling a model");
cl::OptionCategory Running("Running and timing (cnnc run / cnnc bench)");
extern cl::OptionCategory PassCat;

cl::SubCommand RunCmd("run", "Compile in memory and run once on a .npy input");
cl::SubCommand BenchCmd("bench", "Compile in memory and time the model");

#define ALL_SUBS cl::sub(cl::SubCommand::getTopLevel()), cl::sub(RunCmd), cl::sub(BenchCmd)

cl::opt<std::string> Input(cl::Positional, cl::desc("<model.cnn>"), ALL_SUBS);
cl::opt<std::string> Model("model", cl::desc("Entry model class (default: the class whose "
                                             "forward annotates its input)"),
                           cl::value_desc("NAME"), cl::cat(Compile), ALL_SUBS);
cl::opt<std::string> Weights("weights", cl::desc("Weights: a state_dict saved as safetensors"),
                             cl::value_desc("FILE"), cl::cat(Compile), ALL_SUBS);
cl::opt<int> RandomWeights("random-weights",
                           cl::desc("Use seeded random weights instead of --weights (trying "
                                    "models, benchmarks)"),
                           cl::value_desc("SEED"), cl::init(-1), cl::cat(Compile), ALL_SUBS);
cl::opt<std::string> TargetCPU("target-cpu", cl::desc("Target CPU (default: the host)"),
                               cl::value_desc("CPU"), cl::cat(Compile), ALL_SUBS);
cl::opt<std::string> TargetTriple("target", cl::desc("Target triple (default: the host)"),
                                  cl::value_desc("TRIPLE"), cl::cat(Compile), ALL_SUBS);
cl::opt<char> OptLevel("O", cl::desc("Optimization level 0-3 (default 2)"), cl::Prefix,
                       cl::init('2'), cl::cat(Compile), ALL_SUBS);
cl::opt<unsigned> Threads("threads", cl::desc("Threads for run/bench (default: CNNRT_NUM_THREADS "
                                              "or all cores)"),
                          cl::init(0), cl::cat(Running), cl::sub(RunCmd), cl::sub(BenchCmd));

cl::opt<std::string> Summary("summary", cl::desc("Print the layer table (text or json)"),
                             cl::ValueOptional, cl::value_desc("text|json|markdown"), cl::cat(Inspect));
cl::opt<EmitAction> Emit(
    "emit", cl::desc("Stop after a stage and print it"), cl::init(EmitAction::None),
    cl::values(clEnumValN(EmitAction::AST, "ast", "the syntax tree"),
               clEnumValN(EmitAction::IR, "ir", "the traced tensor graph"),
               clEnumValN(EmitAction::IROpt, "ir-opt", "the graph after optimization"),
               clEnumValN(EmitAction::Dot, "dot", "the traced graph as Graphviz"),
               clEnumValN(EmitAction::DotOpt, "dot-opt",
                          "the optimized graph as Graphviz (fused kernels, buffers)"),
               clEnumValN(EmitAction::Memory, "memory",
                          "the memory plan of the optimized graph (arena offsets)"),
               clEnumValN(EmitAction::LLVM, "llvm", "LLVM IR"),
               clEnumValN(EmitAction::Asm, "asm", "assembly"),
               clEnumValN(EmitAction::Obj, "obj", "an object file (the default with -o)"),
               clEnumValN(EmitAction::Header, "header", "the C header")),
    cl::cat(Inspect));
cl::opt<std::string> Output("o", cl::desc("Output file ('-' for stdout)"),
                            cl::value_desc("FILE"), cl::cat(Compile));
cl::opt<std::string> HeaderOut("header", cl::desc("Also write the C header to FILE"),
                               cl::value_desc("FILE"), cl::cat(Compile));
cl::opt<std::string> EntryName("name", cl::desc("Prefix of the C entry point "
                                                "(default: the file name, e.g. net_run)"),
                               cl::value_desc("NAME"), cl::cat(Compile));
// Registered as --cnnc-color and renamed to --color in main().
cl::opt<std::string> Color("cnnc-color", cl::desc("Colored diagnostics: auto, always, never"),
                           cl::init("auto"), cl::cat(Inspect), ALL_SUBS);
cl::opt<bool> ShowProgress("progress",
                           cl::desc("Show the current stage on one stderr line even when "
                                    "stderr is not a terminal"),
                           cl::cat(Compile), ALL_SUBS);

cl::opt<bool> TimeReport("time-report",
                          cl::desc("Print the wall time of each compilation stage to stderr"),
                          cl::cat(Compile), ALL_SUBS);

cl::opt<std::string> RunInput("input", cl::desc("Input tensor (.npy, float32)"),
                              cl::value_desc("X.npy"), cl::cat(Running), cl::sub(RunCmd));
cl::opt<std::string> RunOutput("output", cl::desc("Where to write the output (.npy)"),
                               cl::value_desc("Y.npy"), cl::cat(Running), cl::sub(RunCmd));
cl::opt<std::string> BenchFormat("format", cl::desc("Bench report: text or json"),
                                 cl::init("text"), cl::cat(Running), cl::sub(BenchCmd));
cl::opt<bool> BenchProfile("profile",
                           cl::desc("Also time each kernel (layer with its fused steps) "
                                    "and print a per-kernel table"),
                           cl::cat(Running), cl::sub(BenchCmd));
cl::opt<unsigned> BenchRuns("runs", cl::desc("Timed runs (default: as many as fit in ~1 s, "
                                             "at least 10)"),
                            cl::init(0), cl::cat(Running), cl::sub(BenchCmd));

} // namespace opts

namespace {

void printVersion(raw_ostream &os) {
  os << "cnnc " << CNNC_VERSION << " (LLVM " << LLVM_VERSION_STRING << ")\n";
}

/// C identifier from the model file name: "models/my-net.cnn" -> "my_net".
std::string defaultEntryName(const std::string &path) {
  std::string stem = sys::path::stem(path).str(), out;
  for (char c : stem)
    out += isalnum((unsigned char)c) ? (char)tolower((unsigned char)c) : '_';
  if (out.empty() || isdigit((unsigned char)out[0]))
    out = "model_" + out;
  return out;
}

bool isCIdentifier(const std::string &s) {
  if (s.empty() || isdigit((unsigned char)s[0]))
    return false;
  for (char c : s)
    if (!isalnum((unsigned char)c) && c != '_')
      return false;
  return true;
}

[[noreturn]] void internalError(const Twine &msg) {
  progress::clear();
  reportInternalError(msg);
}

int userError(const Twine &msg) {
  progress::errs() << "cnnc: error: " << msg << "\n";
  return kExitUserError;
}

/// Writes text output to a file atomically, or to stdout for "-".
int writeText(const std::string &path, const std::function<void(raw_ostream &)> &fn) {
  progress::clear();
  if (path.empty() || path == "-") {
    fn(outs());
    outs().flush();
    return 0;
  }
  if (Error e = writeFileAtomically(path, [&](raw_ostream &os) {
        fn(os);
        return Error::success();
      }))
    return userError(toString(std::move(e)));
  return 0;
}

} // namespace

Expected<weights::WeightSet> loadWeights(const ir::Graph &g, bool required) {
  if (!opts::Weights.empty() && opts::RandomWeights >= 0)
    return createStringError(inconvertibleErrorCode(),
                             "--weights and --random-weights cannot be used together");
  progress::enter("reading weights");
  if (opts::Weights.empty()) {
    if (opts::RandomWeights >= 0)
      return weights::randomWeights(g, opts::RandomWeights);
    if (required)
      return createStringError(inconvertibleErrorCode(),
                               "this needs weights: pass --weights FILE.safetensors (see "
                               "tools/cnnc-export-weights) or --random-weights SEED");
    return weights::randomWeights(g, 0);
  }
  auto ws = weights::readSafetensors(opts::Weights);
  if (!ws)
    return ws.takeError();
  std::vector<std::string> warnings;
  if (Error e = weights::bindToGraph(*ws, g, warnings)) {
    std::string msg = toString(std::move(e)), out;
    // One "file: message" line per problem.
    StringRef rest(msg);
    while (!rest.empty()) {
      auto [line, tail] = rest.split('\n');
      out += (out.empty() ? "" : "\ncnnc: error: ") + opts::Weights + ": " + line.str();
      rest = tail;
    }
    return createStringError(inconvertibleErrorCode(), out);
  }
  for (const auto &w : warnings)
    progress::errs() << "cnnc: warning: " << opts::Weights << ": " << w << "\n";
  return std::move(*ws);
}

codegen::Options codegenOptions() {
  codegen::Options o;
  o.entryName = opts::EntryName.empty() ? defaultEntryName(opts::Input) : opts::EntryName;
  o.cpu = opts::TargetCPU;
  o.triple = opts::TargetTriple;
  o.optLevel = opts::OptLevel - '0';
  return o;
}

/// Front end: source file to verified graph. Null after reported errors.
std::unique_ptr<ir::Graph> compileToGraph(SourceMgr &sm, DiagEngine &diags, ModelInfo &info,
                                          bool stopAfterAST) {
  auto buf = MemoryBuffer::getFile(opts::Input, /*IsText=*/false,
                                   /*RequiresNullTerminator=*/true);
  if (!buf) {
    diags.error("cannot open '" + opts::Input + "': " + buf.getError().message());
    return nullptr;
  }
  unsigned id = sm.AddNewSourceBuffer(std::move(*buf), SMLoc());
  progress::enter("parsing");
  auto file = parseFile(id, diags);
  if (!file)
    return nullptr;
  if (stopAfterAST) {
    int rc = writeText(opts::Output, [&](raw_ostream &os) { printAST(*file, sm, os); });
    exit(rc);
  }
  ElaborateOptions eo;
  eo.modelName = opts::Model;
  progress::enter("elaborating");
  auto g = elaborate(*file, diags, eo, info);
  if (!g)
    return nullptr;
  auto problems = ir::verifyGraph(*g);
  if (!problems.empty())
    internalError("the traced graph does not verify: " + problems[0]);
  return g;
}

/// Runs the pass pipeline on `g` for a stage that does not need the real
/// weights (the graph's structure does not depend on their values): the
/// --weights file when given, random ones otherwise. 0 or the exit code.
static int optimizeWithWeights(ir::Graph &g) {
  auto ws = loadWeights(g, /*required=*/false);
  if (!ws)
    return userError(toString(ws.takeError()));
  if (Error e = optimizeGraph(g, *ws))
    return userError(toString(std::move(e)));
  return 0;
}

static int compileMain() {
  if (opts::OptLevel < '0' || opts::OptLevel > '3')
    return userError("invalid optimization level -O" + Twine(opts::OptLevel.getValue()) +
                     " (use -O0 to -O3)");
  if (!opts::EntryName.empty() && !isCIdentifier(opts::EntryName))
    return userError("--name '" + opts::EntryName + "' is not a C identifier");
  auto action = opts::Emit.getValue();
  bool toCode = action == EmitAction::None || action == EmitAction::Obj ||
                action == EmitAction::Asm || action == EmitAction::LLVM;
  if (action == EmitAction::AST)
    progress::plan({"parsing"});
  else if (opts::Summary.getNumOccurrences() || !toCode)
    progress::plan({"parsing", "elaborating", "reading weights", "optimizing the graph"});
  else
    progress::plan({"parsing", "elaborating", "reading weights", "optimizing the graph",
                    "generating code", "optimizing LLVM IR", "emitting code"});
  SourceMgr sm;
  DiagEngine diags(sm, progress::errs());
  diags.setColors(opts::Color == "always" ||
                  (opts::Color == "auto" && sys::Process::StandardErrHasColors()));
  ModelInfo info;
  auto g = compileToGraph(sm, diags, info, action == EmitAction::AST);
  if (!g)
    return kExitUserError;

  if (opts::Summary.getNumOccurrences()) {
    std::string fmt = opts::Summary.empty() ? "text" : opts::Summary.getValue();
    if (fmt != "text" && fmt != "json" && fmt != "markdown")
      return userError("--summary=" + fmt + " is not a format (use text, json or markdown)");
    // The arena is the optimized graph's (what the object file uses); the
    // table shows the layers as written.
    ActivationMemory mem;
    mem.layerOutputBytes = ir::planMemory(*g, [](const ir::Node &) { return 0; }).valueBytes;
    auto opt = g->clone();
    if (int rc = optimizeWithWeights(*opt))
      return rc;
    mem.arenaBytes = codegen::arenaBytes(*opt, codegenOptions());
    return writeText(opts::Output, [&](raw_ostream &os) {
      if (fmt == "json")
        printSummaryJSON(*g, info, mem, os);
      else if (fmt == "markdown")
        printSummaryMarkdown(*g, info, mem, os);
      else
        printSummaryText(*g, info, mem, os);
    });
  }
  if (action == EmitAction::IR)
    return writeText(opts::Output, [&](raw_ostream &os) { ir::printGraph(*g, os); });
  if (action == EmitAction::Dot) {
    ir::MemoryPlan plan = codegen::memoryPlan(*g, codegenOptions());
    return writeText(opts::Output, [&](raw_ostream &os) { ir::printDot(*g, os, &plan); });
  }
  // Everything below sees the optimized graph.
  if (action == EmitAction::IROpt || action == EmitAction::DotOpt ||
      action == EmitAction::Memory || action == EmitAction::Header) {
    if (int rc = optimizeWithWeights(*g))
      return rc;
    if (action == EmitAction::IROpt)
      return writeText(opts::Output, [&](raw_ostream &os) { ir::printGraph(*g, os); });
    if (action == EmitAction::DotOpt || action == EmitAction::Memory) {
      ir::MemoryPlan plan = codegen::memoryPlan(*g, codegenOptions());
      return writeText(opts::Output, [&](raw_ostream &os) {
        if (action == EmitAction::Memory)
          ir::printMemoryPlan(*g, plan, os);
        else
          ir::printDot(*g, os, &plan);
      });
    }
  }

  codegen::Options co = codegenOptions();
  if (action == EmitAction::Header)
    return writeText(opts::Output, [&](raw_ostream &os) { os << codegen::emitHeader(*g, co); });
  if (action == EmitAction::None && opts::Output.empty() && opts::HeaderOut.empty())
    return userError("nothing to do: use --summary, --emit=..., or -o FILE.o "
                     "(see cnnc --help)");

  auto ws = loadWeights(*g, /*required=*/true);
  if (!ws)
    return userError(toString(ws.takeError()));
  if (Error e = optimizeGraph(*g, *ws))
    return userError(toString(std::move(e)));
  LLVMContext ctx;
  auto tm = codegen::createTargetMachine(co);
  if (!tm)
    return userError(toString(tm.takeError()));
  progress::enter("generating code");
  auto mod = codegen::buildModule(*g, *ws, ctx, co);
  if (!mod)
    internalError(toString(mod.takeError()));
  progress::enter("optimizing LLVM IR");
  codegen::optimizeModule(**mod, **tm, co.optLevel);

  if (!opts::HeaderOut.empty())
    if (int rc = writeText(opts::HeaderOut,
                           [&](raw_ostream &os) { os << codegen::emitHeader(*g, co); }))
      return rc;
  if (action == EmitAction::None && opts::Output.empty())
    return 0; // only --header was asked for
  codegen::FileKind kind = action == EmitAction::LLVM  ? codegen::FileKind::LLVMText
                           : action == EmitAction::Asm ? codegen::FileKind::Assembly
                                                       : codegen::FileKind::Object;
  std::string out = opts::Output;
  if (out.empty())
    out = kind == codegen::FileKind::Object ? sys::path::stem(opts::Input).str() + ".o" : "-";
  if (kind == codegen::FileKind::Object && out == "-" && isatty(1))
    return userError("refusing to write an object file to a terminal; use -o FILE.o");
  progress::enter("emitting code");
  if (Error e = codegen::emitFile(**mod, **tm, kind, out))
    return userError(toString(std::move(e)));
  progress::clear();
  return 0;
}

} // namespace cnnc

int main(int argc, char **argv) {
  using namespace cnnc;
  sys::PrintStackTraceOnErrorSignal(argv[0]);
  sys::AddSignalHandler(
      [](void *) {
        progress::clear();
        errs() << "cnnc: internal compiler error: crashed\n"
               << "cnnc: note: this is a bug in cnnc; please report it with the input file\n";
        errs().flush();
        _exit(kExitInternalError);
      },
      nullptr);
  install_fatal_error_handler([](void *, const char *reason, bool) {
    internalError(reason);
  });
  InitializeNativeTarget();
  InitializeNativeTargetAsmPrinter();
  InitializeNativeTargetAsmParser();

  // LLVM's libraries register options with some of our names (--color,
  // --print-after-all, ...). Ours are declared as --cnnc-NAME; drop LLVM's
  // and give ours the plain name, so users and --help see --NAME.
  std::vector<cl::Option *> shadowed = shadowedPassOptions();
  shadowed.push_back(&opts::Color);
  for (cl::Option *o : shadowed) {
    StringRef plain = o->ArgStr;
    plain.consume_front("cnnc-");
    auto &registered = cl::getRegisteredOptions(cl::SubCommand::getTopLevel());
    auto it = registered.find(plain);
    if (it != registered.end() && it->second != o)
      it->second->removeArgument();
    o->setArgStr(plain);
  }
  cl::SetVersionPrinter(printVersion);
  cl::HideUnrelatedOptions({&opts::Inspect, &opts::Compile, &opts::Running, &opts::PassCat});
  if (!cl::ParseCommandLineOptions(
          argc, argv,
          "cnnc - compiles CNN models written as PyTorch code to native code\n\n"
          "  cnnc MODEL.cnn --summary[=text|json]\n"
          "  cnnc MODEL.cnn --emit=ast|ir|ir-opt|dot|dot-opt|memory|llvm|asm|obj|header [-o OUT]\n"
          "  cnnc MODEL.cnn --weights W.safetensors -o model.o [--header model.h]\n"
          "  cnnc run MODEL.cnn --weights W.safetensors --input X.npy --output Y.npy\n"
          "  cnnc bench MODEL.cnn [--weights W.safetensors] [--threads N]\n",
          &errs()))
    return kExitUserError;
  if (listPassesRequested()) {
    printPassList(outs());
    return 0;
  }
  if (opts::Input.empty())
    return userError("no input file (usage: cnnc MODEL.cnn ...; see cnnc --help)");
  progress::enable(opts::ShowProgress);
  if (opts::TimeReport)
    progress::recordTimes();
  try {
    int rc = opts::RunCmd ? runMain() : opts::BenchCmd ? benchMain() : compileMain();
    progress::clear();
    if (rc == 0)
      progress::printTimeReport(errs());
    return rc;
  } catch (std::exception &e) {
    internalError(std::string("uncaught exception: ") + e.what());
  }
}
