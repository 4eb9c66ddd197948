// bench_corpus.mjs: savings on the real tool-output corpus (tests/corpus), per sample and in
// total, for one or more headroom binaries side by side in the same run (a baseline build of
// main and the build under test). Each sample goes through `headroom compress` as an
// Anthropic request (question, tool call, tool_result), exactly as the corpus test sends it.
//
// Per sample and binary: exact o200k_base tokens of the tool output before and after, for
// the sample's main question (js-tiktoken, the reference tokenizer), the facts every question
// asked of it needs (each question compressed on its own) visible in the
// output / only back through `headroom retrieve HASH --query QUESTION` / lost, and
// throughput: MB of tool output per second, from the fastest of --runs POST /v1/compress
// round trips on a running proxy of that binary (in-memory CCR store; the time includes
// parsing and writing the request JSON and loopback HTTP, so it is a lower bound).
//
//   node bench/corpus/bench_corpus.mjs --bin build/headroom [--bin /path/to/baseline] [--runs 5]
// Prints a markdown table per binary and a JSON summary line per binary.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCorpus, buildRequest, compressSample, checkFacts, questionsOf, askedAs } from '../../tests/node/lib/corpus.mjs';
import { startProxy } from '../../tests/node/lib/proxy.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.resolve(here, '../../tests/node/package.json'));
const { getEncoding } = require('js-tiktoken');
const enc = getEncoding('o200k_base');

function parseArgs(argv) {
  const a = { bins: [], runs: 5 };
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--bin') a.bins.push(argv[++i]);
    else if (argv[i] === '--runs') a.runs = Number(argv[++i]);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (!a.bins.length) a.bins.push(path.resolve(here, '../../build/headroom'));
  return a;
}

/** Fastest of `runs` POST /v1/compress round trips (ms) for this request on a running proxy.
 * The "config" override (the default min_bytes) gives every request a one-off pipeline, so no session cache replays
 * an earlier answer: each run really compresses. */
async function fastestRun(url, req, runs) {
  const body = JSON.stringify({ messages: req.messages, model: req.model, config: { min_bytes: 512 } });
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = await fetch(`${url}/v1/compress`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await r.arrayBuffer();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 200) throw new Error(`/v1/compress: ${r.status}`);
    best = Math.min(best, ms);
  }
  return best;
}

async function benchBinary(bin, samples, runs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-bench-corpus-'));
  const proxy = await startProxy({ bin, args: ['--ccr-backend', 'memory'] });
  const rows = [];
  try {
    for (const s of samples) {
      const out = compressSample(bin, s, 'anthropic', dir);
      /* tokens and speed for the main question; facts for every question asked of it */
      const facts = questionsOf(s).flatMap((q, i) => {
        const asked = askedAs(s, q);
        return checkFacts(bin, asked, i ? compressSample(bin, asked, 'anthropic', dir) : out, dir);
      });
      const ms = await fastestRun(proxy.url, buildRequest(s, 'anthropic'), runs);
      rows.push({
        name: s.name, bytes: s.bytes.length,
        before: enc.encode(s.text).length, after: enc.encode(out).length,
        visible: facts.filter((f) => f.where === 'visible').length,
        retrieve: facts.filter((f) => f.where === 'retrieve').length,
        lost: facts.filter((f) => f.where === 'lost').length,
        ms,
      });
    }
  } finally {
    await proxy.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { rows };
}

const pct = (b, a) => (b ? (100 * (b - a) / b).toFixed(1) : '0.0');
const mbs = (bytes, ms) => (bytes / 1e6 / (ms / 1e3)).toFixed(1);

function report(bin, { rows }) {
  console.log(`\n### ${bin}\n`);
  console.log('| sample | KB | tokens before | tokens after | saved | facts visible / retrieve / lost | MB/s |');
  console.log('|---|---:|---:|---:|---:|---|---:|');
  const t = { bytes: 0, before: 0, after: 0, visible: 0, retrieve: 0, lost: 0, ms: 0 };
  for (const r of rows) {
    console.log(`| ${r.name} | ${(r.bytes / 1024).toFixed(0)} | ${r.before} | ${r.after} | ${pct(r.before, r.after)}% | ${r.visible} / ${r.retrieve} / ${r.lost} | ${mbs(r.bytes, r.ms)} |`);
    for (const k of Object.keys(t)) t[k] += r[k];
  }
  console.log(`| **total** | ${(t.bytes / 1024).toFixed(0)} | ${t.before} | ${t.after} | ${pct(t.before, t.after)}% | ${t.visible} / ${t.retrieve} / ${t.lost} | ${mbs(t.bytes, t.ms)} |`);
  console.log(JSON.stringify({ bin, tokens_before: t.before, tokens_after: t.after, saved_pct: Number(pct(t.before, t.after)), facts_visible: t.visible, facts_retrieve: t.retrieve, facts_lost: t.lost, mb_per_s: Number(mbs(t.bytes, t.ms)) }));
}

const args = parseArgs(process.argv);
const samples = loadCorpus();
console.log(`corpus: ${samples.length} samples, ${(samples.reduce((n, s) => n + s.bytes.length, 0) / 1e6).toFixed(2)} MB; tokens: o200k_base (js-tiktoken)`);
for (const bin of args.bins) report(bin, await benchBinary(bin, samples, args.runs));
