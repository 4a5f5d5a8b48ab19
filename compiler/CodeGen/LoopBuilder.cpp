//===- LoopBuilder.cpp - counted loops for the lowering code ---------------===//
#include "CodeGen/LoopBuilder.h"

using namespace llvm;

namespace cnnc::codegen {

namespace {

/// The one loop emitter. `guard` is the condition under which the loop runs
/// at all (nullptr = always: the trip count is known to be positive).
Value *emitLoop(IRBuilder<> &b, Value *begin, Value *end, int64_t step,
                Value *guard, Value *init, AccBody body) {
  LLVMContext &ctx = b.getContext();
  Function *f = b.GetInsertBlock()->getParent();
  BasicBlock *pre = b.GetInsertBlock();
  BasicBlock *header = BasicBlock::Create(ctx, "loop", f);
  BasicBlock *exit = BasicBlock::Create(ctx, "loop.exit", f);
  if (guard)
    b.CreateCondBr(guard, header, exit);
  else
    b.CreateBr(header);

  b.SetInsertPoint(header);
  PHINode *iv = b.CreatePHI(b.getInt64Ty(), 2, "i");
  iv->addIncoming(begin, pre);
  PHINode *acc = nullptr;
  if (init) {
    acc = b.CreatePHI(init->getType(), 2, "acc");
    acc->addIncoming(init, pre);
  }
  Value *next = body(iv, acc);

  BasicBlock *latch = b.GetInsertBlock();
  Value *inc = b.CreateAdd(iv, b.getInt64(step), "i.next", /*NUW=*/true,
                           /*NSW=*/true);
  Value *more = b.CreateICmpSLT(inc, end, "more");
  b.CreateCondBr(more, header, exit);
  iv->addIncoming(inc, latch);
  if (acc)
    acc->addIncoming(next, latch);

  b.SetInsertPoint(exit);
  if (!init)
    return nullptr;
  if (!guard)
    return next;
  PHINode *res = b.CreatePHI(init->getType(), 2, "acc.out");
  res->addIncoming(init, pre);
  res->addIncoming(next, latch);
  return res;
}

} // namespace

void forLoop(IRBuilder<> &b, int64_t begin, int64_t end, LoopBody body,
             int64_t step) {
  if (begin >= end)
    return;
  emitLoop(b, b.getInt64(begin), b.getInt64(end), step, nullptr, nullptr,
           [&](Value *i, Value *) -> Value * {
             body(i);
             return nullptr;
           });
}

Value *forLoopAcc(IRBuilder<> &b, int64_t begin, int64_t end, Value *init,
                  AccBody body) {
  if (begin >= end)
    return init;
  return emitLoop(b, b.getInt64(begin), b.getInt64(end), 1, nullptr, init,
                  body);
}

void forRange(IRBuilder<> &b, Value *begin, Value *end, LoopBody body) {
  Value *guard = b.CreateICmpSLT(begin, end, "nonempty");
  emitLoop(b, begin, end, 1, guard, nullptr, [&](Value *i, Value *) -> Value * {
    body(i);
    return nullptr;
  });
}

Value *forRangeAcc(IRBuilder<> &b, Value *begin, Value *end, Value *init,
                   AccBody body) {
  Value *guard = b.CreateICmpSLT(begin, end, "nonempty");
  return emitLoop(b, begin, end, 1, guard, init, body);
}

void ifElse(IRBuilder<> &b, Value *cond, function_ref<void()> then,
            function_ref<void()> otherwise) {
  LLVMContext &ctx = b.getContext();
  Function *f = b.GetInsertBlock()->getParent();
  BasicBlock *thenBB = BasicBlock::Create(ctx, "if.then", f);
  BasicBlock *elseBB = BasicBlock::Create(ctx, "if.else", f);
  BasicBlock *done = BasicBlock::Create(ctx, "if.end", f);
  b.CreateCondBr(cond, thenBB, elseBB);
  b.SetInsertPoint(thenBB);
  then();
  b.CreateBr(done);
  b.SetInsertPoint(elseBB);
  otherwise();
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

} // namespace cnnc::codegen
