//===- Parallel.cpp - outlined workers for cnnrt_parallel_for --------------===//
//
// emitParallelFor outlines a loop body (emitParallelRange: a chunk's body) into
//   void <kernel>.par<N>(ptr %ctx, i64 %begin, i64 %end)
// whose context is an array of the captured pointers, and calls it through
// the runtime's thread pool (or directly when the work is too small
// to pay for waking the pool). Each item's result depends only on the item,
// so results are identical for any thread count.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/Lowering.h"

#include "llvm/IR/Function.h"

using namespace llvm;

namespace cnnc::codegen {

namespace {
/// Below this many estimated cycles a kernel runs on the calling thread
/// (measured on AVX-512, 2 threads: the seed's 4x4 max pooling, ~33000
/// estimated cycles, 11 us serial, 7 us on the pool; the cifar, seed and
/// SqueezeNet models unchanged within the noise against 40000).
constexpr double kMinParallelCycles = 15000;
} // namespace

std::vector<Value *>
forLoopMulti(IRBuilder<> &b, Value *begin, Value *end, ArrayRef<Value *> init,
             function_ref<std::vector<Value *>(Value *, ArrayRef<Value *>)> body,
             bool knownNonEmpty) {
  LLVMContext &ctx = b.getContext();
  Function *f = b.GetInsertBlock()->getParent();
  BasicBlock *pre = b.GetInsertBlock();
  BasicBlock *header = BasicBlock::Create(ctx, "mloop", f);
  BasicBlock *exit = BasicBlock::Create(ctx, "mloop.exit", f);
  if (knownNonEmpty)
    b.CreateBr(header);
  else
    b.CreateCondBr(b.CreateICmpSLT(begin, end), header, exit);
  b.SetInsertPoint(header);
  PHINode *iv = b.CreatePHI(b.getInt64Ty(), 2, "i");
  iv->addIncoming(begin, pre);
  std::vector<PHINode *> phis;
  std::vector<Value *> cur;
  for (Value *v : init) {
    PHINode *p = b.CreatePHI(v->getType(), 2);
    p->addIncoming(v, pre);
    phis.push_back(p);
    cur.push_back(p);
  }
  std::vector<Value *> next = body(iv, cur);
  BasicBlock *latch = b.GetInsertBlock();
  Value *inc = b.CreateAdd(iv, b.getInt64(1), "i.next", true, true);
  b.CreateCondBr(b.CreateICmpSLT(inc, end), header, exit);
  iv->addIncoming(inc, latch);
  for (size_t j = 0; j < phis.size(); ++j)
    phis[j]->addIncoming(next[j], latch);
  b.SetInsertPoint(exit);
  std::vector<Value *> out;
  for (size_t j = 0; j < phis.size(); ++j) {
    if (knownNonEmpty) {
      out.push_back(next[j]);
    } else {
      PHINode *r = b.CreatePHI(init[j]->getType(), 2);
      r->addIncoming(init[j], pre);
      r->addIncoming(next[j], latch);
      out.push_back(r);
    }
  }
  return out;
}

void emitParallelFor(
    Kernel &k, int64_t n, ArrayRef<Value *> captures, double estCycles,
    function_ref<void(ArrayRef<Value *> caps, Value *item)> body) {
  emitParallelRange(k, n, captures, estCycles,
                    [&](ArrayRef<Value *> caps, Value *begin, Value *end) {
                      forRange(k.b, begin, end, [&](Value *item) { body(caps, item); });
                    });
}

void emitParallelRange(
    Kernel &k, int64_t n, ArrayRef<Value *> captures, double estCycles,
    function_ref<void(ArrayRef<Value *> caps, Value *begin, Value *end)> body) {
  if (n <= 0)
    return;
  IRBuilder<> &b = k.b;
  LLVMContext &ctx = b.getContext();
  Function *parent = b.GetInsertBlock()->getParent();
  Type *ptrTy = PointerType::getUnqual(ctx);
  Type *i64 = b.getInt64Ty();

  auto *fty = FunctionType::get(b.getVoidTy(), {ptrTy, i64, i64}, false);
  Function *w = Function::Create(fty, GlobalValue::InternalLinkage,
                                 parent->getName() + ".par",
                                 k.m);
  w->setDoesNotThrow();
  for (const char *a : {"target-cpu", "target-features", "no-trapping-math",
                        "min-legal-vector-width"})
    if (parent->hasFnAttribute(a))
      w->addFnAttr(parent->getFnAttribute(a));
  if (k.vec.width * 32 > 256)
    w->addFnAttr("min-legal-vector-width", std::to_string(k.vec.width * 32));
  w->addParamAttr(0, Attribute::NoCapture);
  w->addParamAttr(0, Attribute::ReadOnly);
  w->getArg(0)->setName("ctx");
  w->getArg(1)->setName("begin");
  w->getArg(2)->setName("end");

  // Caller side: context array, then the call.
  auto *ctxTy = ArrayType::get(ptrTy, std::max<size_t>(captures.size(), 1));
  Value *ctxMem;
  {
    IRBuilder<> eb(&parent->getEntryBlock(), parent->getEntryBlock().begin());
    ctxMem = eb.CreateAlloca(ctxTy, nullptr, "par.ctx");
  }
  for (size_t j = 0; j < captures.size(); ++j)
    b.CreateStore(captures[j], b.CreateConstInBoundsGEP2_64(ctxTy, ctxMem, 0, j));
  if (estCycles < kMinParallelCycles || n == 1) {
    b.CreateCall(w, {ctxMem, b.getInt64(0), b.getInt64(n)});
  } else {
    FunctionCallee pf = k.m.getOrInsertFunction(
        "cnnrt_parallel_for",
        FunctionType::get(b.getInt32Ty(), {i64, ptrTy, ptrTy}, false));
    if (auto *fn = dyn_cast<Function>(pf.getCallee()))
      fn->setDoesNotThrow();
    b.CreateCall(pf, {b.getInt64(n), w, ctxMem});
  }

  // Worker body.
  IRBuilder<>::InsertPointGuard guard(b);
  BasicBlock *entry = BasicBlock::Create(ctx, "entry", w);
  b.SetInsertPoint(entry);
  std::vector<Value *> caps;
  for (size_t j = 0; j < captures.size(); ++j)
    caps.push_back(b.CreateLoad(
        ptrTy, b.CreateConstInBoundsGEP2_64(ctxTy, w->getArg(0), 0, j),
        "cap" + Twine(j)));
  body(caps, w->getArg(1), w->getArg(2));
  b.CreateRetVoid();
}

} // namespace cnnc::codegen
