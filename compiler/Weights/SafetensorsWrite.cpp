//===- SafetensorsWrite.cpp - float32 safetensors writer ------------------===//
//
// Writes a WeightSet as a safetensors file the way the Python `safetensors`
// package does: tensors in sorted key order, packed back to back, header JSON
// padded with spaces to a multiple of 8 bytes, "__metadata__" kept when
// present. The file is written atomically (temporary + rename).
//
//===----------------------------------------------------------------------===//
#include "Weights/Weights.h"
#include "Weights/WeightsInternal.h"

#include "llvm/Support/Endian.h"

#include <nlohmann/json.hpp>

namespace cnnc::weights {

llvm::Error writeSafetensors(const std::string &path, const WeightSet &ws) {
  nlohmann::json header = nlohmann::json::object();
  if (!ws.metadata.empty())
    header["__metadata__"] = ws.metadata;
  uint64_t offset = 0;
  for (const auto &[key, t] : ws.tensors) {
    if (key == "__metadata__")
      return fileError(path, "'__metadata__' cannot be a tensor name");
    if (t.data.size() != uint64_t(ir::numElements(t.shape)))
      return fileError(path, "tensor '" + key + "': shape " +
                                 shapeToList(t.shape) + " but " +
                                 std::to_string(t.data.size()) + " values");
    uint64_t bytes = 4 * uint64_t(t.data.size());
    header[key] = {{"dtype", "F32"},
                   {"shape", t.shape},
                   {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  return writeFileAtomically(path, [&](llvm::raw_ostream &os) {
    char len[8];
    llvm::support::endian::write64le(len, text.size());
    os.write(len, 8);
    os << text;
    for (const auto &[key, t] : ws.tensors) {
      for (float f : t.data) {
        char b[4];
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        llvm::support::endian::write32le(b, bits);
        os.write(b, 4);
      }
    }
    return llvm::Error::success();
  });
}

} // namespace cnnc::weights
