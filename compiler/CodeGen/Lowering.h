//===- Lowering.h - shared interface of the per-operator lowerings ---------===//
//
// ModuleBuilder creates one internal function per graph node,
//   void kernel(ptr noalias %in0, ..., ptr noalias %out)
// positions a builder in its body and hands a Kernel to the lowering for the
// node's op. A lowering emits loops over the static shapes, reads operands
// through `in`, writes `out`, and reaches parameters through param(), which
// returns the weight as a private constant global. Each op's lowering lives in
// its own file so it can be replaced by a faster one without touching others.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_CODEGEN_LOWERING_H
#define CNNC_CODEGEN_LOWERING_H

#include "CodeGen/ConvPlan.h"
#include "CodeGen/LoopBuilder.h"
#include "IR/Graph.h"
#include "Weights/Weights.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <vector>

namespace llvm {
class TargetMachine;
}

namespace cnnc::codegen {

class Kernel {
public:
  llvm::Module &m;
  llvm::IRBuilder<> &b;
  const ir::Node &node;
  std::vector<llvm::Value *> in; ///< one float* per operand
  llvm::Value *out;              ///< float* of this node's buffer
  /// kernelScratchBytes(node, vec) bytes of 64-byte-aligned arena, or nullptr.
  llvm::Value *scratch = nullptr;
  /// SIMD unit of the target the kernel is compiled for.
  VectorTarget vec;
  // The node's fused epilogue (node.epilogue) is applied with emitEpilogue.

  using ParamFn = std::function<llvm::Expected<llvm::Value *>(const ir::Param &)>;
  using ConstFn =
      std::function<llvm::Value *(const std::string &, llvm::ArrayRef<float>)>;
  using TensorFn =
      std::function<llvm::Expected<const weights::Tensor *>(const ir::Param &)>;

  Kernel(llvm::Module &m, llvm::IRBuilder<> &b, const ir::Node &node,
         ParamFn paramFn, ConstFn constFn, TensorFn tensorFn)
      : m(m), b(b), node(node), paramFn_(std::move(paramFn)),
        constFn_(std::move(constFn)), tensorFn_(std::move(tensorFn)) {}

  /// The global holding the node's param with this suffix ("weight"), or
  /// nullptr when the node has no such param. Errors if the weight set lacks
  /// it or its shape differs.
  llvm::Expected<llvm::Value *> param(const std::string &suffix) {
    const ir::Param *p = node.param(suffix);
    if (!p)
      return nullptr;
    return paramFn_(*p);
  }
  /// The weight values themselves (for compile-time folding), or nullptr.
  llvm::Expected<const weights::Tensor *> tensor(const std::string &suffix) {
    const ir::Param *p = node.param(suffix);
    if (!p)
      return nullptr;
    return tensorFn_(*p);
  }
  /// A private constant global with these values; `tag` names it.
  llvm::Value *constant(const std::string &tag, llvm::ArrayRef<float> v) {
    return constFn_(tag, v);
  }

  // --- small IR helpers ---------------------------------------------------
  llvm::Type *f32() { return b.getFloatTy(); }
  llvm::Value *i64(int64_t v) { return b.getInt64(v); }
  llvm::Value *f(double v) { return llvm::ConstantFP::get(f32(), v); }
  llvm::Value *ptr(llvm::Value *base, llvm::Value *idx) {
    return b.CreateInBoundsGEP(f32(), base, idx);
  }
  llvm::Value *load(llvm::Value *base, llvm::Value *idx) {
    return b.CreateAlignedLoad(f32(), ptr(base, idx), llvm::Align(4));
  }
  void store(llvm::Value *v, llvm::Value *base, llvm::Value *idx) {
    b.CreateAlignedStore(v, ptr(base, idx), llvm::Align(4));
  }
  /// A vector of type `ty` at base[idx] (float index, 4-byte aligned).
  llvm::Value *vload(llvm::Type *ty, llvm::Value *base, llvm::Value *idx) {
    return b.CreateAlignedLoad(ty, ptr(base, idx), llvm::Align(4));
  }
  llvm::Value *add(llvm::Value *a, llvm::Value *c) {
    return b.CreateAdd(a, c, "", false, true);
  }
  llvm::Value *add(llvm::Value *a, int64_t c) {
    return c == 0 ? a : add(a, i64(c));
  }
  llvm::Value *mul(llvm::Value *a, int64_t c) {
    return c == 1 ? a : b.CreateMul(a, i64(c), "", false, true);
  }
  /// ((i0 * d1 + i1) * d2 + i2) ... for a row-major index.
  llvm::Value *index(llvm::ArrayRef<llvm::Value *> idx,
                     llvm::ArrayRef<int64_t> dims) {
    llvm::Value *r = idx[0];
    for (size_t k = 1; k < idx.size(); ++k)
      r = add(mul(r, dims[k]), idx[k]);
    return r;
  }
  /// Accumulating add / multiply-add: reassociation and contraction allowed
  /// so reductions can be vectorised and fused.
  llvm::Value *fadd(llvm::Value *a, llvm::Value *c) {
    auto *r = b.CreateFAdd(a, c);
    if (auto *i = llvm::dyn_cast<llvm::Instruction>(r)) {
      i->setHasAllowReassoc(true);
      i->setHasAllowContract(true);
    }
    return r;
  }
  llvm::Value *fmuladd(llvm::Value *x, llvm::Value *y, llvm::Value *acc) {
    auto *p = b.CreateFMul(x, y);
    if (auto *i = llvm::dyn_cast<llvm::Instruction>(p)) {
      i->setHasAllowReassoc(true);
      i->setHasAllowContract(true);
    }
    return fadd(acc, p);
  }
  /// max with PyTorch's NaN propagation (a NaN input wins). Written as
  /// x86's max (v > acc ? v : acc, which keeps a NaN acc) followed by a
  /// NaN v, so that it lowers to maxps, one compare and a blend (the
  /// or-of-two-compares form took two compares, which AVX-512 runs on one
  /// port only).
  llvm::Value *fmaxNaN(llvm::Value *acc, llvm::Value *v) {
    return b.CreateSelect(b.CreateFCmpUNO(v, v), v, fmaxNoNaN(acc, v));
  }
  /// max of values known to hold no NaN (a tie keeps acc, as PyTorch's
  /// `val > max` does): one maxps. Half the instructions of fmaxNaN, whose
  /// compares and mask operations bound max pooling on Zen 4.
  llvm::Value *fmaxNoNaN(llvm::Value *acc, llvm::Value *v) {
    return b.CreateSelect(b.CreateFCmpOGT(v, acc), v, acc);
  }
  /// max of values known to be +0 .. +inf or NaN (a ReLU's output): one
  /// unsigned integer max of the bit patterns, which a NaN of either sign
  /// wins (reluFeedsMaxPool).
  llvm::Value *fmaxNonNegative(llvm::Value *acc, llvm::Value *v) {
    auto *ity = llvm::VectorType::getInteger(llvm::cast<llvm::VectorType>(v->getType()));
    llvm::Value *m = b.CreateBinaryIntrinsic(llvm::Intrinsic::umax, b.CreateBitCast(acc, ity),
                                             b.CreateBitCast(v, ity));
    return b.CreateBitCast(m, v->getType());
  }
  llvm::Value *smax(llvm::Value *a, llvm::Value *c) {
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, a, c);
  }
  llvm::Value *smin(llvm::Value *a, llvm::Value *c) {
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, a, c);
  }

  llvm::Error error(const llvm::Twine &msg) {
    std::string who = node.name.empty() ? std::string(ir::opName(node.kind))
                                        : node.name + " (" +
                                              ir::opName(node.kind) + ")";
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "codegen: " + who + ": " + msg);
  }

private:
  ParamFn paramFn_;
  ConstFn constFn_;
  TensorFn tensorFn_;
};

/// i1: whether the `count` floats at x are all finite (no NaN, no
/// infinity): the Winograd kernels, exact only without them, branch on it.
llvm::Value *emitAllFinite(Kernel &k, llvm::Value *x, int64_t count);
/// A conv's weights as given (checked to be `count` floats) and its bias
/// (null without one).
struct ConvParams {
  const std::vector<float> *weight = nullptr;
  llvm::Value *bias = nullptr;
};
llvm::Expected<ConvParams> convParams(Kernel &k, int64_t count);
/// A vector that is NaN in a lane if any of `vecs` (vectors of one type)
/// is NaN there: three at a time as a * b + c, then a balanced sum. An
/// infinity can make it NaN too (0 * inf, inf - inf): a false alarm, which
/// only sends the caller to its NaN-aware path.
llvm::Value *emitNaNCheck(Kernel &k, llvm::ArrayRef<llvm::Value *> vecs);
/// Emits body(true), a fast pass that adds what it loads to the NaN check
/// in the vector *slot (zeroed first; emitNaNCheck), then body(false), the
/// NaN-aware pass, over the same outputs if the check is NaN in any lane.
void emitWithNaNRetry(Kernel &k, llvm::Value *slot, llvm::function_ref<void(bool fast)> body);

llvm::Error lowerConv2d(Kernel &k);
llvm::Error lowerMaxPool2d(Kernel &k);
llvm::Error lowerAvgPool2d(Kernel &k);
llvm::Error lowerAdaptivePool2d(Kernel &k); // avg and max
llvm::Error lowerLinear(Kernel &k);
llvm::Error lowerBatchNorm2d(Kernel &k);
llvm::Error lowerUnary(Kernel &k);  // activations
llvm::Error lowerBinary(Kernel &k); // add, mul
llvm::Error lowerSoftmax(Kernel &k); // softmax, log_softmax
llvm::Error lowerConcat(Kernel &k);
llvm::Error lowerConv2dDirect(Kernel &k);
/// The fast convolution kernel lowerConv2d uses for `n` on `t` (Winograd if
/// chosen, else the channel-vectorised kernel if chosen, else direct); the
/// scratch size (kernelScratchBytes) follows the same choice.
/// WinogradBlocked: Winograd on channel-blocked activations
/// (ConvWinogradBlocked.cpp), for convs whose output block-channels blocks.
enum class ConvKernel { Winograd, WinogradBlocked, ChanVec, Direct };
ConvKernel chosenConvKernel(const ir::Node &n, const VectorTarget &t);
/// Winograd F(4x4,3x3) (ConvWinograd.cpp). winogradChosen: the geometry
/// qualifies and the cost model (or CNNC_WINOGRAD=0/1) picks it over the
/// direct and channel-vectorised kernels for this target.
llvm::Error lowerConv2dWinograd(Kernel &k);
bool winogradChosen(const ir::Node &n, const VectorTarget &t);
/// Winograd F(4x4,3x3) for first layers (ConvWinogradFew.cpp): whether it
/// can run `n` (few input channels, no padding, whole 4 x 4VL tiles,
/// activations and at most a 4 x 4 max pooling fused), its estimated
/// cycles, and the kernel (lowerConv2dWinograd dispatches to it).
bool winogradFewEligible(const ir::Node &n, const ConvGeom &g, const VectorTarget &t);
double winogradFewCost(const ConvGeom &g, const VectorTarget &t);
/// Whether n is a Winograd conv on this target that runs on that kernel.
bool winogradFewChosen(const ir::Node &n, const VectorTarget &t);
llvm::Error lowerConv2dWinogradFew(Kernel &k, const ConvGeom &g);
/// Scratch bytes the Winograd kernel needs on this target (0 if the
/// geometry does not qualify).
int64_t winogradScratchBytes(const ir::Node &n, const VectorTarget &t);
/// The channel-blocked Winograd kernel: whether it can run `n` (its
/// geometry qualifies for Winograd, C and K are whole vectors, no fused
/// pooling), its scratch, and the kernel itself (blocked output).
bool winogradBlockedEligible(const ir::Node &n, const VectorTarget &t);
int64_t winogradBlockedScratchBytes(const ir::Node &n, const VectorTarget &t);
llvm::Error lowerConv2dWinogradBlocked(Kernel &k);
/// Whether block-channels may give a Winograd conv a blocked output
/// (CNNC_WINOGRAD_BLOCKED=0 keeps them NCHW), and whether it should for
/// `n`: eligible, with enough tiles per image (CNNC_WINOGRAD_BLOCKED=1:
/// whatever the tiles).
bool winogradBlockedEnabled();
bool winogradBlockedPreferred(const ir::Node &n, const VectorTarget &t);
/// Whether block-channels may give a conv the direct kernel would run a
/// blocked layout, on the channel-vector kernel (on unless
/// CNNC_DIRECT_BLOCKED=0; measured in docs/performance.md: ResNet-50 0.82x,
/// ResNet-18 0.93x at one thread).
bool directBlockedEnabled();
/// Convolution vectorised over output channels (ConvChannelVec.cpp) for
/// ungrouped convs. chanVecChosen: eligible and estimated cheaper than the
/// direct kernel on this target; chanVecCost: its estimated cycles, or -1
/// where it is not eligible or not considered (pointwise convs folded into
/// one row).
llvm::Error lowerConv2dChanVec(Kernel &k);
bool chanVecChosen(const ir::Node &n, const VectorTarget &t);
/// Whether the kernel can run `n` at all (pointwise convs included).
bool chanVecEligible(const ir::Node &n);
double chanVecCost(const ir::Node &n, const VectorTarget &t);
/// Scratch bytes (its zero-padded input copy) the kernel may need, or 0.
int64_t chanVecScratchBytes(const ir::Node &n);
/// A pooling fused into a conv (ConvPool.cpp): the conv's own output is
/// OH x OW per plane, the pooled one OHp x OWp, windows SH x SW.
struct PoolGeom {
  int64_t OH = 0, OW = 0, OHp = 0, OWp = 0, SH = 1, SW = 1;
};
PoolGeom poolGeom(const ir::Node &conv);
/// Where emitPoolRows reads a work item's conv output from a buffer of its
/// own: plane i (of the item's planes) at i * planeStride floats, conv row
/// r at (r - row0) * OW.
struct PoolBand {
  int64_t planeStride;
  llvm::Value *row0;
};
/// Pools rows [p0, p0 + rows) of `planes` consecutive planes from plane0:
/// `src` holds the conv output (the whole NCHW output, or the item's rows
/// as `band` says), `dst` the pooled output (NCHW planes).
void emitPoolRows(Kernel &k, const ir::EpilogueStep &pool, const PoolGeom &y,
                  llvm::Value *src, llvm::Value *dst, llvm::Value *plane0,
                  int64_t planes, llvm::Value *p0, int64_t rows,
                  const PoolBand *band = nullptr);
/// Where a conv with a fused pooling writes its own output: the last
/// poolScratchBytes bytes of its scratch.
llvm::Value *convOutputInScratch(Kernel &k);
/// Pools the whole conv output (in scratch) into k.out, plane by plane.
void emitPoolAfterConv(Kernel &k, llvm::Value *convOut);
/// Scratch a conv with a fused pooling adds for its own output (the last
/// poolScratchBytes(n) bytes of kernelScratchBytes(n, t)), or 0. The direct
/// kernel does without it when each work item pools from a buffer of its
/// own (ConvDirect.cpp, DirectPlan::localPool).
int64_t poolScratchBytes(const ir::Node &n);
llvm::Error lowerLinearPacked(Kernel &k);
llvm::Error lowerMaxPool2dVector(Kernel &k);
/// `lanes` consecutive outputs of one pooled row as a vector: the window
/// rows khs, at base + offset + kh * rowStride floats (offset may be
/// negative for a row in the padding that khs skips; only in-bounds
/// addresses are formed), are each loaded as one span
/// of (lanes-1)*SW + (KW-1)*DW + 1 floats and combined (max with PyTorch's
/// NaN rule, or sum), then one stride-SW shuffle per kernel column.
/// With `unsignedMax` the values are known to be +0 .. +inf or NaN (a
/// ReLU's output, see reluFeedsMaxPool): max is then one unsigned integer
/// max of the bit patterns, which a NaN of either sign wins, as PyTorch's.
/// With `checkSlot` (a pointer to a vector of `lanes` floats) max is one
/// maxps (Kernel::fmaxNoNaN), exact only without NaNs: the loaded rows are
/// then accumulated into *checkSlot, which is NaN if any of them held a
/// NaN (or an infinity), and the caller pools again if it is.
llvm::Value *emitPoolSpan(Kernel &k, bool isMax, llvm::Value *base, llvm::Value *offset,
                          int64_t rowStride,
                          llvm::ArrayRef<int64_t> khs, int64_t lanes, int64_t SW, int64_t KW,
                          int64_t DW, bool unsignedMax = false,
                          llvm::Value *checkSlot = nullptr);
/// Whether kernel k (a conv) ends its epilogue in ReLU then a fused max
/// pooling, on a target with vector unsigned max (AVX and up; SSE2 would
/// emulate it). Its ReLU then maps -0 to +0 too (x <= 0 ? +0 : x,
/// emitEpilogue), so the pooled values are +0 .. +inf or NaN and the
/// pooling compares their bit patterns as unsigned integers
/// (emitPoolSpan); only the sign of a zero the pooling returns can differ
/// from PyTorch's. CNNC_POOL_UMAX=0 turns it off (experiments).
bool reluFeedsMaxPool(const Kernel &k);

/// Scratch arena bytes the node's lowering needs on target `t` (0 for
/// none): the memory plan, and so the arena size in the header, is the
/// target's (a header and an object file made with the same target options
/// agree).
int64_t kernelScratchBytes(const ir::Node &n, const VectorTarget &t);
/// An activation (ir::isActivation) of a float or a float vector, with
/// PyTorch's formulas and NaN behaviour. alpha/beta as in ir::Attrs.
llvm::Value *emitActivation(llvm::IRBuilder<> &b, llvm::Module &m,
                            ir::OpKind kind, double alpha, double beta,
                            llvm::Value *x);
/// Applies k.node's fused epilogue to `v`, the value of the output element
/// (or the vector of consecutive elements) at flat index `idx`: activations,
/// and residual operands read at `idx` from `operandPtrs[step.operand]`
/// (masked by `mask` for a partial vector).
llvm::Value *emitEpilogue(Kernel &k, llvm::Value *v,
                          llvm::ArrayRef<llvm::Value *> operandPtrs,
                          llvm::Value *idx, llvm::Constant *mask = nullptr);
/// The constant mask of lanes [lo, hi) of a vl-lane vector (all false when
/// the range is empty), or null when the range covers every lane.
llvm::Constant *laneMask(llvm::LLVMContext &ctx, int64_t vl, int64_t lo, int64_t hi);
/// SIMD description of a target machine's subtarget.
VectorTarget vectorTargetOf(const llvm::TargetMachine &tm);
/// `t` with modelWeightBytes set to the bytes of all of `g`'s parameters as
/// the kernels pack them (4x a 3x3 conv's weights where Winograd would be
/// chosen with the weights cached).
VectorTarget withModelWeights(VectorTarget t, const ir::Graph &g);
/// Experiment switches of the form NAME=A,B (a forced register tile): true
/// with both numbers when the variable holds two positive integers.
bool envTile2(const char *name, int64_t &a, int64_t &b);

/// Outlines body(caps, item) for item in [0, n) into a worker and runs it
/// through cnnrt_parallel_for (on the calling thread when estCycles is
/// small). The body must only use `caps` (the captured values, loaded
/// in the worker) and constants, never values of the calling function.
void emitParallelFor(
    Kernel &k, int64_t n, llvm::ArrayRef<llvm::Value *> captures,
    double estCycles,
    llvm::function_ref<void(llvm::ArrayRef<llvm::Value *> caps,
                            llvm::Value *item)>
        body);
/// The same with the worker's whole chunk: body(caps, begin, end) covers
/// items [begin, end) (runtime values, begin < end), for kernels that
/// process a chunk's items several at a time. How [0, n) is cut varies
/// with the thread count and from call to call.
void emitParallelRange(
    Kernel &k, int64_t n, llvm::ArrayRef<llvm::Value *> captures,
    double estCycles,
    llvm::function_ref<void(llvm::ArrayRef<llvm::Value *> caps,
                            llvm::Value *begin, llvm::Value *end)>
        body);
/// A counted loop with several loop-carried values; returns their final
/// values.
std::vector<llvm::Value *> forLoopMulti(
    llvm::IRBuilder<> &b, llvm::Value *begin, llvm::Value *end,
    llvm::ArrayRef<llvm::Value *> init,
    llvm::function_ref<std::vector<llvm::Value *>(
        llvm::Value *i, llvm::ArrayRef<llvm::Value *> acc)>
        body,
    bool knownNonEmpty);

/// One step of a register tile: acc[kk * rw + j] += x(j) * w(kk) for rk
/// broadcast weights and rw input vectors (fmuladd on the vector type),
/// holding the smaller of the two sets in registers. A null x(j) leaves
/// acc[. * rw + j] as it is (a tap known to read zero padding).
void emitOuterProductFma(llvm::IRBuilder<> &b, llvm::Function *fmuladd,
                         int64_t rk, int64_t rw,
                         llvm::function_ref<llvm::Value *(int64_t)> x,
                         llvm::function_ref<llvm::Value *(int64_t)> w,
                         std::vector<llvm::Value *> &acc);
/// Copies `n` floats (used for the output when it aliases the input).
void emitCopy(llvm::IRBuilder<> &b, llvm::Value *dst, llvm::Value *src,
              int64_t n);

} // namespace cnnc::codegen

#endif
