// arm_ort_pair.mjs: the ONNX Runtime arms of the image-model memory benchmark
// (bench/images/ml_memory.sh): the same router + SigLIP pair, int8 exports of the same
// generated weights, the same questions and seeded pixels as arm_ours_pair.c; memory read
// from /proc/self/status the same way; after the run both sessions are released, garbage
// is collected and malloc_trim(0) runs (bench/ml/trim_addon.c). Latency as in
// arm_ours_pair.c: the pair's wall, and the encoder call alone as wall and process CPU time.
// usage: node --expose-gc arm_ort_pair.mjs ROUTER_DIR ROUTER.onnx VIT.onnx S N THREADS on|off TRIM_ADDON
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../../tests/node/lib/ml_reference.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tests/node/package.json'));
const ort = require('onnxruntime-node');
const [routerDir, routerOnnx, vitOnnx, sArg, nArg, threadsArg, arenaArg, trimAddon] = process.argv.slice(2);
const S = Number(sArg), N = Number(nArg), threads = Number(threadsArg), arena = arenaArg === 'on';
const { trim } = require(path.resolve(trimAddon));

function status() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number((s.match(new RegExp('^' + k + ':\\s+(\\d+)', 'm')) || [0, 0])[1]) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem'), hwm: kb('VmHWM'),
    threads: Number((s.match(/^Threads:\s+(\d+)/m) || [0, 0])[1]) };
}
const snap = (s) => ({ rss: s.rss, anon: s.anon, file: s.file, threads: s.threads });

const tok = await loadTokenizer(routerDir);
const qs = ['What is in this image?', 'Read the error message exactly.', 'Summarise the document in two lines.', 'Is the chart going up?'];
const big = (xs) => BigInt64Array.from(xs, (x) => BigInt(x));
const qFeeds = qs.map((q) => {
  const ids = tok.encode(q).ids;
  const n = ids.length;
  return { input_ids: new ort.Tensor('int64', big(ids), [1, n]),
    attention_mask: new ort.Tensor('int64', big(new Array(n).fill(1)), [1, n]),
    token_type_ids: new ort.Tensor('int64', big(new Array(n).fill(0)), [1, n]) };
});
let seed = 7;
const pixels = [];
for (let i = 0; i < N; i++) {
  const px = new Float32Array(3 * S * S);
  for (let k = 0; k < px.length; k++) {
    seed = (seed ^ (seed << 13)) >>> 0; seed = (seed ^ (seed >>> 17)) >>> 0; seed = (seed ^ (seed << 5)) >>> 0;
    px[k] = (seed % 2001) / 1000 - 1;
  }
  pixels.push(new ort.Tensor('float32', px, [1, 3, S, S]));
}
global.gc();
await new Promise((r) => setTimeout(r, 50));
const base = status();
const opts = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
  executionMode: 'sequential', graphOptimizationLevel: 'all', enableCpuMemArena: arena, enableMemPattern: arena };
const t0 = performance.now();
let router = await ort.InferenceSession.create(routerOnnx, opts);
let vit = await ort.InferenceSession.create(vitOnnx, opts);
const loadMs = performance.now() - t0;
const loaded = status();
try { fs.writeFileSync('/proc/self/clear_refs', '5'); } catch { /* VmHWM spans the run */ }
const lat = [], vitLat = [], vitCpu = [];
let first = null, maxAnon = loaded.anon;
for (let i = 0; i < N; i++) {
  const a = performance.now();
  const r = await router.run(qFeeds[i % 4]);
  const b = performance.now(), c0 = process.cpuUsage();
  const v = await vit.run({ pixel_values: pixels[i] });
  const c = process.cpuUsage(c0);
  vitCpu.push((c.user + c.system) / 1000);
  vitLat.push(performance.now() - b);
  lat.push(performance.now() - a);
  if (i === 0) first = [v.pooler_output.data[0], Array.from(r.logits.data)];
  maxAnon = Math.max(maxAnon, status().anon);
}
const end = status();
maxAnon = Math.max(maxAnon, end.hwm - end.file - end.shmem);
await router.release();
await vit.release();
router = vit = null;
global.gc();
await new Promise((r) => setTimeout(r, 100));
global.gc();
const trimmed = trim();
const dropped = status();
for (const xs of [lat, vitLat, vitCpu]) xs.sort((x, y) => x - y);
console.log(JSON.stringify({ arm: arena ? 'ort-arena-on' : 'ort-arena-off', threads, images: N,
  load_ms: Number(loadMs.toFixed(2)), baseline: snap(base), loaded: snap(loaded), dropped: snap(dropped),
  peak: { rss: end.hwm, anon: maxAnon }, trim: trimmed ? 'released' : 'nothing_to_release',
  latency_ms: { p50: lat[N >> 1], max: lat[N - 1] },
  encoder_ms: { p50: vitLat[N >> 1], cpu_p50: vitCpu[N >> 1] }, first }));
