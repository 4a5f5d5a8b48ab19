//===- LoopBuilder.h - counted loops for the lowering code -----------------===//
//
// Loops are emitted rotated (a guard, then a bottom-tested body), with an i64
// induction variable starting at `begin` and stepping by `step`: the shape
// LoopSimplify/IndVars/the vectoriser expect. Bodies may create blocks of
// their own; the latch is appended wherever the builder is left.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_CODEGEN_LOOPBUILDER_H
#define CNNC_CODEGEN_LOOPBUILDER_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/IR/IRBuilder.h"

#include <cstdint>

namespace cnnc::codegen {

using LoopBody = llvm::function_ref<void(llvm::Value *i)>;
using AccBody = llvm::function_ref<llvm::Value *(llvm::Value *i, llvm::Value *acc)>;

/// for (i = begin; i < end; i += step) body(i). Constant trip count; nothing
/// is emitted when the range is empty.
void forLoop(llvm::IRBuilder<> &b, int64_t begin, int64_t end, LoopBody body,
             int64_t step = 1);

/// Same with one loop-carried value: acc = body(i, acc); returns the final
/// acc (init when the range is empty).
llvm::Value *forLoopAcc(llvm::IRBuilder<> &b, int64_t begin, int64_t end,
                        llvm::Value *init, AccBody body);

/// for (i = begin; i < end; ++i) with run-time i64 bounds (guarded).
void forRange(llvm::IRBuilder<> &b, llvm::Value *begin, llvm::Value *end,
              LoopBody body);
llvm::Value *forRangeAcc(llvm::IRBuilder<> &b, llvm::Value *begin,
                         llvm::Value *end, llvm::Value *init, AccBody body);

/// if (cond) then() else otherwise(); the builder is left after both.
void ifElse(llvm::IRBuilder<> &b, llvm::Value *cond, llvm::function_ref<void()> then,
            llvm::function_ref<void()> otherwise);

} // namespace cnnc::codegen

#endif
