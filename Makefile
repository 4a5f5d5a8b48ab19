# cnnc quick start (README): `make demo` and `make test` on a fresh Debian
# bookworm machine as root. Both install what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all deps build demo test bench clean fuzz fuzz-build fuzz-smoke test-asan test-san

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Summary of the seed model, then compile it with its bundled weights, link
# it into a C program with the runtime, and run it.
demo: build
	@echo "== cnnc examples/seed.cnn --summary"
	@$(BUILD)/bin/cnnc examples/seed.cnn --summary
	@echo
	@echo "== compiled examples/seed.cnn + examples/seed.safetensors -> seed.o, seed.h; linked examples/seed_demo.c"
	@$(BUILD)/examples/seed_demo

test: build
	cmake --build $(BUILD) --target check
	$(MAKE) fuzz-smoke
	$(MAKE) test-san

# Reliability (test/fuzz/README.md). Separate clang-19 build directories:
# $(FUZZ_BUILD) has the libFuzzer targets (ASan + UBSan), $(ASAN_BUILD) the
# whole project under ASan + UBSan for the lit suite.
FUZZ_BUILD ?= build-fuzz
ASAN_BUILD ?= build-asan
FUZZ_SMOKE_SECONDS ?= 60
FUZZ_SECONDS ?= 600
DIFF_COUNT ?= 3000
DIFF_SEED ?= 1
SAN_CMAKE = CC=clang-19 CXX=clang++-19 cmake -S . -G Ninja -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_C_FLAGS=-gline-tables-only -DCMAKE_CXX_FLAGS=-gline-tables-only \
	-DCNNC_SANITIZE=address,undefined
FUZZ_TARGETS = frontend safetensors npy

$(FUZZ_BUILD)/build.ninja: CMakeLists.txt
	$(SAN_CMAKE) -B $(FUZZ_BUILD) -DCNNC_FUZZ=ON

fuzz-build: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))

# A bounded run from the seed corpora (part of `make test`).
fuzz-smoke: fuzz-build
	test/fuzz/run_fuzz.sh $(FUZZ_BUILD)/fuzz $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

# Longer fuzzing, then thousands of random layer chains against PyTorch.
fuzz: fuzz-build build
	test/fuzz/run_fuzz.sh $(FUZZ_BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)
	/usr/bin/python3 test/random/random_diff.py --cnnc $(BUILD)/bin/cnnc \
		--count $(DIFF_COUNT) --seed $(DIFF_SEED) --layers ext --batch-per-process 20

# The whole lit suite against a compiler and runtime built with ASan + UBSan.
# LeakSanitizer is on; only the prebuilt libLLVM's and ANTLR runtime's static
# allocations (never freed) are suppressed, by test/fuzz/lsan.supp.
$(ASAN_BUILD)/build.ninja: CMakeLists.txt
	$(SAN_CMAKE) -B $(ASAN_BUILD)

# (The build runs the instrumented cnnc too, for the examples.)
LSAN_SUPP = $(CURDIR)/test/fuzz/lsan.supp
SAN_ENV = ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(LSAN_SUPP):print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1
test-asan: deps $(ASAN_BUILD)/build.ninja
	$(SAN_ENV) cmake --build $(ASAN_BUILD) -j $(JOBS)
	$(SAN_ENV) cmake --build $(ASAN_BUILD) --target check

# The sanitizer part of `make test` (CI): cnnc and the runtime are built in
# $(FUZZ_BUILD), which fuzz-smoke has already configured with ASan + UBSan and
# in which the grammar, front end, elaborator, IR and weights libraries are
# already built for the fuzzers - only CodeGen, the passes, the driver and
# the runtime are compiled on top (a second full sanitizer build in
# $(ASAN_BUILD) would redo all of it). The front-end, diagnostics,
# elaborator, weights and reliability directories and a few code generation
# and PyTorch oracle tests then run against it, LeakSanitizer on. Bounded:
# $(SAN_LIT_TIMEOUT) s per test; on 2 cores the build adds ~8 min and the
# subset ~4 min to `make test` (measurements in test/fuzz/README.md).
LIT ?= /usr/lib/llvm-19/build/utils/lit/lit.py
SAN_LIT_TIMEOUT ?= 600
SAN_LIT_TESTS ?= Frontend Diagnostics Elaborate Summary Weights Reliability IR \
	Driver CodeGen/link-c-program.test CodeGen/emit-obj.test CodeGen/header.test \
	oracle/summary.test oracle/run-batch1.test
test-san: fuzz-build
	$(SAN_ENV) cmake --build $(FUZZ_BUILD) -j $(JOBS) --target cnnc cnnrt_static cnnrt
	$(SAN_ENV) /usr/bin/python3 $(LIT) -sv --timeout=$(SAN_LIT_TIMEOUT) \
		$(addprefix $(FUZZ_BUILD)/test/,$(SAN_LIT_TESTS))

bench: build
	CNNC_WITH_BENCH=1 bash scripts/install-deps.sh
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	/usr/bin/python3 bench/run_bench.py --cnnc $(BUILD)/bin/cnnc --build $(BUILD)

clean:
	rm -rf $(BUILD)
