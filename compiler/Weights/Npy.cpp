//===- Npy.cpp - NumPy .npy float32 reader and writer ---------------------===//
//
// `cnnc run` exchanges inputs and outputs as .npy files. The reader accepts
// format versions 1.0, 2.0 and 3.0 with dtype '<f4' in C order only, parses
// the header's Python dict literal with a small hand-written parser, and
// checks that the data is exactly as long as the shape requires. The writer
// emits version 1.0 with the header padded to a 64-byte boundary, atomically.
//
//===----------------------------------------------------------------------===//
#include "Weights/Weights.h"
#include "Weights/WeightsInternal.h"

#include "llvm/Support/Endian.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cctype>
#include <cstring>
#include <map>
#include <optional>

namespace cnnc::weights {
namespace {

/// A value of the header dict: a string, a bool, or a tuple of integers.
struct PyValue {
  enum Kind { Str, Bool, Tuple } kind = Str;
  std::string str;
  bool b = false;
  std::vector<int64_t> ints;
};

/// Parser for the dict literal numpy writes, e.g.
/// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }
class HeaderParser {
public:
  explicit HeaderParser(llvm::StringRef s) : s(s) {}

  std::optional<std::map<std::string, PyValue>> parseDict() {
    std::map<std::string, PyValue> out;
    if (!eat('{'))
      return std::nullopt;
    while (!peek('}')) {
      std::optional<std::string> k = parseString();
      if (!k || !eat(':'))
        return std::nullopt;
      std::optional<PyValue> v = parseValue();
      if (!v || out.count(*k))
        return std::nullopt;
      out[*k] = std::move(*v);
      if (!eat(','))
        break;
    }
    if (!eat('}'))
      return std::nullopt;
    skipSpace();
    return pos == s.size() ? std::optional(std::move(out)) : std::nullopt;
  }

private:
  llvm::StringRef s;
  size_t pos = 0;

  void skipSpace() {
    while (pos < s.size() && std::isspace((unsigned char)s[pos]))
      ++pos;
  }
  bool peek(char c) {
    skipSpace();
    return pos < s.size() && s[pos] == c;
  }
  bool eat(char c) {
    if (!peek(c))
      return false;
    ++pos;
    return true;
  }
  std::optional<std::string> parseString() {
    skipSpace();
    if (pos >= s.size() || (s[pos] != '\'' && s[pos] != '"'))
      return std::nullopt;
    char q = s[pos++];
    size_t end = s.find(q, pos);
    if (end == llvm::StringRef::npos)
      return std::nullopt;
    std::string out = s.slice(pos, end).str();
    pos = end + 1;
    return out;
  }
  std::optional<int64_t> parseInt() {
    skipSpace();
    size_t start = pos;
    while (pos < s.size() && std::isdigit((unsigned char)s[pos]))
      ++pos;
    int64_t v;
    if (s.slice(start, pos).getAsInteger(10, v))
      return std::nullopt;
    if (pos < s.size() && (s[pos] == 'L')) // Python 2 longs
      ++pos;
    return v;
  }
  std::optional<PyValue> parseValue() {
    skipSpace();
    PyValue v;
    if (peek('\'') || peek('"')) {
      std::optional<std::string> str = parseString();
      if (!str)
        return std::nullopt;
      v.str = *str;
      return v;
    }
    if (s.substr(pos).starts_with("True") || s.substr(pos).starts_with("False")) {
      v.kind = PyValue::Bool;
      v.b = s[pos] == 'T';
      pos += v.b ? 4 : 5;
      return v;
    }
    if (eat('(')) {
      v.kind = PyValue::Tuple;
      while (!peek(')')) {
        std::optional<int64_t> n = parseInt();
        if (!n)
          return std::nullopt;
        v.ints.push_back(*n);
        if (!eat(','))
          break;
      }
      if (!eat(')'))
        return std::nullopt;
      return v;
    }
    return std::nullopt;
  }
};

std::string tupleString(const ir::Shape &s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

} // namespace

llvm::Expected<Tensor> readNpy(const std::string &path) {
  auto bufOr = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!bufOr)
    return fileError(path, "cannot read: " + bufOr.getError().message());
  llvm::StringRef buf = (*bufOr)->getBuffer();
  if (buf.size() < 10 || !buf.starts_with("\x93NUMPY"))
    return fileError(path, "not a .npy file (missing the \\x93NUMPY magic)");
  unsigned major = (unsigned char)buf[6], minor = (unsigned char)buf[7];
  uint64_t headerLen, headerStart;
  if (major == 1) {
    headerLen = llvm::support::endian::read16le(buf.data() + 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (buf.size() < 12)
      return fileError(path, "file ends inside the .npy header");
    headerLen = llvm::support::endian::read32le(buf.data() + 8);
    headerStart = 12;
  } else {
    return fileError(path, "unsupported .npy format version " +
                               llvm::Twine(major) + "." + llvm::Twine(minor));
  }
  if (headerLen > buf.size() - headerStart)
    return fileError(path, "file ends inside the .npy header");
  llvm::StringRef header = buf.substr(headerStart, headerLen);
  auto dict = HeaderParser(header.rtrim()).parseDict();
  if (!dict || !dict->count("descr") || !dict->count("fortran_order") ||
      !dict->count("shape") || (*dict)["descr"].kind != PyValue::Str ||
      (*dict)["fortran_order"].kind != PyValue::Bool ||
      (*dict)["shape"].kind != PyValue::Tuple)
    return fileError(path, "malformed .npy header: " + header.rtrim());
  const std::string &descr = (*dict)["descr"].str;
  if (descr != "<f4")
    return fileError(path, "dtype '" + descr +
                               "' is not supported (cnnc reads float32 "
                               "'<f4' arrays only)");
  if ((*dict)["fortran_order"].b)
    return fileError(path, "array is in Fortran order; cnnc reads C-order "
                           "arrays only (use numpy.ascontiguousarray)");
  Tensor t;
  t.shape = (*dict)["shape"].ints;
  uint64_t numel = 1;
  for (int64_t d : t.shape)
    if (__builtin_mul_overflow(numel, uint64_t(d), &numel) ||
        numel > (uint64_t(1) << 60))
      return fileError(path, "shape " + tupleString(t.shape) +
                                 " has too many elements");
  uint64_t have = buf.size() - headerStart - headerLen;
  if (have != numel * 4)
    return fileError(path, "data is " + llvm::Twine(have) +
                               " bytes but shape " + tupleString(t.shape) +
                               " of float32 needs " + llvm::Twine(numel * 4) +
                               " bytes");
  t.data.resize(numel);
  const char *p = buf.data() + headerStart + headerLen;
  for (uint64_t i = 0; i < numel; ++i) {
    uint32_t bits = llvm::support::endian::read32le(p + 4 * i);
    std::memcpy(&t.data[i], &bits, 4);
  }
  return t;
}

llvm::Error writeNpy(const std::string &path, const Tensor &t) {
  if (t.data.size() != uint64_t(ir::numElements(t.shape)))
    return fileError(path, "shape " + tupleString(t.shape) + " but " +
                               llvm::Twine(t.data.size()) + " values");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " +
                       tupleString(t.shape) + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 0xffff)
    return fileError(path, "shape too long for a version 1.0 .npy header");
  return writeFileAtomically(path, [&](llvm::raw_ostream &os) {
    os.write("\x93NUMPY\x01\x00", 8);
    char len[2];
    llvm::support::endian::write16le(len, uint16_t(header.size()));
    os.write(len, 2);
    os << header;
    for (float f : t.data) {
      char b[4];
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      llvm::support::endian::write32le(b, bits);
      os.write(b, 4);
    }
    return llvm::Error::success();
  });
}

} // namespace cnnc::weights
