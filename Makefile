# Flowline — the README's two commands, and the pieces CI runs.
#   make demo   install dependencies, build, and run the sample (README)
#   make test   install dependencies, build, and run every test (README) —
#               under AddressSanitizer and UndefinedBehaviorSanitizer
BUILD      ?= build
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
FUZZ_SECONDS ?= 30

.PHONY: all deps build demo test fast-test fuzz bench format clean

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: deps build
	bash scripts/demo.sh $(BUILD)

# Every test, built once with AddressSanitizer and UndefinedBehaviorSanitizer
# (-O1 keeps them fast enough; -g1 keeps links small): one build serves both
# the test run and the sanitizer check.
TEST_BUILD ?= build-test
test: deps
	cmake -S . -B $(TEST_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFLOWLINE_SANITIZE=ON \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" $(CMAKE_ARGS)
	cmake --build $(TEST_BUILD) -j $(JOBS)
	cd $(TEST_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

# The same tests without sanitizers, against the regular build.
fast-test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Each libFuzzer target for FUZZ_SECONDS seconds, from its seed corpus.
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFLOWLINE_BUILD_FUZZERS=ON -DFLOWLINE_BUILD_TESTS=OFF
	cmake --build build-fuzz -j $(JOBS) --target fuzz_loader fuzz_pill
	bash scripts/run-fuzzers.sh build-fuzz $(FUZZ_SECONDS)

bench: deps
	cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLOWLINE_BUILD_BENCHMARKS=ON \
	  -DFLOWLINE_BUILD_TESTS=OFF
	cmake --build build-bench -j $(JOBS)
	bash bench/run.sh build-bench

format:
	find definitions dsl runtime interpreter tests bench include -name '*.h' -o -name '*.cc' \
	  | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-fuzz build-bench
