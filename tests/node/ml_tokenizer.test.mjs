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
import { BUILD_DIR, generateModel, loadTokenizer, makeCorpus, referenceIds } from './lib/ml_reference.mjs';

const driver = path.join(BUILD_DIR, 'test_ml_wordpiece');

function ourIds(vocabPath, texts, maxLen) {
  const input = texts.map((t) => Buffer.from(t, 'utf8').toString('hex')).join('\n') + '\n';
  const out = execFileSync(driver, ['--encode', vocabPath, String(maxLen)], { input, maxBuffer: 64 << 20 });
  const lines = out.toString('utf8').split('\n');
  lines.pop();
  return lines.map((l) => l.split(' ').map(Number));
}

function compare(tokenizer, vocabPath, texts, maxLen) {
  const ours = ourIds(vocabPath, texts, maxLen);
  assert.equal(ours.length, texts.length, 'one line of ids per text');
  const mismatches = [];
  texts.forEach((t, i) => {
    const ref = referenceIds(tokenizer, t, maxLen);
    if (JSON.stringify(ref) !== JSON.stringify(ours[i]))
      mismatches.push({ text: JSON.stringify(t).slice(0, 160), ref: ref.slice(0, 24), ours: ours[i].slice(0, 24) });
  });
  assert.deepEqual(mismatches.slice(0, 5), [], `${mismatches.length} of ${texts.length} texts differ`);
}

for (const size of ['tiny', 'minilm']) {
  test(`token ids equal @huggingface/tokenizers (${size} vocab)`, { skip: !fs.existsSync(driver) && 'driver not built' }, async () => {
    const dir = generateModel({ size, seed: 3, dir: path.join(BUILD_DIR, `ml-tok-${size}`) });
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
