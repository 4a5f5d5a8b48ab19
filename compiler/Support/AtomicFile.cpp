//===- AtomicFile.cpp - write-to-temporary-then-rename file output --------===//
//
// Every file cnnc writes (objects, headers, dumps, .npy, safetensors) goes
// through here, so an error or a crash part way never leaves a truncated file
// at the destination: data goes to a unique temporary in the destination's
// directory (same file system, so the rename is atomic) and is renamed over
// the destination only after it was written and closed successfully.
//
//===----------------------------------------------------------------------===//
#include "Support/AtomicFile.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

namespace cnnc {

llvm::Error fileError(llvm::StringRef file, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 (file + ": " + message).str());
}

llvm::Error writeFileAtomically(
    const std::string &path,
    const std::function<llvm::Error(llvm::raw_ostream &)> &write) {
  llvm::SmallString<256> model(path);
  model += ".tmp-%%%%%%%%";
  int fd = -1;
  llvm::SmallString<256> tmp;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(model, fd, tmp))
    return fileError(path, "cannot create a temporary file: " + ec.message());

  llvm::Error err = llvm::Error::success();
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    err = write(os);
    os.close();
    if (!err && os.has_error())
      err = fileError(path, "cannot write: " + os.error().message());
    os.clear_error();
  }
  if (!err)
    if (std::error_code ec = llvm::sys::fs::rename(tmp, path))
      err = fileError(path, "cannot rename the temporary file into place: " +
                                ec.message());
  if (err)
    llvm::sys::fs::remove(tmp);
  return err;
}

} // namespace cnnc
