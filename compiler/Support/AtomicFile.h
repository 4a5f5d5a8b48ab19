//===- AtomicFile.h - outputs that appear whole or not at all -------------===//
#ifndef CNNC_SUPPORT_ATOMICFILE_H
#define CNNC_SUPPORT_ATOMICFILE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <string>

namespace cnnc {

/// Calls write() on a temporary file next to path and renames it over path
/// only if everything succeeded; otherwise removes it. "-" is not handled
/// here (callers print to stdout themselves).
llvm::Error writeFileAtomically(
    const std::string &path,
    const std::function<llvm::Error(llvm::raw_ostream &)> &write);

/// An llvm::Error reading "<file>: <message>".
llvm::Error fileError(llvm::StringRef file, const llvm::Twine &message);

} // namespace cnnc

#endif
