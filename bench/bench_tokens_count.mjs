// bench_tokens_count.mjs: the node half of bench_tokens_count.sh.
//   node bench/bench_tokens_count.mjs corpus <out file> <MB>   writes the mixed corpus
//   node bench/bench_tokens_count.mjs js <corpus> <encoding> [runs]   js-tiktoken baseline
// The corpus mixes what agents send (logs, source code, JSON, English prose, CJK, emoji)
// from a fixed seed so every run measures the same bytes.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'node', 'package.json'));

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ('the of and to in is that for it as with was on be by this are from at or an ' +
  'request response error timeout connection server client handler config value return ' +
  'function module package install build test failed passed warning deprecated memory ' +
  'token compression context agent proxy upstream retry latency throughput').split(' ');

function makeCorpus(mb) {
  const r = rng(42);
  const int = (n) => Math.floor(r() * n);
  const pick = (a) => a[int(a.length)];
  const parts = [];
  let size = 0;
  const push = (s) => { parts.push(s); size += Buffer.byteLength(s); };
  while (size < mb * 1e6) {
    const kind = int(10);
    if (kind < 3) {
      for (let k = 0; k < 50; k++)
        push(`2026-11-27T03:${String(int(60)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}.${int(1000)}Z ` +
          `${pick(['INFO', 'WARN', 'ERROR'])} [${pick(['api', 'db', 'worker'])}-${int(9)}] ${pick(WORDS)} ` +
          `${pick(WORDS)} id=${int(1e9).toString(16)} took ${int(5000)}ms path=/srv/app/${pick(WORDS)}.py:${int(900)}\n`);
    } else if (kind < 5) {
      for (let k = 0; k < 20; k++)
        push(`    def ${pick(WORDS)}_${pick(WORDS)}(self, ${pick(WORDS)}: int = ${int(100)}) -> dict:\n` +
          `        if not self.${pick(WORDS)}:\n            raise ValueError(f"bad {${pick(WORDS)}!r}")\n` +
          `        return {"${pick(WORDS)}": [${int(10)}, ${int(100)}], 'x': None}  # ${pick(WORDS)}\n`);
    } else if (kind < 7) {
      const rows = Array.from({ length: 20 }, (_, i) => ({ id: i + int(1e5), name: `${pick(WORDS)}-${int(999)}`,
        status: pick(['ok', 'failed', 'pending']), latency_ms: +(r() * 300).toFixed(2), tags: [pick(WORDS), pick(WORDS)] }));
      push(JSON.stringify(rows, null, kind === 5 ? 2 : 0) + '\n');
    } else if (kind < 9) {
      const words = Array.from({ length: 200 }, () => pick(WORDS));
      for (let i = 0; i < words.length; i += 12) words[i] = words[i][0].toUpperCase() + words[i].slice(1);
      push(words.join(' ').replace(/(\w+) (\w+) (\w+) (\w+) (\w+) (\w+) (\w+)/g, '$1 $2 $3, $4 $5 $6 $7.') + "\n\nIt's done; we'll see.\n");
    } else {
      let s = '';
      for (let i = 0; i < 300; i++) s += String.fromCodePoint(0x4e00 + int(0x5000)) + (i % 17 === 0 ? '，' : '') + (i % 41 === 0 ? '😀 ' : '');
      push(s + '\n');
    }
  }
  return parts.join('');
}

function benchJs(file, enc, runs) {
  const { Tiktoken } = require('js-tiktoken/lite');
  const text = fs.readFileSync(file, 'utf8');
  const bytes = Buffer.byteLength(text);
  let t0 = process.hrtime.bigint();
  const tk = new Tiktoken(require(`js-tiktoken/ranks/${enc}`));
  const load = Number(process.hrtime.bigint() - t0) / 1e6;
  const times = [];
  const cpu = [];
  let tokens = 0;
  for (let i = 0; i < runs; i++) {
    t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    tokens = tk.encode(text, [], []).length;
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const mb = bytes / 1e6;
  console.log(`js-tiktoken ${enc.padEnd(11)} bytes=${bytes} tokens=${tokens} load_ms=${load.toFixed(0)} ` +
    `encode_MBps best=${(mb / times[0]).toFixed(1)} median=${(mb / times[Math.floor(runs / 2)]).toFixed(1)} ` +
    `encode_MBps_cpu median=${(mb / cpu[Math.floor(runs / 2)]).toFixed(1)} ` +
    `(node ${process.version})`);
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'corpus') fs.writeFileSync(a, makeCorpus(Number(b ?? 8)));
else if (mode === 'js') benchJs(a, b, Number(c ?? 3));
else { console.error('usage: bench_tokens_count.mjs corpus <out> <MB> | js <corpus> <encoding> [runs]'); process.exit(2); }
