//===- ModuleBuilder.cpp - graph + weights -> LLVM module -----------------===//
//
// Layout of the generated module:
//  * one private constant global per weight tensor ("cnnc.w.<state_dict key>")
//    and per compile-time folded constant ("cnnc.c.<tag>"), 64-byte aligned;
//  * one internal kernel function per computing node,
//    void @"<entry>.<op>.<id>"(ptr noalias %in..., ptr noalias %out);
//  * the entry `i32 @<entry>_run(ptr %input, ptr %output)`: null check, ABI
//    check, one cnnrt_arena_get for all activations, the kernel calls in
//    graph order;
//  * `i32 @<entry>_abi_version()`.
// Buffers come from the memory plan (IR/MemoryPlan.h): views and in-place
// concats generate no code; the value that is the output is written
// straight into `output`; everything else, kernel scratch included, lives at
// its planned offset in the arena. A kernel that overwrites its operand (in
// place) has no noalias arguments. If the output is a view of the input,
// the input is copied.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/CodeGen.h"
#include "CodeGen/Lowering.h"
#include "IR/MemoryPlan.h"

#include "cnnrt.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <cstdlib>
#include <map>

using namespace llvm;

namespace cnnc::codegen {

namespace {

constexpr int64_t kAlign = ir::kBufferAlign;

ir::MemoryPlan planFor(const ir::Graph &g, const VectorTarget &t) {
  return ir::planMemory(g, [&](const ir::Node &n) { return kernelScratchBytes(n, t); });
}

/// The SIMD unit and caches of the target `o` selects (defaults if it
/// cannot be created; buildModule reports that error), for model `g`.
VectorTarget vectorTargetFor(const Options &o, const ir::Graph &g) {
  VectorTarget t;
  if (auto tm = createTargetMachine(o))
    t = vectorTargetOf(**tm);
  else
    consumeError(tm.takeError());
  return withModelWeights(t, g);
}

/// Nodes that generate no code: views, in-place concats, the input.
bool emitsNothing(const ir::Node &n) {
  return n.kind == ir::OpKind::Input || ir::isView(n.kind) ||
         (n.kind == ir::OpKind::Concat && n.attrs.inPlace);
}

/// The nodes that become kernel calls in the entry function, in call order.
std::vector<const ir::Node *> kernelNodes(const ir::Graph &g,
                                          const ir::MemoryPlan &plan) {
  std::vector<const ir::Node *> out;
  for (const auto &up : g.nodes())
    if (plan.live.count(up.get()) && !emitsNothing(*up))
      out.push_back(up.get());
  return out;
}

Error err(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), "codegen: " + msg);
}

class ModuleBuilder {
public:
  ModuleBuilder(const ir::Graph &g, const weights::WeightSet &w,
                LLVMContext &ctx, const Options &o)
      : g_(g), w_(w), ctx_(ctx), o_(o) {}

  Expected<std::unique_ptr<Module>> build();

private:
  const ir::Graph &g_;
  const weights::WeightSet &w_;
  LLVMContext &ctx_;
  const Options &o_;
  std::unique_ptr<Module> m_;
  std::string cpu_, features_;
  std::map<std::string, GlobalVariable *> weightGlobals_;
  VectorTarget vec_;

  Function *makeFunction(FunctionType *ty, const Twine &name,
                         GlobalValue::LinkageTypes linkage);
  GlobalVariable *makeConstant(const std::string &name, ArrayRef<float> v);
  Expected<const weights::Tensor *> tensorFor(const ir::Param &p);
  Expected<Value *> weightGlobal(const ir::Param &p);
  Expected<Function *> buildKernel(const ir::Node &n, bool scratch, bool inPlace);
  Error lower(Kernel &k);
};

Function *ModuleBuilder::makeFunction(FunctionType *ty, const Twine &name,
                                      GlobalValue::LinkageTypes linkage) {
  Function *f = Function::Create(ty, linkage, name, *m_);
  f->setDoesNotThrow();
  if (!cpu_.empty())
    f->addFnAttr("target-cpu", cpu_);
  if (!features_.empty())
    f->addFnAttr("target-features", features_);
  f->addFnAttr("no-trapping-math", "true");
  return f;
}

GlobalVariable *ModuleBuilder::makeConstant(const std::string &name,
                                            ArrayRef<float> v) {
  Constant *init = ConstantDataArray::get(ctx_, v);
  auto *gv = new GlobalVariable(*m_, init->getType(), /*isConstant=*/true,
                                GlobalValue::PrivateLinkage, init, name);
  gv->setAlignment(Align(kAlign));
  gv->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
  return gv;
}

Expected<const weights::Tensor *>
ModuleBuilder::tensorFor(const ir::Param &p) {
  const weights::Tensor *t = w_.find(p.key);
  if (!t)
    return err("missing weight '" + p.key + "'");
  if (t->shape != p.shape)
    return err("weight '" + p.key + "' has shape " +
               ir::shapeToString(t->shape) + ", expected " +
               ir::shapeToString(p.shape));
  if ((int64_t)t->data.size() != ir::numElements(p.shape))
    return err("weight '" + p.key + "' has " + Twine(t->data.size()) +
               " values, expected " + Twine(ir::numElements(p.shape)));
  return t;
}

Expected<Value *> ModuleBuilder::weightGlobal(const ir::Param &p) {
  auto it = weightGlobals_.find(p.key);
  if (it != weightGlobals_.end())
    return it->second;
  auto t = tensorFor(p);
  if (!t)
    return t.takeError();
  GlobalVariable *gv = makeConstant("cnnc.w." + p.key, (*t)->data);
  weightGlobals_[p.key] = gv;
  return gv;
}

/// Whether node `n` reads and writes the layouts block-channels gave its
/// operands and output (ir::Node::channelBlock): only the convs on the
/// channel-vector kernel (checked by that kernel), elementwise ops of one
/// layout and global poolings of a blocked input take nChw<VL>c.
static bool layoutsSupported(const ir::Node &n) {
  bool blockedIn = false, allBlocked = true;
  for (const ir::Node *op : n.operands) {
    blockedIn |= op->channelBlock != 0;
    allBlocked &= op->channelBlock == n.channelBlock;
  }
  if (!blockedIn && !n.channelBlock)
    return true;
  if (n.kind == ir::OpKind::Conv2d)
    return true;
  if (n.kind == ir::OpKind::AdaptiveAvgPool2d || n.kind == ir::OpKind::AdaptiveMaxPool2d)
    return !n.channelBlock;
  if (n.kind == ir::OpKind::MaxPool2d)
    return allBlocked;
  bool elementwise = ir::isActivation(n.kind) || n.kind == ir::OpKind::Add ||
                     n.kind == ir::OpKind::Mul;
  return elementwise && allBlocked && n.epilogue.empty();
}

Error ModuleBuilder::lower(Kernel &k) {
  if (!layoutsSupported(k.node))
    return k.error("internal error: this kernel cannot read or write the blocked layout");
  switch (k.node.kind) {
  case ir::OpKind::Conv2d:
    return lowerConv2d(k);
  case ir::OpKind::MaxPool2d:
    return lowerMaxPool2d(k);
  case ir::OpKind::AvgPool2d:
    return lowerAvgPool2d(k);
  case ir::OpKind::AdaptiveAvgPool2d:
  case ir::OpKind::AdaptiveMaxPool2d:
    return lowerAdaptivePool2d(k);
  case ir::OpKind::BatchNorm2d:
    return lowerBatchNorm2d(k);
  case ir::OpKind::Linear:
    return lowerLinear(k);
  case ir::OpKind::Relu:
  case ir::OpKind::Relu6:
  case ir::OpKind::LeakyRelu:
  case ir::OpKind::Elu:
  case ir::OpKind::Hardtanh:
  case ir::OpKind::Sigmoid:
  case ir::OpKind::Tanh:
  case ir::OpKind::Silu:
  case ir::OpKind::Hardswish:
    return lowerUnary(k);
  case ir::OpKind::Softmax:
  case ir::OpKind::LogSoftmax:
    return lowerSoftmax(k);
  case ir::OpKind::Add:
  case ir::OpKind::Mul:
    return lowerBinary(k);
  case ir::OpKind::Concat:
    return lowerConcat(k);
  case ir::OpKind::Input:
  case ir::OpKind::Reshape:
  case ir::OpKind::Dropout:
  case ir::OpKind::Identity:
    break;
  }
  return k.error("operator has no lowering");
}

Expected<Function *> ModuleBuilder::buildKernel(const ir::Node &n,
                                                bool scratch, bool inPlace) {
  Type *ptrTy = PointerType::getUnqual(ctx_);
  std::vector<Type *> args(n.operands.size() + 1 + (scratch ? 1 : 0), ptrTy);
  auto *fty = FunctionType::get(Type::getVoidTy(ctx_), args, false);
  Function *f = makeFunction(fty,
                             o_.entryName + "." + ir::opName(n.kind) + "." +
                                 Twine(n.id),
                             GlobalValue::InternalLinkage);
  for (unsigned i = 0; i < f->arg_size(); ++i) {
    if (!inPlace)
      f->addParamAttr(i, Attribute::NoAlias);
    f->addParamAttr(i, Attribute::NoCapture);
    f->addParamAttr(i, Attribute::NoUndef);
    if (i < n.operands.size())
      f->addParamAttr(i, Attribute::ReadOnly);
    f->getArg(i)->setName(i < n.operands.size() ? "in" + Twine(i)
                          : i == n.operands.size() ? Twine("out")
                                                   : Twine("scratch"));
  }
  BasicBlock *entry = BasicBlock::Create(ctx_, "entry", f);
  IRBuilder<> b(entry);
  Kernel k(
      *m_, b, n, [this](const ir::Param &p) { return weightGlobal(p); },
      [this](const std::string &tag, ArrayRef<float> v) -> Value * {
        return makeConstant("cnnc.c." + tag, v);
      },
      [this](const ir::Param &p) { return tensorFor(p); });
  for (unsigned i = 0; i < n.operands.size(); ++i)
    k.in.push_back(f->getArg(i));
  k.out = f->getArg(n.operands.size());
  if (scratch)
    k.scratch = f->getArg(n.operands.size() + 1);
  k.vec = vec_;
  if (Error e = lower(k))
    return e;
  b.CreateRetVoid();
  return f;
}

Expected<std::unique_ptr<Module>> ModuleBuilder::build() {
  if (!g_.input() || !g_.output())
    return err("graph has no input or no output");
  if (g_.input()->kind != ir::OpKind::Input)
    return err("graph input is not an Input node");

  auto tm = createTargetMachine(o_);
  if (!tm)
    return tm.takeError();
  cpu_ = (*tm)->getTargetCPU().str();
  features_ = (*tm)->getTargetFeatureString().str();
  vec_ = withModelWeights(vectorTargetOf(**tm), g_);
  if (getenv("CNNC_CONV_DEBUG"))
    errs() << "target " << cpu_ << ": VL " << vec_.width << ", " << vec_.numRegs
           << " vector registers" << (vec_.hasFMA ? ", FMA" : "") << "; caches per core: L1 "
           << int64_t(vec_.l1Bytes) / 1024 << " KiB, L2 " << int64_t(vec_.l2Bytes) / 1024
           << " KiB, L3 " << int64_t(vec_.l3Bytes) / 1024 << " KiB\n";

  m_ = std::make_unique<Module>(g_.modelName.empty() ? o_.entryName
                                                     : g_.modelName,
                                ctx_);
  m_->setTargetTriple((*tm)->getTargetTriple().str());
  m_->setDataLayout((*tm)->createDataLayout());
  const DataLayout &dl = m_->getDataLayout();

  ir::MemoryPlan plan = planFor(g_, vec_);

  // Structural checks the lowerings rely on.
  for (const auto &up : g_.nodes()) {
    const ir::Node &n = *up;
    if (!plan.live.count(&n))
      continue;
    if (n.kind == ir::OpKind::Input && &n != g_.input())
      return err("graph has more than one Input node");
    if (ir::isView(n.kind)) {
      if (n.operands.size() != 1)
        return err(Twine(ir::opName(n.kind)) + " node needs one operand");
      if (ir::numElements(n.shape) != ir::numElements(n.operands[0]->shape))
        return err(Twine(ir::opName(n.kind)) + " changes the element count");
    } else if (n.kind != ir::OpKind::Input && n.operands.empty()) {
      return err(Twine(ir::opName(n.kind)) + " node has no operands");
    }
  }

  Type *ptrTy = PointerType::getUnqual(ctx_);
  Type *i32 = Type::getInt32Ty(ctx_);
  IntegerType *sizeTy = dl.getIntPtrType(ctx_);

  // Runtime hooks.
  FunctionCallee checkAbi = m_->getOrInsertFunction(
      "cnnrt_check_abi", FunctionType::get(i32, {i32}, false));
  FunctionCallee arenaGet = m_->getOrInsertFunction(
      "cnnrt_arena_get", FunctionType::get(ptrTy, {sizeTy}, false));
  if (auto *f = dyn_cast<Function>(checkAbi.getCallee()))
    f->setDoesNotThrow();
  if (auto *f = dyn_cast<Function>(arenaGet.getCallee())) {
    f->setDoesNotThrow();
    f->addRetAttr(Attribute::NoAlias);
    f->addRetAttr(Attribute::getWithAlignment(ctx_, Align(kAlign)));
  }

  // int <entry>_abi_version(void)
  {
    Function *f = makeFunction(FunctionType::get(i32, false),
                               o_.entryName + "_abi_version",
                               GlobalValue::ExternalLinkage);
    IRBuilder<> b(BasicBlock::Create(ctx_, "entry", f));
    b.CreateRet(b.getInt32(CNNRT_ABI_VERSION));
  }

  // int <entry>_run(const float *input, float *output)
  Function *run = makeFunction(FunctionType::get(i32, {ptrTy, ptrTy}, false),
                               o_.entryName + "_run",
                               GlobalValue::ExternalLinkage);
  Argument *input = run->getArg(0), *output = run->getArg(1);
  input->setName("input");
  output->setName("output");
  run->addParamAttr(0, Attribute::NoAlias);
  run->addParamAttr(0, Attribute::ReadOnly);
  run->addParamAttr(0, Attribute::NoCapture);
  run->addParamAttr(1, Attribute::NoAlias);
  run->addParamAttr(1, Attribute::NoCapture);

  BasicBlock *entry = BasicBlock::Create(ctx_, "entry", run);
  BasicBlock *abiBB = BasicBlock::Create(ctx_, "check.abi", run);
  BasicBlock *nullBB = BasicBlock::Create(ctx_, "err.null", run);
  BasicBlock *abiErrBB = BasicBlock::Create(ctx_, "err.abi", run);
  IRBuilder<> b(entry);
  Value *bad = b.CreateOr(b.CreateIsNull(input), b.CreateIsNull(output));
  b.CreateCondBr(bad, nullBB, abiBB);
  b.SetInsertPoint(nullBB);
  b.CreateRet(b.getInt32(CNNRT_ERR_NULL_ARG));
  b.SetInsertPoint(abiErrBB);
  b.CreateRet(b.getInt32(CNNRT_ERR_ABI));

  b.SetInsertPoint(abiBB);
  Value *abi = b.CreateCall(checkAbi, {b.getInt32(CNNRT_ABI_VERSION)});
  BasicBlock *bodyBB = BasicBlock::Create(ctx_, "body", run);
  Value *arena = nullptr;
  if (plan.arenaBytes > 0) {
    BasicBlock *arenaBB = BasicBlock::Create(ctx_, "arena", run);
    BasicBlock *memErrBB = BasicBlock::Create(ctx_, "err.memory", run);
    b.CreateCondBr(b.CreateICmpEQ(abi, b.getInt32(CNNRT_OK)), arenaBB,
                   abiErrBB);
    b.SetInsertPoint(arenaBB);
    arena = b.CreateCall(arenaGet,
                         {ConstantInt::get(sizeTy, plan.arenaBytes)}, "arena");
    b.CreateCondBr(b.CreateIsNull(arena), memErrBB, bodyBB);
    b.SetInsertPoint(memErrBB);
    b.CreateRet(b.getInt32(CNNRT_ERR_NO_MEMORY));
  } else {
    b.CreateCondBr(b.CreateICmpEQ(abi, b.getInt32(CNNRT_OK)), bodyBB,
                   abiErrBB);
  }
  b.SetInsertPoint(bodyBB);

  auto bufferOf = [&](const ir::Node *n) -> Value * {
    const ir::MemoryPlan::Location &loc = plan.at.at(n);
    Value *base = loc.storage == ir::MemoryPlan::Storage::Input    ? input
                  : loc.storage == ir::MemoryPlan::Storage::Output ? output
                                                                   : arena;
    if (loc.offset == 0)
      return base;
    return b.CreateInBoundsGEP(b.getInt8Ty(), base, b.getInt64(loc.offset),
                               "buf." + Twine(n->id));
  };

  // Profiling (cnnc bench --profile): a mark before each kernel and one
  // after the last; the JIT binds cnnc_profile_mark to a timer.
  FunctionCallee mark;
  if (o_.profile)
    mark = m_->getOrInsertFunction("cnnc_profile_mark",
                                   FunctionType::get(b.getVoidTy(), {i32}, false));
  std::vector<const ir::Node *> kernels = kernelNodes(g_, plan);
  for (size_t ki = 0; ki < kernels.size(); ++ki) {
    const ir::Node &n = *kernels[ki];
    if (o_.profile)
      b.CreateCall(mark, {b.getInt32(ki)});
    auto so = plan.scratchOffset.find(&n);
    bool scratch = so != plan.scratchOffset.end();
    auto k = buildKernel(n, scratch, plan.inPlace.count(&n) > 0);
    if (!k)
      return k.takeError();
    std::vector<Value *> args;
    for (const ir::Node *op : n.operands)
      args.push_back(bufferOf(op));
    args.push_back(bufferOf(&n));
    if (scratch)
      args.push_back(b.CreateInBoundsGEP(b.getInt8Ty(), arena,
                                         b.getInt64(so->second), "scratch"));
    b.CreateCall(*k, args);
  }
  if (o_.profile)
    b.CreateCall(mark, {b.getInt32(kernels.size())});
  if (plan.copyInputToOutput)
    emitCopy(b, output, input, ir::numElements(g_.output()->shape));
  b.CreateRet(b.getInt32(CNNRT_OK));

  std::string msg;
  raw_string_ostream os(msg);
  if (verifyModule(*m_, &os))
    return createStringError(inconvertibleErrorCode(),
                             "internal error: generated LLVM IR is invalid: " +
                                 os.str());
  return std::move(m_);
}

} // namespace

int64_t arenaBytes(const ir::Graph &g, const Options &o) {
  return planFor(g, vectorTargetFor(o, g)).arenaBytes;
}

LayoutTarget layoutTarget(const Options &o, const ir::Graph &g) {
  VectorTarget t = vectorTargetFor(o, g);
  LayoutTarget lt;
  lt.vectorWidth = t.width;
  lt.convLayouts = [t](const ir::Node &n) {
    if (n.kind != ir::OpKind::Conv2d)
      return 0;
    ConvKernel kind = chosenConvKernel(n, t);
    if (kind == ConvKernel::ChanVec)
      return 1;
    // A conv the direct kernel would run on NCHW runs on the
    // channel-vector kernel when blocked.
    if (kind == ConvKernel::Direct && directBlockedEnabled() && chanVecEligible(n))
      return 1;
    return kind == ConvKernel::Winograd && winogradBlockedPreferred(n, t) ? 2 : 0;
  };
  return lt;
}

ir::MemoryPlan memoryPlan(const ir::Graph &g, const Options &o) {
  return planFor(g, vectorTargetFor(o, g));
}

std::vector<const ir::Node *> kernelOrder(const ir::Graph &g) {
  // Which nodes get a kernel does not depend on the target's scratch sizes.
  return kernelNodes(g, planFor(g, VectorTarget()));
}

Expected<std::unique_ptr<Module>> buildModule(const ir::Graph &g,
                                              const weights::WeightSet &w,
                                              LLVMContext &ctx,
                                              const Options &o) {
  return ModuleBuilder(g, w, ctx, o).build();
}

} // namespace cnnc::codegen
