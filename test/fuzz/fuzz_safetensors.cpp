//===- fuzz_safetensors.cpp - libFuzzer target: the safetensors reader ----===//
//
// Arbitrary bytes as a .safetensors file: readSafetensors must either return
// a WeightSet whose tensors hold exactly numElements(shape) values, or an
// error naming the file. Crashes, sanitizer reports and exits are bugs.
//
//===----------------------------------------------------------------------===//
#include "fuzz_file_target.h"

#include "Weights/Weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = cnnc_fuzz::writeScratch(data, size, ".safetensors");
  auto ws = cnnc::weights::readSafetensors(path);
  if (!ws) {
    std::string msg = llvm::toString(ws.takeError());
    if (msg.find(path) == std::string::npos) {
      fprintf(stderr, "error does not name the file: %s\n", msg.c_str());
      abort();
    }
    return 0;
  }
  for (const auto &[name, t] : ws->tensors)
    if (t.data.size() != uint64_t(cnnc::ir::numElements(t.shape))) {
      fprintf(stderr, "tensor '%s' has %zu values for its shape\n", name.c_str(),
              t.data.size());
      abort();
    }
  return 0;
}
