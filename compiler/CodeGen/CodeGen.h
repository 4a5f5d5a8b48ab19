//===- CodeGen.h - LLVM code generation for cnnc's tensor graph -----------===//
//
// Lowers an ir::Graph with bound weights to an LLVM module whose entry point
//   int <entry>_run(const float *input, float *output);
// runs the whole network: activations live in one block of the runtime's
// arena, weights are private constant globals, every loop has a constant trip
// count specialised on the static shapes. Also: target machine creation, the
// optimisation pipeline, atomic object/assembly/IR emission, the C header, and
// an in-process JIT for `cnnc run` / `cnnc bench`.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_CODEGEN_CODEGEN_H
#define CNNC_CODEGEN_CODEGEN_H

#include "IR/Graph.h"
#include "IR/MemoryPlan.h"
#include "Weights/Weights.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
namespace orc {
class LLJIT;
}
} // namespace llvm

namespace cnnc::codegen {

struct Options {
  std::string entryName = "net"; ///< entry symbol is <entryName>_run
  std::string triple;            ///< empty = host
  std::string cpu;               ///< empty or "native" = host CPU and features
  unsigned optLevel = 2;         ///< 0..3
  /// The entry calls cnnc_profile_mark(i) before kernel i (kernelOrder) and
  /// once after the last; for the JIT (cnnc bench --profile), which binds it.
  bool profile = false;
};

/// What the block-channels pass needs to know of the target `o`: its
/// vector width in floats and which layouts the kernel for a conv2d of `g`
/// takes: 0 NCHW only, 1 either (the channel-vector kernel), 2 a blocked
/// output and either input (Winograd on blocked activations).
struct LayoutTarget {
  int64_t vectorWidth = 0;
  std::function<int(const ir::Node &)> convLayouts;
};
LayoutTarget layoutTarget(const Options &o, const ir::Graph &g);

enum class FileKind { Object, Assembly, LLVMText };

/// Builds and verifies the module. Errors are either unsupported constructs
/// (an op/shape this code generator cannot lower, a missing or misshapen
/// weight) or internal errors (the verifier rejected the IR; message starts
/// with "internal error:").
llvm::Expected<std::unique_ptr<llvm::Module>>
buildModule(const ir::Graph &g, const weights::WeightSet &w,
            llvm::LLVMContext &ctx, const Options &o);

/// Native target only. An empty triple / cpu (or cpu "native") means the host,
/// with the host's CPU features detected.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const Options &o);

/// For the JIT: an error unless this machine can execute code generated for
/// o.cpu (an unknown CPU name, or ISA features the host lacks, e.g.
/// --target-cpu=x86-64-v4 without AVX-512). Empty/"native" always passes.
llvm::Error checkHostCanRun(const Options &o);

/// New-pass-manager default pipeline for O0..O3 (vectorisers on at O2+).
void optimizeModule(llvm::Module &m, llvm::TargetMachine &tm,
                    unsigned optLevel);

/// Replaces constant float arrays (weights) of at least `minBytes` by i8
/// arrays of the same bytes, which the object writer emits in one piece and
/// the IR printer as a string (ConstantBytes.cpp). Object code converts
/// every array of 4 KiB or more (kObjectConstantBytes); --emit=llvm and --emit=asm only the ones
/// too large to read (kTextConstantBytes), so small weights stay floats.
constexpr uint64_t kObjectConstantBytes = 4096;
constexpr uint64_t kTextConstantBytes = 64 * 1024;
void storeConstantsAsBytes(llvm::Module &m, uint64_t minBytes = kObjectConstantBytes);

/// Writes an object file, assembly or textual LLVM IR. "-" is stdout.
/// Writes to a temporary next to `path` and renames it on success, so a
/// failure leaves no partial output.
llvm::Error emitFile(llvm::Module &m, llvm::TargetMachine &tm, FileKind kind,
                     const std::string &path);

/// C/C++ header declaring the entry point, with shape/size macros.
std::string emitHeader(const ir::Graph &g, const Options &o);

/// Bytes of arena the generated code for target `o` asks the runtime for
/// (activations that are neither the input nor written straight into the
/// output, and the kernels' scratch). Same number the module and the header
/// use.
int64_t arenaBytes(const ir::Graph &g, const Options &o);
/// The nodes the entry function calls a kernel for, in call order (the
/// indices of Options::profile's marks).
std::vector<const ir::Node *> kernelOrder(const ir::Graph &g);

/// Mean milliseconds per run of each profiled kernel since the last reset,
/// from the marks of JIT code compiled with Options::profile.
void resetKernelProfile(size_t kernels);
std::vector<double> kernelProfileMs();

/// The memory plan the module for target `o` uses (kernel scratch sizes
/// included).
ir::MemoryPlan memoryPlan(const ir::Graph &g, const Options &o);

/// A model compiled in-process. create() optimises the module at
/// o.optLevel (do not optimise it beforehand), resolves the runtime symbols
/// (cnnrt_*) and libm from the host process, and looks up <entry>_run.
class JITModel {
public:
  static llvm::Expected<std::unique_ptr<JITModel>>
  create(std::unique_ptr<llvm::Module> m, std::unique_ptr<llvm::LLVMContext> ctx,
         const Options &o);
  ~JITModel();
  /// Calls <entry>_run; returns its status code (0 = success).
  int run(const float *input, float *output);

private:
  JITModel();
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  int (*fn_)(const float *, float *) = nullptr;
};

} // namespace cnnc::codegen

#endif
