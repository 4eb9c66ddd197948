# Thin wrapper over CMake; the two README commands are `make run` and `make test`.
.PHONY: all build run test asan fuzz clean

all: build

build:
	scripts/setup.sh
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$$(nproc)

run: build
	./build/headroom proxy $(ARGS)

test:
	scripts/test.sh

fuzz:
	scripts/fuzz.sh 300

clean:
	rm -rf build build-asan build-fuzz
