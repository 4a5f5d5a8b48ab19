//===- EmitFile.cpp - object / assembly / LLVM IR output -------------------===//
//
// The whole output is produced in memory first, then written to a temporary
// next to the destination and renamed over it, so a failed compile never
// leaves a partial file behind.
//
//===----------------------------------------------------------------------===//
#include "CodeGen/CodeGen.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

using namespace llvm;

namespace cnnc::codegen {

Error emitFile(Module &m, TargetMachine &tm, FileKind kind,
               const std::string &path) {
  SmallString<0> buf;
  raw_svector_ostream os(buf);
  if (kind == FileKind::LLVMText) {
    m.print(os, nullptr);
  } else {
    legacy::PassManager pm;
    CodeGenFileType ft = kind == FileKind::Object ? CodeGenFileType::ObjectFile
                                                  : CodeGenFileType::AssemblyFile;
    if (m.getDataLayout() != tm.createDataLayout())
      m.setDataLayout(tm.createDataLayout());
    if (kind == FileKind::Object)
      storeConstantsAsBytes(m);
    if (tm.addPassesToEmitFile(pm, os, nullptr, ft))
      return createStringError(inconvertibleErrorCode(),
                               "the target cannot emit this kind of file");
    pm.run(m);
  }

  if (path == "-") {
    outs().write(buf.data(), buf.size());
    outs().flush();
    if (outs().has_error()) {
      outs().clear_error();
      return createStringError(inconvertibleErrorCode(),
                               "error writing to standard output");
    }
    return Error::success();
  }

  auto tmp = sys::fs::TempFile::create(path + ".tmp-%%%%%%",
                                       sys::fs::all_read | sys::fs::all_write);
  if (!tmp)
    return createStringError(inconvertibleErrorCode(),
                             "cannot write '" + path +
                                 "': " + toString(tmp.takeError()));
  {
    raw_fd_ostream out(tmp->FD, /*shouldClose=*/false);
    out.write(buf.data(), buf.size());
    out.flush();
    if (out.has_error()) {
      std::string msg = out.error().message();
      out.clear_error();
      consumeError(tmp->discard());
      return createStringError(inconvertibleErrorCode(),
                               "cannot write '" + path + "': " + msg);
    }
  }
  if (Error e = tmp->keep(path)) {
    std::string msg = toString(std::move(e));
    consumeError(tmp->discard());
    return createStringError(inconvertibleErrorCode(),
                             "cannot write '" + path + "': " + msg);
  }
  return Error::success();
}

} // namespace cnnc::codegen
