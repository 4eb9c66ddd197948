// kompress_ort.test.mjs: Kompress's word scores, end to end (our byte-level BPE, chunking,
// int8 encoder, token and span heads, max per word: `headroom kompress --scores`), against
// an independent reference on the same weights: @huggingface/tokenizers for the ids of
// each pre-split word, ONNX Runtime on the graph tools/export_onnx.py writes (fp32, heads
// included) for final_scores, the chunk rule of compress/kompress.h re-done here (at most
// 350 words and 510 tokens per chunk; a later word that does not fit starts the next
// chunk; a first word longer than a chunk is cut). Checked: max |diff| of the word scores,
// and the keep decision (score > 0.5) agrees on >= 99% of words. The ORT int8 graph (what
// the original shipped) is reported as a diagnostic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BUILD_DIR, REFERENCE_DIVERGENT, exportOnnx, generateModel, loadTokenizer, makeCorpus, ortSession,
} from './lib/ml_reference.mjs';

const BIN = process.env.HEADROOM_BIN ?? path.join(BUILD_DIR, 'headroom');
const CHUNK_WORDS = 350;

const dir = generateModel({ arch: 'modernbert', size: 'tiny', seed: 6, dir: path.join(BUILD_DIR, 'kompress-ort-tiny') });
const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
const modelFile = path.join(dir, 'kompress.hrm');
execFileSync(BIN, ['model', 'import', dir, '--out', modelFile], { stdio: 'pipe' });
const onnx = exportOnnx(dir);

const words = (text) => text.split(/[ \t\n\r\f\v]+/).filter((w) => w.length);

// Documents of varied prose, code-ish lines, unicode and long words, several chunks each.
function documents() {
  const pool = makeCorpus(21, 400).filter((t) => !REFERENCE_DIVERGENT.test(t) &&
    !/[\ud800-\udfff]/.test(t.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')));
  const docs = [];
  for (let d = 0; d < 4; d++)
    docs.push(pool.slice(d * 100, d * 100 + 100).join(d % 2 ? '\n' : ' '));
  const rnd = (i) => ((i * 2654435761) >>> 0) % 26;
  docs.push(Array.from({ length: 400 }, (_, i) =>
    Array.from({ length: 14 + (i % 9) }, (_, j) => String.fromCharCode(97 + rnd(i * 31 + j))).join('')).join(' '));
  return docs;
}

async function ortFinalScores(session, ids) {
  const ort = await import('onnxruntime-node');
  const t = (xs) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
  const out = await session.run({ input_ids: t(ids), attention_mask: t(ids.map(() => 1)) });
  return out.final_scores.data;
}

// The reference word scores of one text: chunk, run, max per word.
async function referenceScores(tok, session, text) {
  const ws = words(text);
  const wordIds = ws.map((w) => tok.encode(w, { add_special_tokens: false }).ids);
  const maxTokens = 512 - 2;
  const scores = new Array(ws.length).fill(0);
  let chunks = 0;
  for (let from = 0; from < ws.length;) {
    const ids = [cfg.cls_token_id], owner = [];
    let w = from;
    for (; w < ws.length && w - from < CHUNK_WORDS; w++) {
      const room = maxTokens - owner.length;
      if (wordIds[w].length > room && w > from) break;
      const take = wordIds[w].slice(0, room);
      ids.push(...take);
      owner.push(...take.map(() => w));
      if (owner.length === maxTokens) { w++; break; }
    }
    ids.push(cfg.sep_token_id);
    const s = await ortFinalScores(session, ids);
    owner.forEach((wi, t) => { scores[wi] = Math.max(scores[wi], s[t + 1]); });
    chunks++;
    from = w;
  }
  return { scores, chunks };
}

function ourScores(text, threads = '1') {
  const out = execFileSync(BIN, ['kompress', '--model', modelFile, '--scores', '--threads', threads],
    { input: text, maxBuffer: 64 << 20, stdio: ['pipe', 'pipe', 'pipe'] });
  return JSON.parse(out.toString('utf8'));
}

test('word scores and keep decisions equal ONNX Runtime on the same weights', async (t) => {
  const tok = await loadTokenizer(dir);
  const [fp32, int8] = [await ortSession(onnx.fp32), await ortSession(onnx.int8)];
  let n = 0, agree = 0, agreeInt8 = 0, maxDiff = 0, kept = 0, multiChunk = 0;
  for (const text of documents()) {
    const ours = ourScores(text);
    const ref = await referenceScores(tok, fp32, text);
    const q = await referenceScores(tok, int8, text);
    assert.equal(ours.words, ref.scores.length, 'same words');
    assert.equal(ours.chunks, ref.chunks, 'same chunks');
    multiChunk += ref.chunks > 1;
    ref.scores.forEach((r, i) => {
      const o = ours.scores[i];
      maxDiff = Math.max(maxDiff, Math.abs(o - r));
      agree += (o > 0.5) === (r > 0.5);
      agreeInt8 += (q.scores[i] > 0.5) === (r > 0.5);
      kept += r > 0.5;
      n++;
    });
  }
  t.diagnostic(`${n} words; ours (int8) vs ORT fp32: max |diff| ${maxDiff.toFixed(5)}, keep agreement ` +
    `${(100 * agree / n).toFixed(2)}%; ORT int8 vs ORT fp32 agreement ${(100 * agreeInt8 / n).toFixed(2)}%; ` +
    `fp32 keeps ${(100 * kept / n).toFixed(1)}%`);
  assert.ok(n > 3000, 'enough words');
  assert.ok(multiChunk >= 3, 'documents span several chunks');
  assert.ok(kept > n * 0.1 && kept < n * 0.9, 'the heads keep some words and drop others');
  assert.ok(agree / n >= 0.99, `keep decisions agree on ${agree / n}`);
  assert.ok(maxDiff < 0.05, `max |diff| ${maxDiff}`);
});

test('scores are the same bytes with 1 and 2 compute threads', () => {
  const text = documents()[0];
  assert.deepEqual(ourScores(text, '2'), ourScores(text, '1'));
});
