//===- SafetensorsRead.cpp - validating reader for .safetensors files -----===//
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON mapping tensor names to {dtype, shape, data_offsets} (plus an optional
// "__metadata__" string map), then the data section the offsets index. Every
// structural property is checked before any byte is trusted: header length,
// UTF-8, JSON syntax, duplicate keys (nlohmann keeps the last one silently, so
// a parser callback detects them), field types, dtypes, element-count
// overflow, offsets versus shapes, overlaps and holes in the data section.
// Floating-point tensors become float32; integer/bool tensors are skipped and
// remembered in WeightSet::skippedDtypes.
//
//===----------------------------------------------------------------------===//
#include "Weights/Weights.h"
#include "Weights/WeightsInternal.h"

#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MemoryBuffer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

using json = nlohmann::json;

namespace cnnc::weights {
namespace {

/// JSON text as the messages print lists: "[8, 0]", not "[8,0]".
std::string listText(const json &v) {
  if (!v.is_array())
    return v.dump();
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i)
    out += (i ? ", " : "") + listText(v[i]);
  return out + "]";
}

constexpr uint64_t kMaxHeaderBytes = 100u * 1000 * 1000;

enum class Conv { F32, F16, BF16, F64, Skip, Unsupported };

struct DtypeInfo {
  const char *name;
  unsigned size;
  Conv conv;
};

const DtypeInfo kDtypes[] = {
    {"F32", 4, Conv::F32},          {"F16", 2, Conv::F16},
    {"BF16", 2, Conv::BF16},        {"F64", 8, Conv::F64},
    {"I64", 8, Conv::Skip},         {"I32", 4, Conv::Skip},
    {"I16", 2, Conv::Skip},         {"I8", 1, Conv::Skip},
    {"U64", 8, Conv::Skip},         {"U32", 4, Conv::Skip},
    {"U16", 2, Conv::Skip},         {"U8", 1, Conv::Skip},
    {"BOOL", 1, Conv::Skip},        {"F8_E4M3", 1, Conv::Unsupported},
    {"F8_E5M2", 1, Conv::Unsupported},
};

const DtypeInfo *lookupDtype(const std::string &name) {
  for (const DtypeInfo &d : kDtypes)
    if (name == d.name)
      return &d;
  return nullptr;
}

/// A validated header entry.
struct Entry {
  std::string name;
  const DtypeInfo *dtype = nullptr;
  ir::Shape shape;
  uint64_t begin = 0, end = 0;
};

const char *jsonTypeName(const json &j) {
  switch (j.type()) {
  case json::value_t::null: return "null";
  case json::value_t::object: return "an object";
  case json::value_t::array: return "a list";
  case json::value_t::string: return "a string";
  case json::value_t::boolean: return "a boolean";
  case json::value_t::number_integer:
  case json::value_t::number_unsigned: return "an integer";
  case json::value_t::number_float: return "a float";
  default: return "an unexpected JSON value";
  }
}

/// A non-negative JSON integer, or nullopt (floats, negatives, others).
std::optional<uint64_t> asCount(const json &j) {
  if (j.is_number_unsigned())
    return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0)
    return uint64_t(j.get<int64_t>());
  return std::nullopt;
}

/// Parses the header, reporting the first key that appears twice in any
/// object (nlohmann would silently keep the last one).
llvm::Expected<json> parseHeader(llvm::StringRef file, llvm::StringRef text) {
  struct Level {
    std::set<std::string> keys;
    std::string lastKey;
  };
  std::vector<Level> stack;
  std::string duplicate;
  auto cb = [&](int, json::parse_event_t ev, json &parsed) {
    switch (ev) {
    case json::parse_event_t::object_start:
      stack.emplace_back();
      break;
    case json::parse_event_t::object_end:
      if (!stack.empty())
        stack.pop_back();
      break;
    case json::parse_event_t::key: {
      std::string k = parsed.get<std::string>();
      if (!stack.empty()) {
        if (!stack.back().keys.insert(k).second && duplicate.empty()) {
          if (stack.size() == 1)
            duplicate = "tensor '" + k + "' appears twice in the header";
          else
            duplicate = "tensor '" + stack.front().lastKey + "': field '" + k +
                        "' appears twice";
        }
        stack.back().lastKey = k;
      }
      break;
    }
    default:
      break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true);
  } catch (const json::exception &e) {
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
    if (size_t p = what.find("] "); p != std::string::npos && what[0] == '[')
      what = what.substr(p + 2);
    return fileError(file, "header is not valid JSON: " + what);
  }
  if (!duplicate.empty())
    return fileError(file, duplicate);
  return j;
}

llvm::Expected<Entry> parseEntry(llvm::StringRef file, const std::string &name,
                                 const json &v) {
  auto err = [&](const llvm::Twine &msg) {
    return fileError(file, "tensor '" + name + "': " + msg);
  };
  if (!v.is_object())
    return err(llvm::Twine("entry is ") + jsonTypeName(v) +
               ", expected an object with dtype, shape and data_offsets");
  for (const char *field : {"dtype", "shape", "data_offsets"})
    if (!v.contains(field))
      return err(llvm::Twine("missing field '") + field + "'");
  Entry e;
  e.name = name;
  const json &dt = v["dtype"];
  if (!dt.is_string())
    return err(llvm::Twine("dtype is ") + jsonTypeName(dt) +
               ", expected a string");
  std::string dtName = dt.get<std::string>();
  e.dtype = lookupDtype(dtName);
  if (!e.dtype)
    return err("unknown dtype '" + dtName + "'");
  if (e.dtype->conv == Conv::Unsupported)
    return err("dtype " + dtName +
               " is not supported (use F32, F16, BF16 or F64)");

  const json &sh = v["shape"];
  if (!sh.is_array())
    return err(llvm::Twine("shape is ") + jsonTypeName(sh) +
               ", expected a list of non-negative integers");
  uint64_t numel = 1;
  bool overflow = false;
  for (const json &d : sh) {
    std::optional<uint64_t> n = asCount(d);
    if (!n || *n > uint64_t(INT64_MAX))
      return err("shape " + d.dump() + " is not a non-negative integer");
    e.shape.push_back(int64_t(*n));
    overflow |= __builtin_mul_overflow(numel, *n, &numel);
  }
  uint64_t bytes = 0;
  if (overflow || numel > uint64_t(INT64_MAX) ||
      __builtin_mul_overflow(numel, uint64_t(e.dtype->size), &bytes))
    return err("shape " + shapeToList(e.shape) + " has too many elements");

  const json &off = v["data_offsets"];
  std::optional<uint64_t> b, en;
  if (off.is_array() && off.size() == 2) {
    b = asCount(off[0]);
    en = asCount(off[1]);
  }
  if (!b || !en)
    return err("data_offsets " + listText(off) +
               " is not a list of two non-negative integers");
  e.begin = *b;
  e.end = *en;
  if (e.begin > e.end)
    return err("data_offsets [" + llvm::Twine(e.begin) + ", " +
               llvm::Twine(e.end) + "] end before they begin");
  if (e.end - e.begin != bytes)
    return err("data_offsets [" + llvm::Twine(e.begin) + ", " +
               llvm::Twine(e.end) + "] but shape " + shapeToList(e.shape) +
               " of " + dtName + " needs " + llvm::Twine(bytes) + " bytes");
  return e;
}

/// Converts one validated tensor's bytes to float32.
Tensor convert(const Entry &e, const char *data) {
  Tensor t;
  t.shape = e.shape;
  size_t n = (e.end - e.begin) / e.dtype->size;
  t.data.resize(n);
  const char *p = data + e.begin;
  using namespace llvm::support;
  for (size_t i = 0; i < n; ++i) {
    switch (e.dtype->conv) {
    case Conv::F32: {
      uint32_t bits = endian::read32le(p + 4 * i);
      std::memcpy(&t.data[i], &bits, 4);
      break;
    }
    case Conv::F16:
      t.data[i] = halfToFloat(endian::read16le(p + 2 * i));
      break;
    case Conv::BF16:
      t.data[i] = bfloat16ToFloat(endian::read16le(p + 2 * i));
      break;
    case Conv::F64: {
      uint64_t bits = endian::read64le(p + 8 * i);
      double d;
      std::memcpy(&d, &bits, 8);
      t.data[i] = float(d);
      break;
    }
    default:
      break;
    }
  }
  return t;
}

} // namespace

llvm::Expected<WeightSet> readSafetensors(const std::string &path) {
  auto bufOr = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!bufOr)
    return fileError(path, "cannot read: " + bufOr.getError().message());
  llvm::StringRef buf = (*bufOr)->getBuffer();

  if (buf.size() < 8)
    return fileError(path, "file is " + llvm::Twine(buf.size()) +
                               " bytes, too short for the 8-byte header "
                               "length of a safetensors file");
  uint64_t headerLen = llvm::support::endian::read64le(buf.data());
  if (headerLen > kMaxHeaderBytes)
    return fileError(path, "header length " + llvm::Twine(headerLen) +
                               " is larger than the limit of " +
                               llvm::Twine(kMaxHeaderBytes) +
                               " bytes (not a safetensors file?)");
  if (headerLen > buf.size() - 8)
    return fileError(path, "header length " + llvm::Twine(headerLen) +
                               " goes beyond the end of the file (" +
                               llvm::Twine(buf.size()) + " bytes)");
  llvm::StringRef header = buf.substr(8, headerLen);
  const auto *hb = reinterpret_cast<const llvm::UTF8 *>(header.begin());
  if (!llvm::isLegalUTF8String(
          &hb, reinterpret_cast<const llvm::UTF8 *>(header.end())))
    return fileError(path, "header is not valid UTF-8 (at byte " +
                               llvm::Twine(8 + (reinterpret_cast<const char *>(
                                                    hb) -
                                                header.begin())) +
                               ")");
  auto jOr = parseHeader(path, header);
  if (!jOr)
    return jOr.takeError();
  const json &j = *jOr;
  if (!j.is_object())
    return fileError(path, llvm::Twine("header is ") + jsonTypeName(j) +
                               ", expected a JSON object");

  WeightSet ws;
  std::vector<Entry> entries;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      const json &m = it.value();
      if (!m.is_object())
        return fileError(path, llvm::Twine("__metadata__ is ") +
                                   jsonTypeName(m) + ", expected an object");
      for (auto mi = m.begin(); mi != m.end(); ++mi) {
        if (!mi.value().is_string())
          return fileError(path, "__metadata__ value of '" + mi.key() +
                                     "' is " + jsonTypeName(mi.value()) +
                                     ", expected a string");
        ws.metadata[mi.key()] = mi.value().get<std::string>();
      }
      continue;
    }
    auto eOr = parseEntry(path, it.key(), it.value());
    if (!eOr)
      return eOr.takeError();
    entries.push_back(std::move(*eOr));
  }

  // The data section must be covered exactly once: no overlaps, no holes.
  uint64_t dataSize = buf.size() - 8 - headerLen;
  std::vector<const Entry *> order;
  for (const Entry &e : entries)
    order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry *a, const Entry *b) {
    return std::tie(a->begin, a->end, a->name) <
           std::tie(b->begin, b->end, b->name);
  });
  auto range = [](const Entry *e) {
    return "[" + std::to_string(e->begin) + ", " + std::to_string(e->end) + "]";
  };
  uint64_t covered = 0;
  const Entry *prev = nullptr;
  for (const Entry *e : order) {
    if (e->end > dataSize)
      return fileError(path, "tensor '" + e->name + "': data_offsets " +
                                 range(e) +
                                 " go beyond the end of the data section (" +
                                 llvm::Twine(dataSize) + " bytes)");
    if (prev && e->begin < covered)
      return fileError(path, "tensors '" + prev->name + "' (bytes " +
                                 range(prev) + ") and '" + e->name +
                                 "' (bytes " + range(e) + ") overlap");
    if (e->begin > covered)
      return fileError(path, "data section has a hole: bytes [" +
                                 llvm::Twine(covered) + ", " +
                                 llvm::Twine(e->begin) +
                                 "] belong to no tensor");
    if (e->end > covered || !prev) {
      covered = e->end;
      prev = e;
    }
  }
  if (covered != dataSize)
    return fileError(path, "data section has a hole: bytes [" +
                               llvm::Twine(covered) + ", " +
                               llvm::Twine(dataSize) +
                               "] at the end of the file belong to no tensor");

  const char *data = buf.data() + 8 + headerLen;
  for (const Entry &e : entries) {
    if (e.dtype->conv == Conv::Skip)
      ws.skippedDtypes[e.name] = e.dtype->name;
    else
      ws.tensors[e.name] = convert(e, data);
  }
  return ws;
}

} // namespace cnnc::weights
