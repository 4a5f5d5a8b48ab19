# lit configuration for cnnc's test suite.
#
# One test per file: .cnn files carry their own RUN lines, .test files drive
# tools (oracle comparisons against PyTorch, weight-file errors, ...).
# Substitutions:
#   %cnnc     the compiler under test
#   %python   Debian's Python, the only one with torch
#   %tools    the repository's tools/ directory (PyTorch-side helpers)
#   %srcroot  the repository root
#   %builddir the CMake build directory
#   %cc       the C compiler used to link example programs
#   %rtlib    the static runtime library, %rtinc its include directory
#   %exitcode N CMD...  runs CMD, succeeds only if it exits with status N
#             (`not` accepts any failure, a crash or exit 70 included)
import os
import lit.formats

config.name = "cnnc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".cnn", ".test"]
config.excludes = ["Inputs", "models", "fuzz", "CMakeLists.txt", "README.md"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.cnnc_obj_root, "test")

llvm_bin = "/usr/lib/llvm-19/bin"
config.environment["PATH"] = os.pathsep.join(
    [llvm_bin, os.path.dirname(config.cnnc_path), config.environment.get("PATH", "")])
# Diagnostics must not depend on the terminal or the locale.
config.environment["LC_ALL"] = "C.UTF-8"
# The runtime's thread-pool default (runtime/include/cnnrt.h); one thread
# unless the caller says otherwise, so parallel tests do not oversubscribe.
config.environment["CNNRT_NUM_THREADS"] = os.environ.get(
    "CNNRT_NUM_THREADS", os.environ.get("CNNC_THREADS", "1"))

src_root = os.path.dirname(config.test_source_root)
config.substitutions.append(("%cnnc", config.cnnc_path))
config.substitutions.append(("%builddir", config.cnnc_obj_root))
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%tools", os.path.join(src_root, "tools")))
config.substitutions.append(("%srcroot", src_root))
config.substitutions.append(("%cc", getattr(config, "cnnc_cc", "cc")))
# A build with CNNC_SANITIZE (make test-asan): `REQUIRES: !sanitizers` or
# `UNSUPPORTED: sanitizers` for tests that cannot run instrumented.
if getattr(config, "cnnc_sanitize", ""):
    config.available_features.add("sanitizers")
    if "address" in config.cnnc_sanitize.split(","):
        # LeakSanitizer comes with ASan: `REQUIRES: asan` for leak tests.
        config.available_features.add("asan")
        # Leaks are checked, except in the prebuilt libLLVM and ANTLR
        # runtime (test/fuzz/lsan.supp); explicit settings win.
        asan = config.environment.get("ASAN_OPTIONS", "")
        if "detect_leaks" not in asan:
            config.environment["ASAN_OPTIONS"] = ":".join(
                filter(None, [asan, "detect_leaks=1"]))
        lsan = config.environment.get("LSAN_OPTIONS", "")
        if "suppressions" not in lsan:
            config.environment["LSAN_OPTIONS"] = ":".join(filter(None, [
                lsan, "suppressions=" + os.path.join(src_root, "test", "fuzz", "lsan.supp"),
                "print_suppressions=0"]))
config.substitutions.append(("%rtlib", config.cnnrt_static))
config.substitutions.append(
    ("%exitcode", "/usr/bin/python3 " +
     os.path.join(config.test_source_root, "Inputs", "exitcode.py")))
config.substitutions.append(("%rtinc", os.path.join(src_root, "runtime", "include")))

# Host ISA features, for tests that execute code compiled for a given
# --target-cpu (REQUIRES: host-avx512f) or check the refusal to run it.
try:
    with open("/proc/cpuinfo") as f:
        flags = next((l.split(":", 1)[1].split() for l in f
                      if l.startswith("flags")), [])
except OSError:
    flags = []
for flag in ("avx2", "fma", "avx512f"):
    if flag in flags:
        config.available_features.add("host-" + flag)
