# Thin wrapper over CMake; the two README commands are `make run` and `make test`.
.PHONY: all build run test fuzz clean

all: build

build:
	scripts/setup.sh
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$$(nproc)

# Exact OpenAI token counts need tiktoken's rank files; fetch them once (verified by SHA-256).
# Without network the proxy still runs and counts with the estimator (answers say which
# counter was used in x-headroom-token-counter).
run: build
	@./build/headroom tokens fetch >/dev/null 2>&1 || echo "note: tokenizer files not fetched; token counts fall back to the estimator"
	./build/headroom proxy $(ARGS)

test:
	scripts/test.sh

fuzz:
	scripts/fuzz.sh 300

clean:
	rm -rf build build-asan build-fuzz
