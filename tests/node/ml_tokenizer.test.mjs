// ml_tokenizer.test.mjs: our C WordPiece tokenizer gives the same ids as
// @huggingface/tokenizers on a generated model's tokenizer.json, over a seeded corpus of
// >= 200 varied texts, at the embedder's max length (256) and at a short one (truncation).
// Driver: test_ml_wordpiece --encode VOCAB MAX (tests/unit/test_ml_wordpiece.c), which
// reads hex-encoded texts so every byte reaches the tokenizer as the reference sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUILD_DIR, PYTHON, REFERENCE_DIVERGENT, generateModel, loadTokenizer, makeCorpus, referenceIds, sharedMiniLM } from './lib/ml_reference.mjs';
import { needs } from './lib/deps.mjs';

const driver = path.join(BUILD_DIR, 'test_ml_wordpiece');

function ourIds(vocabPath, texts, maxLen) {
  const input = texts.map((t) => Buffer.from(t, 'utf8').toString('hex')).join('\n') + '\n';
  const out = execFileSync(driver, ['--encode', vocabPath, String(maxLen)], { input, maxBuffer: 64 << 20 });
  const lines = out.toString('utf8').split('\n');
  lines.pop();
  return lines.map((l) => l.split(' ').map(Number));
}

// refTexts (default: texts) is what the reference tokenizes for each of our texts.
function compare(tokenizer, vocabPath, texts, maxLen, refTexts = texts) {
  const ours = ourIds(vocabPath, texts, maxLen);
  assert.equal(ours.length, texts.length, 'one line of ids per text');
  const mismatches = [];
  texts.forEach((t, i) => {
    const ref = referenceIds(tokenizer, refTexts[i], maxLen);
    if (JSON.stringify(ref) !== JSON.stringify(ours[i]))
      mismatches.push({ text: JSON.stringify(t).slice(0, 160), ref: ref.slice(0, 24), ours: ours[i].slice(0, 24) });
  });
  assert.deepEqual(mismatches.slice(0, 5), [], `${mismatches.length} of ${texts.length} texts differ`);
}

for (const size of ['tiny', 'minilm']) {
  test(`token ids equal @huggingface/tokenizers (${size} vocab)`, { skip: needs(fs.existsSync(driver), 'test_ml_wordpiece driver (needs cmocka)') }, async () => {
    const dir = size === 'minilm' ? sharedMiniLM() : generateModel({ size, seed: 3, dir: path.join(BUILD_DIR, 'ml-tok-tiny') });
    const tokenizer = await loadTokenizer(dir);
    const vocabPath = path.join(dir, 'vocab.txt');
    const corpus = makeCorpus(11, 320);
    assert.ok(corpus.length >= 200);
    compare(tokenizer, vocabPath, corpus, 256);
    compare(tokenizer, vocabPath, corpus, 16);
    // The corpus must exercise the interesting paths, or equality proves little.
    const all = corpus.map((t) => tokenizer.encode(t).ids).flat();
    const unk = tokenizer.token_to_id('[UNK]');
    assert.ok(all.filter((id) => id === unk).length > 50, 'corpus reaches [UNK]');
    assert.ok(all.some((id) => tokenizer.id_to_token(id).startsWith('##')), 'corpus reaches ## pieces');
    assert.ok(corpus.some((t) => tokenizer.encode(t).ids.length > 256), 'corpus reaches truncation');
  });
}

// Where the references disagree we follow HF's Rust tokenizers (docs/ml-tools.md). Show the
// difference is exactly that: on texts with capital sigma and astral CJK ideographs, our ids
// equal tokenizers.js' ids for the text rewritten the Rust way (sigma lowercased per code
// point, astral ideographs isolated by spaces).
test('known divergences from tokenizers.js are exactly the HF Rust rules', { skip: needs(fs.existsSync(driver), 'test_ml_wordpiece driver (needs cmocka)') }, async () => {
  const dir = generateModel({ size: 'tiny', seed: 3, dir: path.join(BUILD_DIR, 'ml-tok-tiny') });
  const tokenizer = await loadTokenizer(dir);
  const base = makeCorpus(12, 260).slice(150, 210);
  const odd = ['ΟΔΟΣ', 'Σ', 'ΣΣ', 'ΑΣ.', 'λόγοΣ καλόΣ', '𠀀', 'a𠀀b', '𠀀𠀁𪚥', '中𠀀文', 'x𪜀y 𫝀 𫠠 𬺰'];
  const texts = base.map((t, i) => `${t} ${odd[i % odd.length]} ${base[(i + 7) % base.length]}`);
  assert.ok(texts.every((t) => REFERENCE_DIVERGENT.test(t)));
  const rustWay = (t) => t.replace(/\u03a3/g, '\u03c3').replace(/[\u{20000}-\u{2fa1f}]/gu, (c) => ` ${c} `);
  compare(tokenizer, path.join(dir, 'vocab.txt'), texts, 256, texts.map(rustWay));
  // ...and the rewrite matters: on the raw texts the two tokenizers really differ.
  const raw = ourIds(path.join(dir, 'vocab.txt'), texts, 256);
  const differing = texts.filter((t, i) => JSON.stringify(referenceIds(tokenizer, t, 256)) !== JSON.stringify(raw[i]));
  assert.ok(differing.length > texts.length / 2, `${differing.length} of ${texts.length} differ on the raw text`);
});

// Differential check beyond the hand-made corpus: texts of uniformly random code points
// (BMP and the supplementary planes), skipping only code points unassigned in the Unicode
// version of our tables (python3's unicodedata; Node's ICU is newer, so characters assigned
// later may legitimately differ) and the two documented divergences.
test('token ids equal @huggingface/tokenizers on random code points', { skip: needs(fs.existsSync(driver), 'test_ml_wordpiece driver (needs cmocka)') }, async () => {
  const dir = sharedMiniLM();
  const tokenizer = await loadTokenizer(dir);
  const unassigned = new Set(JSON.parse(execFileSync(PYTHON, ['-c',
    'import json, unicodedata; print(json.dumps([c for c in range(0x110000) if unicodedata.category(chr(c)) == "Cn"]))'],
  { maxBuffer: 64 << 20 }).toString()));
  let state = 2024;
  const rnd = () => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648; };
  const texts = [];
  while (texts.length < 4000) {
    let s = '';
    for (let i = 1 + Math.floor(rnd() * 10); i > 0; i--) {
      const cp = rnd() < 0.7 ? Math.floor(rnd() * 0x10000) : 0x10000 + Math.floor(rnd() * 0x20000);
      if ((cp >= 0xd800 && cp <= 0xdfff) || unassigned.has(cp)) continue;
      s += String.fromCodePoint(cp) + (rnd() < 0.2 ? ' ' : '');
    }
    if (!REFERENCE_DIVERGENT.test(s)) texts.push(s);
  }
  compare(tokenizer, path.join(dir, 'vocab.txt'), texts, 256);
});
