//===- ConstantBytes.cpp - weight arrays as raw bytes for the object writer ===//
//
// Weights are float arrays in the module, which keeps --emit=llvm readable.
// The object writer, though, converts a float array element by element
// (through APFloat), which for ResNet-size weights took more than a second,
// while it copies a byte array in one piece; the IR and assembly printers
// are slower still (ResNet-18's 45 MB of weights printed as LLVM floats took
// 60 s and 2 GB). So right before output each constant float array above a
// threshold becomes an i8 array with the same bytes: 4 KiB for object code,
// 64 KiB for text (a layer that small is still worth reading as floats).
// Kernels address their weights by byte offset from the global's address,
// so nothing else changes.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/CodeGen.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"

using namespace llvm;

namespace cnnc::codegen {

void storeConstantsAsBytes(Module &m, uint64_t minBytes) {
  std::vector<GlobalVariable *> todo;
  for (GlobalVariable &gv : m.globals()) {
    auto *init = gv.hasInitializer()
                     ? dyn_cast<ConstantDataArray>(gv.getInitializer())
                     : nullptr;
    if (gv.isConstant() && init && init->getElementType()->isFloatTy() &&
        init->getRawDataValues().size() >= minBytes)
      todo.push_back(&gv);
  }
  for (GlobalVariable *gv : todo) {
    StringRef raw = cast<ConstantDataArray>(gv->getInitializer())->getRawDataValues();
    Constant *bytes = ConstantDataArray::getRaw(raw, raw.size(), Type::getInt8Ty(m.getContext()));
    auto *ng = new GlobalVariable(m, bytes->getType(), /*isConstant=*/true,
                                  gv->getLinkage(), bytes, "", gv);
    ng->copyAttributesFrom(gv);
    ng->takeName(gv);
    gv->replaceAllUsesWith(ng);
    gv->eraseFromParent();
  }
}

} // namespace cnnc::codegen
