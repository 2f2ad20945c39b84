# SparseLoom: the two commands a newcomer needs are `make demo` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)
# Debian's python3-torch (the python3 on PATH may be another Python without torch).
PYTHON ?= /usr/bin/python3
export LD_LIBRARY_PATH := /usr/lib/x86_64-linux-gnu/openblas-openmp:$(LD_LIBRARY_PATH)
export GLOG_minloglevel := 2
ZOOS ?= zoos

FUZZ_SECONDS ?= 30
SUMMARY = $(BUILD)/test-summary.txt

.PHONY: setup build test test-fast test-sanitize fuzz soak demo results format format-check clean

setup:
	bash scripts/setup.sh

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Everything: fast unit tests, the zoo builder's tests, the end-to-end checks on built zoos (the
# malformed-input corpus and a short soak among them), then the tests without libtorch under
# ASan+UBSan and TSan, and bounded fuzzing of the parsers (docs/reliability.md). Ends with a
# summary of what ran.
test: build
	@mkdir -p $(BUILD) && rm -f $(SUMMARY)
	cd $(BUILD) && ctest --output-on-failure -j 1
	@bash scripts/ctest_summary.sh $(BUILD) >>$(SUMMARY)
	bash scripts/sanitize.sh asan $(SUMMARY)
	bash scripts/sanitize.sh tsan $(SUMMARY)
	bash scripts/fuzz.sh $(FUZZ_SECONDS) $(SUMMARY)
	@echo "== make test: what ran" && cat $(SUMMARY)

# Sanitizer builds alone (build-asan, build-tsan), and fuzzing alone (build-fuzz, clang).
test-sanitize: setup
	bash scripts/sanitize.sh asan
	bash scripts/sanitize.sh tsan

fuzz: setup
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

# The soak test on a task file whose tables are fresh, e.g. the demo's (docs/reliability.md):
#   make soak TASKS=results/demo_tasks.json
TASKS ?= results/demo_tasks.json
soak: build
	bash scripts/soak.sh $(BUILD)/src/sparseloom $(TASKS) results/soak

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -L fast

demo: build
	bash scripts/demo.sh $(BUILD) $(ZOOS)

# The paper's comparisons by simulation, on every device profile and on this host (docs/results.md,
# CSV files and plots in docs/results/, committed with it), from the zoos and performance tables `make demo` made.
# First the accuracy ground truth of each zoo (every stitched variant on its whole validation
# set, docs/profiler.md; 5-30 minutes per demo zoo the first time, reused after), which the bench
# judges accuracy SLOs against. About 10 minutes more on the 2-core development machine.
results: build
	@test -f $(TASKS) || { echo "make results: no task file $(TASKS): run \`make demo\` first (it builds the zoos, profiles them and writes it)"; exit 1; }
	$(BUILD)/src/sparseloom truth --tasks $(TASKS)
	$(BUILD)/src/sparseloom bench --tasks $(TASKS) --out docs/results --doc docs/results.md \
	  --python $(PYTHON) --regenerate "make results"

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
