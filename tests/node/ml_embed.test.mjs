// ml_embed.test.mjs: end-to-end correctness of the sentence embedder against independent
// references, on models generated at test time (tools/gen_model.py, random weights):
//   1. the ONNX graph tools/export_onnx.py writes equals the NumPy forward pass
//      (tools/ref_bert.py), padding included, so ONNX Runtime can serve as the reference;
//   2. the int8 graph (ORT dynamic-quantisation layout) stays close to fp32;
//   3. `headroom embed` (our tokenizer + encoder) reaches cosine >= 0.999 with ORT fp32 on
//      every text, and uses the same number of tokens as @huggingface/tokenizers.
// Cosines against the int8 graph are reported as diagnostics (the original ran int8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { needs } from './lib/deps.mjs';
import {
  BUILD_DIR, PYTHON, SOURCE_DIR, cosine, exportOnnx, generateModel, loadTokenizer, makeCorpus,
  ortEmbed, ortSession, referenceIds, sharedMiniLM,
} from './lib/ml_reference.mjs';

const BIN = process.env.HEADROOM_BIN ?? path.join(BUILD_DIR, 'headroom');
const MAX_SEQ = 256;

// Sanitizer builds run our encoder ~20x slower: fewer texts on the full-size model there.
function sanitizeBuild() {
  try {
    return /HEADROOM_SANITIZE:BOOL=ON/.test(fs.readFileSync(path.join(BUILD_DIR, 'CMakeCache.txt'), 'utf8'));
  } catch { return false; }
}

function embedAvailable() {
  if (!fs.existsSync(BIN)) return false;
  const r = spawnSync(BIN, ['embed', '--help'], { encoding: 'utf8' });
  return r.status === 0 && /--model/.test(r.stdout + r.stderr);
}

// n texts for `headroom embed` (which reads one text per line), spread over the corpus's
// kinds (single pool entries first, then mixtures); the last one is longer than MAX_SEQ.
function embedTexts(n, seed) {
  const all = makeCorpus(seed, 400).map((t) => t.replace(/[\r\n]/g, ' ')).filter((t) => t.trim());
  const picked = Array.from({ length: n - 1 }, (_, i) => all[Math.floor((i * all.length) / (n - 1))]);
  return [...picked, all.slice(-40).join(' ')];
}

function numpyReference(dir, idsList) {
  const input = idsList.map((ids) => JSON.stringify(ids)).join('\n') + '\n';
  const out = execFileSync(PYTHON, [path.join(SOURCE_DIR, 'tools/ref_bert.py'), '--model', dir, '--hidden'],
    { input, maxBuffer: 256 << 20 });
  return out.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
}

function ourEmbeddings(modelFile, texts) {
  const input = texts.join('\n') + '\n';
  const out = execFileSync(BIN, ['embed', '--model', modelFile, '--max-seq', String(MAX_SEQ)],
    { input, maxBuffer: 256 << 20, env: { ...process.env, HEADROOM_ML_THREADS: '1' } });
  return out.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
}

const tiny = generateModel({ size: 'tiny', seed: 5, dir: path.join(BUILD_DIR, 'ml-embed-tiny') });
const tinyOnnx = exportOnnx(tiny);

test('ORT fp32 graph equals the NumPy reference forward pass', async () => {
  const tok = await loadTokenizer(tiny);
  const idsList = embedTexts(12, 21).map((t) => referenceIds(tok, t, MAX_SEQ));
  assert.ok(idsList.some((ids) => ids.length === MAX_SEQ), 'includes a full-length sequence');
  const ref = numpyReference(tiny, idsList);
  const session = await ortSession(tinyOnnx.fp32);
  for (let i = 0; i < idsList.length; i++) {
    const { embedding, hidden } = await ortEmbed(session, idsList[i]);
    assert.ok(cosine(embedding, ref[i].embedding) >= 0.99999, `text ${i}: embedding cosine`);
    let maxDiff = 0;
    ref[i].hidden.flat().forEach((v, j) => { maxDiff = Math.max(maxDiff, Math.abs(v - hidden[j])); });
    assert.ok(maxDiff < 5e-4, `text ${i}: hidden state max |diff| ${maxDiff}`);
  }
});

test('ORT graph masks padding (a padded batch gives the unpadded vectors)', async () => {
  const ort = await import('onnxruntime-node');
  const tok = await loadTokenizer(tiny);
  const a = referenceIds(tok, 'the quick brown fox jumps over the lazy dog', MAX_SEQ);
  const b = referenceIds(tok, 'hello world', MAX_SEQ);
  const s = a.length;
  const pad = (ids) => [...ids, ...new Array(s - ids.length).fill(0)];
  const mask = (ids) => [...new Array(ids.length).fill(1), ...new Array(s - ids.length).fill(0)];
  const t64 = (xs) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [2, s]);
  const session = await ortSession(tinyOnnx.fp32);
  const out = await session.run({
    input_ids: t64([...pad(a), ...pad(b)]), attention_mask: t64([...mask(a), ...mask(b)]),
    token_type_ids: t64(new Array(2 * s).fill(0)),
  });
  const dim = out.sentence_embedding.dims[1];
  const single = await ortEmbed(session, b);
  const batched = out.sentence_embedding.data.slice(dim, 2 * dim);
  assert.ok(cosine(batched, single.embedding) > 0.99999, 'padding changes nothing');
  assert.ok(cosine((await ortEmbed(session, a)).embedding, single.embedding) < 0.999, 'different texts differ');
});

test('ORT int8 graph (DynamicQuantizeLinear + MatMulInteger) stays close to fp32', async (t) => {
  const tok = await loadTokenizer(tiny);
  const [f, q] = [await ortSession(tinyOnnx.fp32), await ortSession(tinyOnnx.int8)];
  const cos = [];
  for (const text of embedTexts(20, 22)) {
    const ids = referenceIds(tok, text, MAX_SEQ);
    cos.push(cosine((await ortEmbed(f, ids)).embedding, (await ortEmbed(q, ids)).embedding));
  }
  t.diagnostic(`int8 vs fp32 cosine: min ${Math.min(...cos).toFixed(5)}`);
  assert.ok(Math.min(...cos) > 0.99, `int8 vs fp32 min cosine ${Math.min(...cos)}`);
  assert.ok(Math.min(...cos) < 0.999999, 'the int8 graph really is quantised');
});

async function compareOurs(t, dir, texts) {
  const onnx = exportOnnx(dir);
  const modelFile = path.join(dir, 'model.hrm');
  // Import again only when the weights or the binary changed (import is slow under ASan).
  const newest = Math.max(fs.statSync(path.join(dir, 'model.safetensors')).mtimeMs, fs.statSync(BIN).mtimeMs);
  if (!fs.existsSync(modelFile) || fs.statSync(modelFile).mtimeMs < newest)
    execFileSync(BIN, ['model', 'import', dir, '--out', modelFile], { stdio: 'pipe' });
  const ours = ourEmbeddings(modelFile, texts);
  assert.equal(ours.length, texts.length, 'one vector per line');
  const tok = await loadTokenizer(dir);
  const [f, q] = [await ortSession(onnx.fp32), await ortSession(onnx.int8)];
  const vsFp32 = [], vsInt8 = [];
  for (let i = 0; i < texts.length; i++) {
    const ids = referenceIds(tok, texts[i], MAX_SEQ);
    assert.equal(ours[i].tokens, ids.length, `text ${i}: token count`);
    vsFp32.push(cosine(ours[i].embedding, (await ortEmbed(f, ids)).embedding));
    vsInt8.push(cosine(ours[i].embedding, (await ortEmbed(q, ids)).embedding));
  }
  const stat = (xs) => `min ${Math.min(...xs).toFixed(5)} mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(5)}`;
  t.diagnostic(`${texts.length} texts; ours vs ORT fp32: ${stat(vsFp32)}; ours vs ORT int8: ${stat(vsInt8)}`);
  const worst = vsFp32.indexOf(Math.min(...vsFp32));
  assert.ok(vsFp32[worst] >= 0.999, `text ${worst} cosine ${vsFp32[worst]}: ${JSON.stringify(texts[worst]).slice(0, 80)}`);
}

test('headroom embed matches ONNX Runtime fp32 (tiny model)', { skip: needs(embedAvailable(), 'headroom embed') }, async (t) => {
  await compareOurs(t, tiny, embedTexts(60, 23));
});

test('headroom embed matches ONNX Runtime fp32 (all-MiniLM-L6-v2 shape)', { skip: needs(embedAvailable(), 'headroom embed') }, async (t) => {
  const dir = sharedMiniLM();
  const texts = embedTexts(sanitizeBuild() ? 4 : 24, 24);
  if (sanitizeBuild()) texts.forEach((s, i) => { texts[i] = s.slice(0, 60); });
  await compareOurs(t, dir, texts);
});

// A model directory with only vocab.txt (no tokenizer.json) imports through
// hr_wordpiece_vocab_from_txt and must embed exactly as the tokenizer.json import does.
test('vocab.txt-only model directory embeds identically', { skip: needs(embedAvailable(), 'headroom embed') }, () => {
  const bare = path.join(BUILD_DIR, 'ml-embed-tiny-vocabtxt');
  fs.rmSync(bare, { recursive: true, force: true });
  fs.cpSync(tiny, bare, { recursive: true });
  fs.rmSync(path.join(bare, 'tokenizer.json'));
  fs.rmSync(path.join(bare, 'tokenizer_config.json'));
  const texts = embedTexts(12, 25);
  const files = [path.join(tiny, 'model-a.hrm'), path.join(bare, 'model-b.hrm')];
  execFileSync(BIN, ['model', 'import', tiny, '--out', files[0]], { stdio: 'pipe' });
  execFileSync(BIN, ['model', 'import', bare, '--out', files[1]], { stdio: 'pipe' });
  const [a, b] = files.map((f) => ourEmbeddings(f, texts));
  assert.deepEqual(b.map((r) => r.tokens), a.map((r) => r.tokens));
  assert.deepEqual(b.map((r) => r.embedding), a.map((r) => r.embedding));
});
