# Sanitizers and fuzzing (see test/fuzz/README.md and `make test-asan`,
# `make fuzz`).
#
#   CNNC_SANITIZE=address,undefined   instruments everything built here: the
#       compiler's libraries and driver, the runtime (static and shared), the
#       examples; the lit suite then links its C test drivers with the same
#       flags. libLLVM-19.so and the ANTLR runtime are prebuilt and not
#       instrumented. UBSan findings abort (-fno-sanitize-recover).
#   CNNC_FUZZ=ON   (clang only) adds coverage instrumentation for libFuzzer
#       to every library and builds the targets in test/fuzz.
set(CNNC_SANITIZE "" CACHE STRING
    "Sanitizers for compiler, runtime and tests, e.g. address,undefined")
option(CNNC_FUZZ "Build the libFuzzer targets in test/fuzz (clang only)" OFF)

set(CNNC_SANITIZE_FLAGS "")
if(CNNC_SANITIZE)
  set(CNNC_SANITIZE_FLAGS -fsanitize=${CNNC_SANITIZE} -fno-omit-frame-pointer
                          -fno-sanitize-recover=all)
  add_compile_options(${CNNC_SANITIZE_FLAGS})
  add_link_options(-fsanitize=${CNNC_SANITIZE})
  message(STATUS "cnnc: sanitizers ${CNNC_SANITIZE}")
endif()

if(CNNC_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang" OR NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CNNC_FUZZ=ON needs clang (libFuzzer): configure with "
                        "CC=clang-19 CXX=clang++-19")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
