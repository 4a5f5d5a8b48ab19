# cnnc quick start (README): `make demo` and `make test` on a fresh Debian
# bookworm machine as root. Both install what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all deps build demo test bench clean

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

bench: build
	CNNC_WITH_BENCH=1 bash scripts/install-deps.sh
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	/usr/bin/python3 bench/run_bench.py --cnnc $(BUILD)/bin/cnnc --build $(BUILD)

clean:
	rm -rf $(BUILD)
