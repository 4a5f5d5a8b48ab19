//===- fuzz_file_target.h - run a path-based reader on fuzzer bytes -------===//
//
// The weight readers take a path (they map the file), so the fuzz targets
// write each input to a per-process scratch file and read it back. The file
// lives in $TMPDIR (default /tmp) and is removed at exit.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_FUZZ_FILE_TARGET_H
#define CNNC_FUZZ_FILE_TARGET_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace cnnc_fuzz {

inline const std::string &scratchPath(const char *suffix) {
  static const std::string path = [&] {
    const char *dir = getenv("TMPDIR");
    std::string p = std::string(dir && *dir ? dir : "/tmp") + "/cnnc-fuzz-" +
                    std::to_string(getpid()) + suffix;
    static std::string forAtexit;
    forAtexit = p;
    atexit([] { unlink(forAtexit.c_str()); });
    return p;
  }();
  return path;
}

inline const std::string &writeScratch(const uint8_t *data, size_t size,
                                       const char *suffix) {
  const std::string &path = scratchPath(suffix);
  FILE *f = fopen(path.c_str(), "wb");
  if (!f) {
    perror(path.c_str());
    abort();
  }
  if (size && fwrite(data, 1, size, f) != size) {
    perror(path.c_str());
    abort();
  }
  fclose(f);
  return path;
}

} // namespace cnnc_fuzz

#endif
