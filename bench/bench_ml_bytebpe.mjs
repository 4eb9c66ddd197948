// bench_ml_bytebpe.mjs: byte-level BPE tokenization throughput, headroom's C tokenizer vs
// @huggingface/tokenizers 0.2.0 (the JS reference), same tokenizer (GPT-2's 50,000 merges in
// ModernBERT's layout, tools/gen_bpe_fixture.mjs), same texts (the ml test corpus
// generator, seed 5), same run. Two modes, each run RUNS times per arm:
//   text   whole texts as [CLS] ... [SEP], truncated at 512 ids;
//   words  every space-separated word encoded alone (what the Kompress compressor does).
// The id sums of each mode must match between the arms (both produced the same ids).
//   node bench/bench_ml_bytebpe.mjs [build dir] [texts] [runs]
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
const { loadTokenizer, makeCorpus, referenceIds } = await import(path.join(src, 'tests/node/lib/ml_reference.mjs'));
const { gpt2BpeModel } = await import(path.join(src, 'tests/node/lib/bpe_fixture.mjs'));

execFileSync('cmake', ['--build', build, '--target', 'bench_ml_bytebpe', 'headroom', '-j2'], { stdio: ['ignore', 'ignore', 'inherit'] });
const { dir, model } = gpt2BpeModel();
// U+0085 / U+FEFF split differently in the JS reference (docs/ml-tools.md): left out.
const texts = makeCorpus(5, nTexts).filter((t) => !/[\u0085\ufeff]/.test(t));
const corpus = path.join(build, 'bench-ml-bytebpe.hex');
fs.writeFileSync(corpus, texts.map((t) => Buffer.from(t, 'utf8').toString('hex')).join('\n') + '\n');
const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t, 'utf8'), 0);

const [oursText, oursWords] = execFileSync(path.join(build, 'bench_ml_bytebpe'), [model, corpus, String(runs)])
  .toString().trim().split('\n').map((l) => JSON.parse(l));

const tok = await loadTokenizer(dir);
const modes = {
  text: (t) => referenceIds(tok, t, 512),
  words: (t) => t.split(' ').flatMap((w) => (w ? tok.encode(w, { add_special_tokens: false }).ids : [])),
};
const refs = {};
for (const [mode, fn] of Object.entries(modes)) {
  let idSum = 0;
  for (const t of texts) for (const id of fn(t)) idSum += id;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < runs; r++) for (const t of texts) fn(t);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  refs[mode] = { arm: `@huggingface/tokenizers ${mode}`, seconds: secs, mb_per_s: (bytes * runs) / secs / 1e6,
    us_per_text: (secs * 1e6) / (texts.length * runs), id_sum: idSum };
}

console.log(`# ${new Date().toISOString().slice(0, 16)}Z ${os.cpus().length} cores, ${os.cpus()[0].model}, node ${process.version}`);
console.log(`# ${texts.length} texts, ${(bytes / 1e6).toFixed(2)} MB, ${runs} runs; text mode truncates at 512 ids`);
console.log('| arm | MB/s | us/text | id sum |');
console.log('|---|---:|---:|---:|');
for (const a of [refs.text, oursText, refs.words, oursWords])
  console.log(`| ${a.arm} | ${a.mb_per_s.toFixed(1)} | ${a.us_per_text.toFixed(1)} | ${a.id_sum} |`);
if (refs.text.id_sum !== oursText.id_sum || refs.words.id_sum !== oursWords.id_sum) {
  console.error('id sums differ: the arms did not tokenize alike');
  process.exit(1);
}
