// bench_ml_wordpiece.mjs: WordPiece tokenization throughput, headroom's C tokenizer vs
// @huggingface/tokenizers 0.2.0 (the JS reference), same vocabulary (tools/gen_model.py
// --size minilm, 30,522 tokens), same texts (the ml test corpus generator, seed 5), same
// truncation (256 ids), same run. Each arm tokenizes the corpus RUNS times; the id sums
// must match (both arms produced the same ids).
//   node bench/bench_ml_wordpiece.mjs [build dir] [texts] [runs]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = path.resolve(process.argv[2] ?? path.join(src, 'build'));
const nTexts = Number(process.argv[3] ?? 3000);
const runs = Number(process.argv[4] ?? 5);
process.env.HEADROOM_SOURCE_DIR ??= src;
process.env.HEADROOM_BUILD_DIR ??= build;
const { generateModel, loadTokenizer, makeCorpus, referenceIds } = await import(
  path.join(src, 'tests/node/lib/ml_reference.mjs'));

execFileSync('cmake', ['--build', build, '--target', 'bench_ml_wordpiece', '-j2'], { stdio: ['ignore', 'ignore', 'inherit'] });
const dir = generateModel({ size: 'minilm', seed: 1, dir: path.join(build, 'bench-ml-wordpiece') });
const texts = makeCorpus(5, nTexts);
const corpus = path.join(dir, 'corpus.hex');
fs.writeFileSync(corpus, texts.map((t) => Buffer.from(t, 'utf8').toString('hex')).join('\n') + '\n');
const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t, 'utf8'), 0);

const ours = JSON.parse(execFileSync(path.join(build, 'bench_ml_wordpiece'),
  [path.join(dir, 'vocab.txt'), corpus, String(runs)]).toString());

const tok = await loadTokenizer(dir);
let idSum = 0;
for (const t of texts) for (const id of referenceIds(tok, t, 256)) idSum += id;
const t0 = process.hrtime.bigint();
for (let r = 0; r < runs; r++) for (const t of texts) referenceIds(tok, t, 256);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const ref = { arm: '@huggingface/tokenizers', texts: texts.length, bytes, runs, seconds: secs,
  mb_per_s: (bytes * runs) / secs / 1e6, us_per_text: (secs * 1e6) / (texts.length * runs), id_sum: idSum };

console.log(`# ${new Date().toISOString().slice(0, 16)}Z ${os.cpus().length} cores, ${os.cpus()[0].model}, node ${process.version}`);
console.log(`# ${texts.length} texts, ${(bytes / 1e6).toFixed(2)} MB, ${runs} runs, max 256 ids`);
console.log('| arm | MB/s | us/text | id sum |');
console.log('|---|---:|---:|---:|');
for (const a of [ref, ours])
  console.log(`| ${a.arm} | ${a.mb_per_s.toFixed(1)} | ${a.us_per_text.toFixed(1)} | ${a.id_sum} |`);
if (ref.id_sum !== ours.id_sum) { console.error('id sums differ: the arms did not tokenize alike'); process.exit(1); }
