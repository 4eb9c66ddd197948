// kompress_words.mjs: words/s of the whole Kompress compressor on prose (run.sh, with
// MODEL=kompress): split, must-keeps, byte-level BPE of every word, chunks, encoder +
// heads, keep rule, lines written back, marker; one `headroom kompress` process (model load
// and unload included: lazy mmap, so they are a few ms). Reports words, chunks, tokens per
// word, wall time, words/s and the share of words kept, for WORDS words of seeded prose.
//
// usage: node kompress_words.mjs HEADROOM_BIN MODEL.hrm THREADS [WORDS]
import { spawnSync } from 'node:child_process';

const [bin, model, threads, wordsArg] = process.argv.slice(2);
const WORDS = Number(wordsArg || 5000);

let s = 11;
const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (a) => a[Math.floor(rnd() * a.length)];
const vocab = ('the a of to and in that is for it with as was on be by this are or from at an which but not have ' +
  'has had were can all their there been if more when will would who so no out up into than them only other new some ' +
  'time could these two may then first any like our over such most after also made many before must through back ' +
  'years where much your way well down should because each just those people how too little state good very make ' +
  'world still own see men work long get here between both life being under never day same another know while last ' +
  'might us great old year off come since against go came right used take three server request memory option default ' +
  'release cache worker connection configured value limit summary behaviour package installed upgraded removed').split(' ');
const lines = [];
let n = 0;
while (n < WORDS) {
  const k = 8 + Math.floor(rnd() * 10);
  const ws = Array.from({ length: k }, () => pick(vocab));
  if (rnd() < 0.15) ws.push(pick(['--force', 'v2.4.1', '/etc/apt/sources.list', 'ERROR', 'libc6:amd64', '1024']));
  lines.push((rnd() < 0.3 ? '    ' : '') + ws.join(' ') + (rnd() < 0.5 ? '.' : ','));
  n += ws.length;
}
const text = lines.join('\n') + '\n';
const env = { ...process.env, HEADROOM_LOG_LEVEL: 'warn' };

// wall time around the process; its CPU time (user + system) from GNU time
const t0 = process.hrtime.bigint();
const r = spawnSync('/usr/bin/time', ['-f', 'cpu_s=%U %S', bin, 'kompress', '--model', model, '--threads', threads],
  { input: text, env, maxBuffer: 1 << 26 });
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const cpu = (r.stderr.toString().match(/cpu_s=([\d.]+) ([\d.]+)/) || []).slice(1).map(Number);
const cpuMs = 1000 * (cpu[0] + cpu[1]);
if (r.status !== 0) throw new Error(`headroom kompress exited ${r.status}: ${r.stderr}`);
const m = r.stderr.toString().match(/kompress: (\d+) words -> (\d+)/);
const sc = spawnSync(bin, ['kompress', '--model', model, '--threads', threads, '--scores'], { input: text, env, maxBuffer: 1 << 26 });
const scores = JSON.parse(sc.stdout.toString());
const words = m ? Number(m[1]) : scores.words;
console.log(`\nWhole compressor on prose: ${words} words in ${lines.length} lines (${text.length} bytes), ` +
  `${scores.chunks} chunks, ${threads} thread(s): ${(ms / 1000).toFixed(2)} s wall = ${(words / (ms / 1000)).toFixed(0)} words/s, ` +
  `${(ms / scores.chunks).toFixed(0)} ms per chunk; CPU ${(cpuMs / 1000).toFixed(2)} s = ${(words / (cpuMs / 1000)).toFixed(0)} words per CPU-second; kept ${m ? (100 * Number(m[2]) / words).toFixed(1) : '?'}% of words ` +
  `(random weights: the share says nothing about quality); output ${r.stdout.length} bytes.`);
