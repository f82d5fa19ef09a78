# Thin wrapper over CMake. The two commands the README promises:
#   make run   — install what is missing, build, start agentanycastd with its defaults
#   make test  — install what is missing, build, run every test (unit, integration, interop)
BUILD ?= build
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local
DESTDIR ?=
FUZZ_SECONDS ?= 60
ARGS ?=

.PHONY: all deps build run test test-unit test-sanitize fuzz bench install clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	$(BUILD)/agentanycastd $(ARGS)

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

# Sanitizer build (ASan + UBSan): unit tests and fuzz replays, plus integration tests.
test-sanitize: deps
	cmake -S . -B build-asan -DAA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) -L 'unit|integration|interop'

# libFuzzer: every fuzz/fuzz_*.c for FUZZ_SECONDS each, seeded from fuzz/corpus/<name>.
fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DAA_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-fuzz -j $(JOBS)
	scripts/run-fuzz build-fuzz $(FUZZ_SECONDS)

bench: deps build
	bench/run

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
