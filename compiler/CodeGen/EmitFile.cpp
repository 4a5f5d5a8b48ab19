//===- EmitFile.cpp - object / assembly / LLVM IR output -------------------===//
//
// The output is written to a temporary next to the destination and renamed
// over it, so a failed compile never leaves a partial file behind (standard
// output is buffered in memory first, for the same reason).
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

namespace {

Error produce(Module &m, TargetMachine &tm, FileKind kind, raw_pwrite_stream &os) {
  storeConstantsAsBytes(m, kind == FileKind::Object ? kObjectConstantBytes : kTextConstantBytes);
  if (kind == FileKind::LLVMText) {
    m.print(os, nullptr);
    return Error::success();
  }
  legacy::PassManager pm;
  CodeGenFileType ft = kind == FileKind::Object ? CodeGenFileType::ObjectFile
                                                : CodeGenFileType::AssemblyFile;
  if (m.getDataLayout() != tm.createDataLayout())
    m.setDataLayout(tm.createDataLayout());
  if (tm.addPassesToEmitFile(pm, os, nullptr, ft))
    return createStringError(inconvertibleErrorCode(),
                             "the target cannot emit this kind of file");
  pm.run(m);
  return Error::success();
}

} // namespace

Error emitFile(Module &m, TargetMachine &tm, FileKind kind,
               const std::string &path) {
  if (path == "-") {
    SmallString<0> buf;
    raw_svector_ostream os(buf);
    if (Error e = produce(m, tm, kind, os))
      return e;
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
    Error e = produce(m, tm, kind, out);
    out.flush();
    if (!e && out.has_error())
      e = createStringError(inconvertibleErrorCode(),
                            "cannot write '" + path + "': " + out.error().message());
    out.clear_error();
    if (e) {
      consumeError(tmp->discard());
      return e;
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
