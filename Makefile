# SparseLoom: the two commands a newcomer needs are `make demo` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)
# Debian's python3-torch (the python3 on PATH may be another Python without torch).
PYTHON ?= /usr/bin/python3
export LD_LIBRARY_PATH := /usr/lib/x86_64-linux-gnu/openblas-openmp:$(LD_LIBRARY_PATH)
export GLOG_minloglevel := 2
ZOOS ?= zoos

.PHONY: setup build test test-fast demo format format-check clean

setup:
	bash scripts/setup.sh

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Everything: fast unit tests, the zoo builder's tests and the end-to-end checks on built zoos.
test: build
	cd $(BUILD) && ctest --output-on-failure -j 1

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -L fast

demo: build
	bash scripts/demo.sh $(BUILD) $(ZOOS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD)
