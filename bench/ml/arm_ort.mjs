// arm_ort.mjs: the ONNX Runtime arms of the side-by-side ML memory benchmark (run.sh).
//
// One fresh Node process per arm: baseline (runtime imported, no session) -> create an
// InferenceSession on the int8 ONNX export of the same model -> N inferences over the
// shared ids file -> release the session, collect garbage, malloc_trim(0) through
// trim_addon.node (what the original's fix did on unload) -> report. Memory is read from
// /proc/self/status exactly as arm_ours.c reads it.
//
// usage: node --expose-gc arm_ort.mjs MODEL.onnx IDS.bin THREADS on|off TRIM_ADDON [minilm|kompress]
// kompress: inputs input_ids + attention_mask, output final_scores (ModernBERT + heads).
// "off" = enableCpuMemArena: false and enableMemPattern: false (the original's fix).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tests/node/package.json'));
const ort = require('onnxruntime-node');

const [modelPath, idsPath, threadsArg, arenaArg, trimAddon, kind] = process.argv.slice(2);
const KOMPRESS = kind === 'kompress';
if (!trimAddon || !['on', 'off'].includes(arenaArg)) {
  console.error('usage: node --expose-gc arm_ort.mjs MODEL.onnx IDS.bin THREADS on|off TRIM_ADDON');
  process.exit(2);
}
const threads = Number(threadsArg);
const arena = arenaArg === 'on';
const { trim } = require(path.resolve(trimAddon));

function status() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => {
    const m = s.match(new RegExp('^' + k + ':\\s+(\\d+)', 'm'));
    return m ? Number(m[1]) * 1024 : 0;
  };
  const t = s.match(/^Threads:\s+(\d+)/m);
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem'),
           hwm: kb('VmHWM'), threads: t ? Number(t[1]) : 0 };
}
const snap = (s) => ({ rss: s.rss, anon: s.anon, file: s.file, threads: s.threads });

function readIds(p) {
  const b = fs.readFileSync(p);
  const count = b.readUInt32LE(0);
  const seqs = [];
  let off = 4;
  for (let i = 0; i < count; i++) {
    const n = b.readUInt32LE(off);
    off += 4;
    const ids = new BigInt64Array(n);
    for (let j = 0; j < n; j++) ids[j] = BigInt(b.readInt32LE(off + 4 * j));
    off += 4 * n;
    seqs.push(ids);
  }
  return seqs;
}

function resetPeak() {
  try { fs.writeFileSync('/proc/self/clear_refs', '5'); } catch { /* VmHWM then spans the run */ }
}

const seqs = readIds(idsPath);
// Feeds built up front, so the loop allocates no more than ORT itself needs.
const feeds = seqs.map((ids) => {
  const n = ids.length;
  return {
    input_ids: new ort.Tensor('int64', ids, [1, n]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    ...(KOMPRESS ? {} : { token_type_ids: new ort.Tensor('int64', new BigInt64Array(n), [1, n]) }),
  };
});
global.gc();
await new Promise((r) => setTimeout(r, 50));
const base = status();

const t0 = performance.now();
let session = await ort.InferenceSession.create(modelPath, {
  executionProviders: ['cpu'],
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  enableCpuMemArena: arena,
  enableMemPattern: arena,
});
const loadMs = performance.now() - t0;
const loaded = status();
resetPeak();

const lat = [];
const cpu = []; // process CPU time per call: less sensitive than wall time to other jobs
let maxAnon = loaded.anon;
let first = null;
for (let i = 0; i < feeds.length; i++) {
  const c0 = process.cpuUsage();
  const a = performance.now();
  const out = await session.run(feeds[i]); // fetch-by-name in onnxruntime-node 1.22 returned the wrong output
  lat.push(performance.now() - a);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  if (i === 0) first = Array.from((KOMPRESS ? out.final_scores : out.sentence_embedding).data);
  const m = status();
  if (m.anon > maxAnon) maxAnon = m.anon;
}
const end = status();
const peakAnonHwm = end.hwm - end.file - end.shmem;
if (peakAnonHwm > maxAnon) maxAnon = peakAnonHwm;

await session.release();
session = null;
global.gc();
await new Promise((r) => setTimeout(r, 100));
global.gc();
const trimmed = trim();
const dropped = status();

const sorted = [...lat].sort((x, y) => x - y);
const mean = lat.reduce((x, y) => x + y, 0) / lat.length;
console.log(JSON.stringify({
  arm: arena ? 'ort-arena-on' : 'ort-arena-off', threads, inferences: lat.length,
  load_ms: Number(loadMs.toFixed(2)),
  baseline: snap(base), loaded: snap(loaded), dropped: snap(dropped),
  peak: { rss: end.hwm, anon: maxAnon },
  trim: trimmed ? 'released' : 'nothing_to_release',
  latency_ms: { mean, p50: sorted[Math.floor(sorted.length / 2)], p95: sorted[Math.floor(sorted.length * 0.95)] },
  cpu_ms: { mean: cpu.reduce((x, y) => x + y, 0) / cpu.length, p50: [...cpu].sort((x, y) => x - y)[Math.floor(cpu.length / 2)] },
  first,
}));
