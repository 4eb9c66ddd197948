# Convenience targets for machines that already have make. The README's commands are the
# bash entry points (scripts/run.sh, scripts/test.sh), which need no make: a bare Debian 12
# has none until scripts/setup.sh installs build-essential.
.PHONY: all build run test fuzz clean

all: build

build:
	scripts/setup.sh
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$$(nproc)

run:
	scripts/run.sh $(ARGS)

test:
	scripts/test.sh

fuzz:
	scripts/fuzz.sh 300

clean:
	rm -rf build build-asan build-fuzz
