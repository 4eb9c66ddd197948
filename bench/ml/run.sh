#!/usr/bin/env bash
# run.sh: the side-by-side ML memory benchmark (docs/benchmarks.md, "ML runtime memory" and
# "Kompress memory and speed"). Same random-weight model for every arm (tools/gen_model.py;
# ours imported with `headroom model import`, ONNX Runtime on the int8 export of
# tools/export_onnx.py), same ids, same thread count, each arm a fresh process.
#   bench/ml/run.sh [BUILD_DIR]        env: MODEL=minilm N=300 THREADS=1 SEED=7 ROUNDS=3
#   MODEL=kompress: ModernBERT-base shape with the token and span heads, sequences of
#   64-512 ids (N defaults to 200), then words/s of the whole compressor on prose
#   (SIZE=tiny: the test-sized model, for a quick check of the harness).
# BUILD_DIR must be a release build (default: build-bench-ml, configured here).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath -m "${1:-$src/build-bench-ml}")
MODEL=${MODEL:-minilm}
if [ "$MODEL" = kompress ]; then N=${N:-200}; arch=modernbert; size=${SIZE:-base}; else N=${N:-300}; arch=bert; size=minilm; fi
THREADS=${THREADS:-1}; SEED=${SEED:-7}; ROUNDS=${ROUNDS:-3}
work=$build/bench-ml-$MODEL-$size
py=/usr/bin/python3

[ -f "$build/CMakeCache.txt" ] || cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target headroom -j2 2>&1 | grep -v "GLOB mismatch" >/dev/null || true
mkdir -p "$work"

if [ ! -f "$work/$MODEL.hrm" ] || [ ! -f "$work/$MODEL/model_int8.onnx" ]; then
  "$py" "$src/tools/gen_model.py" --arch $arch --size $size --seed "$SEED" --out "$work/$MODEL" >/dev/null
  "$py" "$src/tools/export_onnx.py" --model "$work/$MODEL" --out "$work/$MODEL/model.onnx" \
        --int8-out "$work/$MODEL/model_int8.onnx" >/dev/null
  "$build/headroom" model import "$work/$MODEL" --out "$work/$MODEL.hrm" >/dev/null
fi

# Our arm links the same static libraries as the headroom binary; the ORT arms get a
# malloc_trim binding (what the original's fix called on unload).
cc -std=c17 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$src/src" "$src/bench/ml/arm_ours.c" \
   "$build/libhr_compress.a" "$build/libhr_ccr.a" "$build/libhr_ml.a" "$build/libhr_tokens.a" \
   "$build/libhr_json.a" "$build/libhr_sys.a" -lsqlite3 -lhiredis -lpthread -lm -o "$work/arm_ours"
cc -O2 -shared -fPIC -Wall -Wextra -Werror -DNODE_GYP_MODULE_NAME=hr_trim -I/usr/include/node \
   "$src/bench/ml/trim_addon.c" -o "$work/hr_trim.node"

echo "bench/ml: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), node $(node --version)"
node "$src/bench/ml/run.mjs" "$work" "$N" "$THREADS" "$SEED" "$ROUNDS" "$MODEL"
if [ "$MODEL" = kompress ]; then
  # words/s with real merges: the same weights' shape with a GPT-2-merges tokenizer laid out
  # as ModernBERT's (tools/gen_bpe_fixture.mjs), ~1.3 tokens per English word as the real one
  if [ ! -f "$work/kompress-r50k.hrm" ]; then
    node "$src/tools/gen_bpe_fixture.mjs" "$work/r50k-tok" >/dev/null
    "$py" "$src/tools/gen_model.py" --arch modernbert --size $size --seed "$SEED" \
          --tokenizer "$work/r50k-tok/tokenizer.json" --out "$work/kompress-r50k" >/dev/null
    "$build/headroom" model import "$work/kompress-r50k" --out "$work/kompress-r50k.hrm" >/dev/null
  fi
  node "$src/bench/ml/kompress_words.mjs" "$build/headroom" "$work/kompress-r50k.hrm" "$THREADS"
fi
