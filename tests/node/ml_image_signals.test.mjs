// ml_image_signals.test.mjs: the four SigLIP image signals (src/ml/vision.c, import_npz.c,
// src/compress/image_signals.c) on generated weights, against an independent computation:
//   1. `headroom model import` reads text_embeddings.npz (numpy.savez, savez_compressed,
//      float64, rows not unit length, a signal missing) and `headroom embed --signals`
//      gives sigmoid(5 x max cos) with the image embedding from ONNX Runtime and the rows
//      as NumPy stored them (missing signal: 0.5); a malformed file is refused by name;
//   2. the proxy loads the image encoder only when an image needs a decision (not at start,
//      not for text, not without a router), and adjusts the router's confidence by the
//      original's rule: the adjustments it counts equal those computed here from the
//      router's labels and confidences (`embed --classify`) and the images' signals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, anthropicMessage } from './lib/fake_upstream.mjs';
import { startProxy, HEADROOM_BIN } from './lib/proxy.mjs';
import { BUILD_DIR, PYTHON, exportOnnx, generateModel, makeCorpus, ortSession, ortVisionEmbed } from './lib/ml_reference.mjs';

const IM = '/usr/bin/convert';
const S = 64; // the tiny tower's image size (tools/gen_siglip.py)
const SIGNALS = ['has_text', 'is_document', 'is_complex', 'has_small_details'];
let work, vit, onnx, up;
const files = [];

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-signals-'));
  vit = generateModel({ arch: 'siglip', size: 'tiny', seed: 3, dir: path.join(BUILD_DIR, 'ml-siglip-tiny') });
  onnx = exportOnnx(vit);
  const make = (name, ...args) => {
    execFileSync(IM, [...args, path.join(work, name)], { stdio: 'pipe' });
    files.push(path.join(work, name));
  };
  make('grad.png', '-size', `${S}x${S}`, 'gradient:navy-orange');
  make('plasma.png', '-seed', '5', '-size', `${S}x${S}`, 'plasma:fractal');
  make('noise.png', '-seed', '9', '-size', `${S}x${S}`, 'xc:gray', '+noise', 'Random');
  make('checker.png', '-size', `${S}x${S}`, 'pattern:checkerboard');
  up = await startFakeUpstream();
});
after(async () => {
  await up?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

// A model directory with the generated tower and a text_embeddings.npz NumPy writes;
// returns { dir, rows } (rows: the stored arrays, as written).
function modelDir(name, { compressed = false, dtype = 'float32', names = SIGNALS, cols = 0, unit = true, seed = 1 } = {}) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(vit, f), path.join(dir, f));
  const script = `
import json, sys, numpy as np
names, cols, unit, seed, dtype, comp = json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1', int(sys.argv[5]), sys.argv[6], sys.argv[7] == '1'
hidden = json.load(open(sys.argv[1] + '/config.json'))['hidden_size']
r = np.random.default_rng(seed)
d = {}
for k in names:
    a = r.standard_normal((2, cols or hidden))
    if unit: a /= np.linalg.norm(a, axis=1, keepdims=True)
    else: a *= 0.2
    d[k] = a.astype(dtype)
(np.savez_compressed if comp else np.savez)(sys.argv[1] + '/text_embeddings.npz', **d)
print(json.dumps({k: v.astype(np.float64).tolist() for k, v in d.items()}))
`;
  const out = execFileSync(PYTHON, ['-c', script, dir, JSON.stringify(names), String(cols), unit ? '1' : '0', String(seed),
    dtype, compressed ? '1' : '0']);
  return { dir, rows: JSON.parse(out.toString()) };
}

function importModel(dir) {
  const out = path.join(dir, 'vit.hrm');
  execFileSync(HEADROOM_BIN, ['model', 'import', dir, '--out', out], { stdio: 'pipe' });
  return out;
}

function ourSignals(model, list = files) {
  const r = spawnSync(HEADROOM_BIN, ['embed', '--signals', '--model', model], { input: list.join('\n') + '\n', encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l).signals);
}

const ortEmbedding = (session, file) => ortVisionEmbed(session, file, S);

// The original's arithmetic: embeds / ||embeds||, then per signal sigmoid(5 * max(rows @ e)).
function referenceSignals(emb, rows) {
  const n = Math.sqrt(emb.reduce((s, v) => s + v * v, 0));
  const e = emb.map((v) => v / n);
  return Object.fromEntries(SIGNALS.map((k) => {
    if (!rows[k]) return [k, 0.5];
    const best = Math.max(...rows[k].map((r) => r.reduce((s, v, i) => s + v * e[i], 0)));
    return [k, 1 / (1 + Math.exp(-5 * best))];
  }));
}

function ourEmbeddings(model) {
  const r = spawnSync(HEADROOM_BIN, ['embed', '--vision', '--model', model], { input: files.join('\n') + '\n', encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l).embedding);
}

const cosine = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0) /
  Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0));

// Two checks per variant: the signal arithmetic on our own embedding (tight), and the
// signals against ONNX Runtime's embedding within what the int8 tower's direction error
// allows: sigmoid(5x) has slope <= 1.25, and a unit vector off by cosine c moves a dot with a
// row of norm r by at most r * sqrt(2 (1 - c)).
test('signals equal sigmoid(5 x max cosine) with the stored rows; against ONNX Runtime within the embedding error', async () => {
  const session = await ortSession(onnx.fp32);
  const ort = await Promise.all(files.map((f) => ortEmbedding(session, f)));
  const variants = [
    modelDir('stored', { seed: 1 }),
    modelDir('deflate', { compressed: true, seed: 2 }),
    modelDir('f64-raw', { dtype: 'float64', unit: false, seed: 3 }),
    modelDir('three', { names: SIGNALS.slice(0, 3), seed: 4 }),
  ];
  let arith = 0, slack = Infinity;
  for (const v of variants) {
    const model = importModel(v.dir);
    const got = ourSignals(model);
    const mine = ourEmbeddings(model);
    const rowNorm = Math.max(...Object.values(v.rows).flat().map((r) => Math.sqrt(r.reduce((s, x) => s + x * x, 0))));
    got.forEach((sig, i) => {
      const exact = referenceSignals(mine[i], v.rows), viaOrt = referenceSignals(ort[i], v.rows);
      const bound = 1.25 * rowNorm * Math.sqrt(2 * Math.max(0, 1 - cosine(mine[i], ort[i]))) + 1e-4;
      for (const k of SIGNALS) {
        arith = Math.max(arith, Math.abs(sig[k] - exact[k]));
        slack = Math.min(slack, bound - Math.abs(sig[k] - viaOrt[k]));
      }
    });
  }
  assert.equal(ourSignals(importModel(variants[3].dir))[0].has_small_details, 0.5, 'a missing signal scores 0.5');
  assert.ok(arith < 1e-5, `max |signal - arithmetic on our embedding| ${arith}`);
  assert.ok(slack >= 0, `a signal is further from the ORT-based one than the embedding error allows (${slack})`);
});

test('a malformed text_embeddings.npz is refused by name; a model without one has no signals', () => {
  const bad = modelDir('bad-cols', { cols: 7 });
  const r = spawnSync(HEADROOM_BIN, ['model', 'import', bad.dir, '--out', path.join(bad.dir, 'x.hrm')], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /text_embeddings\.npz: has_text\.npy has 7 columns/);
  const plain = path.join(work, 'plain');
  fs.mkdirSync(plain);
  for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(vit, f), path.join(plain, f));
  const s = spawnSync(HEADROOM_BIN, ['embed', '--signals', '--model', importModel(plain)], { input: files[0] + '\n', encoding: 'utf8' });
  assert.notEqual(s.status, 0);
  assert.match(s.stderr, /no signal text embeddings/);
});

// The original's confidence rule, per technique.
function adjust(label, conf, s) {
  if (label === 'transcode' && s.has_text < 0.4 && s.is_document < 0.4) return ['lowered', conf * 0.8];
  if (label === 'full_low' && s.has_small_details > 0.7) return ['noted', conf];
  if (label === 'preserve' && (s.has_small_details > 0.5 || s.is_complex > 0.5)) return ['raised', Math.min(1, conf * 1.1)];
  return [null, conf];
}

const metric = (text, name, label) => Number(text.match(new RegExp(`^${name}\\{${label}\\} (\\d+)$`, 'm'))[1]);

test('proxy: the encoder loads only when an image needs a decision; adjustments follow the rule', async () => {
  // signal rows chosen so the generated images land on both sides of the thresholds
  const enc = importModel(modelDir('proxy-enc', { unit: false, seed: 11 }).dir);
  const mdir = generateModel({ size: 'tiny', seed: 7, dir: path.join(BUILD_DIR, 'ml-router-tiny'), head: 'classifier' });
  const router = path.join(work, 'router.hrm');
  execFileSync(HEADROOM_BIN, ['model', 'import', mdir, '--out', router], { stdio: 'pipe' });
  const candidates = ['What is in this picture?', 'Read the small serial number in the corner.',
    'Transcribe the receipt exactly.', 'Is this a cat or a dog?', 'What does the error in the terminal say?',
    ...makeCorpus(4, 60).map((t) => t.replace(/[\r\n]/g, ' ').slice(0, 200)).filter((t) => t.trim())];
  const labelled = execFileSync(HEADROOM_BIN, ['embed', '--classify', '--model', router], { input: candidates.join('\n') + '\n' })
    .toString().trim().split('\n').map((l, i) => ({ q: candidates[i], ...JSON.parse(l) }));
  const byLabel = {};
  for (const x of labelled) (byLabel[x.label] ??= []).push(x);
  const asked = Object.values(byLabel).flatMap((xs) => xs.slice(0, 2));
  const sig = ourSignals(enc);
  const b64 = files.map((f) => fs.readFileSync(f).toString('base64'));

  const expected = { lowered: 0, raised: 0, noted: 0 };
  let analysed = 0;
  const cases = [];
  asked.forEach((x, k) => {
    const i = k % files.length;
    cases.push({ q: x.q, i });
    if (!['transcode', 'full_low', 'preserve'].includes(x.label)) return;
    analysed++;
    const [what] = adjust(x.label, x.confidence, sig[i]);
    if (what) expected[what]++;
  });
  assert.ok(analysed >= 2, 'the generated router labels some questions with an adjustable technique');
  const adjusted = expected.lowered + expected.raised + expected.noted;
  assert.ok(adjusted > 0 && adjusted < analysed, `images on both sides of the thresholds: ${JSON.stringify(expected)} of ${analysed}`);

  const proxy = await startProxy({ anthropicUrl: up.url, env: {
    HEADROOM_IMAGE_ROUTER_MODEL: router, HEADROOM_IMAGE_ENCODER_MODEL: enc, HEADROOM_COMPRESSION_DEADLINE_MS: '60000' } });
  try {
    const sessions = async () => (await (await fetch(`${proxy.url}/debug/memory`)).json()).ml.sessions.map((s) => s.name);
    assert.ok(!(await sessions()).includes('image_encoder'), 'not opened at start');
    const client = new Anthropic({ apiKey: 'sk-ant-signals', baseURL: proxy.url, maxRetries: 0 });
    up.script('/v1/messages', { json: anthropicMessage() });
    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'no image here' }] });
    assert.ok(!(await sessions()).includes('image_encoder'), 'not opened for text');
    for (const c of cases) {
      up.script('/v1/messages', { json: anthropicMessage() });
      await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: [
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: b64[c.i] } }, { type: 'text', text: c.q }] }] });
    }
    const m = await (await fetch(`${proxy.url}/metrics`)).text();
    assert.equal(metric(m, 'headroom_image_signals_total', 'outcome="analysed"'), analysed);
    assert.equal(metric(m, 'headroom_image_signals_total', 'outcome="failed_open"'), 0);
    for (const k of ['lowered', 'raised', 'noted'])
      assert.equal(metric(m, 'headroom_image_confidence_adjustments_total', `adjust="${k}"`), expected[k], k);
    assert.ok((await sessions()).includes('image_encoder'), 'opened once an image needed a decision');
  } finally {
    assert.equal(await proxy.stop(), 0);
  }

  // an encoder without a router: nothing to adjust, never loaded
  const alone = await startProxy({ anthropicUrl: up.url, env: { HEADROOM_IMAGE_ENCODER_MODEL: enc } });
  try {
    const client = new Anthropic({ apiKey: 'sk-ant-signals', baseURL: alone.url, maxRetries: 0 });
    up.script('/v1/messages', { json: anthropicMessage() });
    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: [
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: b64[0] } }, { type: 'text', text: 'hi' }] }] });
    const m = await (await fetch(`${alone.url}/metrics`)).text();
    assert.equal(metric(m, 'headroom_image_signals_total', 'outcome="analysed"'), 0);
  } finally {
    assert.equal(await alone.stop(), 0);
  }
});
