#!/usr/bin/env bash
# ml_memory.sh: memory and latency of the image-model pair (technique router = a MiniLM-
# shaped BERT classifier, image encoder = a SigLIP-base-shaped vision tower), ours vs ONNX
# Runtime with the CPU arena on and off, on the same generated weights (tools/gen_model.py;
# ours imported with `headroom model import`, ORT on the int8 exports of
# tools/export_onnx.py). Each arm is a fresh process; one image = one router call + one
# encoder call.   bench/images/ml_memory.sh [BUILD_DIR]     env: N=20 THREADS=1
#   OURS_BASELINE_BUILD=DIR: also run ours linked from an earlier commit's release build
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath -m "${1:-$src/build}")
N=${N:-20}; THREADS=${THREADS:-1}
work=$build/bench-images-ml
py=/usr/bin/python3
mkdir -p "$work"
if [ ! -f "$work/router.hrm" ] || [ ! -f "$work/router/model_int8.onnx" ]; then
  "$py" "$src/tools/gen_model.py" --size minilm --seed 11 --head classifier --out "$work/router" >/dev/null
  "$py" "$src/tools/export_onnx.py" --model "$work/router" --out "$work/router/model.onnx" \
        --int8-out "$work/router/model_int8.onnx" >/dev/null
  "$build/headroom" model import "$work/router" --out "$work/router.hrm" >/dev/null
fi
if [ ! -f "$work/siglip/model_int8.onnx" ]; then
  "$py" "$src/tools/gen_model.py" --arch siglip --size base --seed 11 --out "$work/siglip" >/dev/null
  "$py" "$src/tools/export_onnx.py" --model "$work/siglip" --out "$work/siglip/model.onnx" \
        --int8-out "$work/siglip/model_int8.onnx" >/dev/null
fi
# imported on every run: the file this build writes (cheap next to the arms)
"$build/headroom" model import "$work/siglip" --out "$work/vit.hrm" >/dev/null
cc -std=c17 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$src/src" "$src/bench/images/arm_ours_pair.c" \
   "$build/libhr_ml.a" "$build/libhr_json.a" "$build/libhr_sys.a" -lpthread -lm -o "$work/arm_ours_pair"
# OURS_BASELINE_BUILD=DIR: a release build of an earlier commit (its static libraries, this
# tree's arm_ours_pair.c); its arm ("ours-baseline") runs in the same session as ours, on
# model files imported by that build's own headroom (the file format may have moved on:
# version 3 adds weight panels an older reader refuses).
if [ -n "${OURS_BASELINE_BUILD:-}" ]; then
  b=$(realpath "$OURS_BASELINE_BUILD")
  cc -std=c17 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$src/src" "$src/bench/images/arm_ours_pair.c" \
     "$b/libhr_ml.a" "$b/libhr_json.a" "$b/libhr_sys.a" -lpthread -lm -o "$work/arm_ours_pair_baseline"
  "$b/headroom" model import "$work/router" --out "$work/router.baseline.hrm" >/dev/null
  "$b/headroom" model import "$work/siglip" --out "$work/vit.baseline.hrm" >/dev/null
fi
cc -O2 -shared -fPIC -Wall -Wextra -Werror -DNODE_GYP_MODULE_NAME=hr_trim -I/usr/include/node \
   "$src/bench/ml/trim_addon.c" -o "$work/hr_trim.node"
echo "bench/images/ml_memory: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, N=$N images, threads $THREADS, load $(cut -d' ' -f1-3 /proc/loadavg)"
for arena in on off; do
  node --expose-gc "$src/bench/images/arm_ort_pair.mjs" "$work/router" "$work/router/model_int8.onnx" \
       "$work/siglip/model_int8.onnx" 224 "$N" "$THREADS" "$arena" "$work/hr_trim.node"
done
if [ -n "${OURS_BASELINE_BUILD:-}" ]; then
  "$work/arm_ours_pair_baseline" "$work/router.baseline.hrm" "$work/vit.baseline.hrm" "$N" "$THREADS" |
    sed 's/"arm":"ours"/"arm":"ours-baseline"/'
fi
"$work/arm_ours_pair" "$work/router.hrm" "$work/vit.hrm" "$N" "$THREADS"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
