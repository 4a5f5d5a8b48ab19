//===- fuzz_npy.cpp - libFuzzer target: the .npy reader -------------------===//
//
// Arbitrary bytes as a .npy file: readNpy must either return a float32
// tensor with exactly numElements(shape) values, or an error naming the file.
// A successful read is written back and re-read, and must round-trip.
//
//===----------------------------------------------------------------------===//
#include "fuzz_file_target.h"

#include "Weights/Weights.h"

#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = cnnc_fuzz::writeScratch(data, size, ".npy");
  auto t = cnnc::weights::readNpy(path);
  if (!t) {
    std::string msg = llvm::toString(t.takeError());
    if (msg.find(path) == std::string::npos) {
      fprintf(stderr, "error does not name the file: %s\n", msg.c_str());
      abort();
    }
    return 0;
  }
  if (t->data.size() != uint64_t(cnnc::ir::numElements(t->shape))) {
    fprintf(stderr, "%zu values for the shape\n", t->data.size());
    abort();
  }
  // Round trip: what was read, written and read again is the same.
  const std::string out = path + ".out.npy";
  if (llvm::Error e = cnnc::weights::writeNpy(out, *t)) {
    // Only a shape too long for a version 1.0 header may fail to write.
    std::string msg = llvm::toString(std::move(e));
    if (msg.find("too long") != std::string::npos)
      return 0;
    fprintf(stderr, "writeNpy failed: %s\n", msg.c_str());
    abort();
  }
  auto back = cnnc::weights::readNpy(out);
  unlink(out.c_str());
  if (!back || back->shape != t->shape ||
      (!t->data.empty() &&
       memcmp(back->data.data(), t->data.data(), 4 * t->data.size()) != 0)) {
    if (!back)
      llvm::consumeError(back.takeError());
    fprintf(stderr, "a .npy tensor does not round-trip\n");
    abort();
  }
  return 0;
}
