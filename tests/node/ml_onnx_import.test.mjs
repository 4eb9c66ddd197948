// ml_onnx_import.test.mjs: `headroom model import X.onnx` (src/ml/onnx.c, src/ml/import_onnx.c)
// on graphs shaped like the published exports: tools/export_onnx.py --style torch names them
// as torch.onnx.export does (anonymous "onnx::MatMul_N" weights in [in, out] layout, named
// biases and norms, module scopes on the nodes) and quantises them as ONNX Runtime's
// quantize_dynamic does (int8 symmetric, uint8 asymmetric, per channel, weight-only QDQ,
// embedding tables through Gather + DequantizeLinear, ConvInteger for SigLIP's patches).
// For the router (BERT classifier), Kompress (ModernBERT + heads) and SigLIP's tower:
//   1. the fp32 graph imports to the same bytes as the safetensors checkpoint;
//   2. every int8 variant imports to the same bytes as a checkpoint holding the graph's
//      dequantised weights (so dequantisation is exact and every weight found), and not to
//      the fp32 bytes (the int8 values were really used);
//   3. our outputs on the imported int8 graph agree with ONNX Runtime running that file;
//   4. truncated, corrupted and hostile files are clear errors and leave no output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BUILD_DIR, PYTHON, SOURCE_DIR, cosine, generateModel, loadTokenizer, makeCorpus, ortSession,
  ortVisionEmbed,
} from './lib/ml_reference.mjs';

const BIN = process.env.HEADROOM_BIN ?? path.join(BUILD_DIR, 'headroom');
const TOOL = path.join(SOURCE_DIR, 'tools/export_onnx.py');
const work = fs.mkdtempSync(path.join(BUILD_DIR, 'ml-onnx-import-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

const MODELS = {
  router: generateModel({ size: 'tiny', seed: 17, dir: path.join(BUILD_DIR, 'ml-onnx-router'), head: 'classifier' }),
  kompress: generateModel({ arch: 'modernbert', size: 'tiny', seed: 18, dir: path.join(BUILD_DIR, 'ml-onnx-kompress') }),
  siglip: generateModel({ arch: 'siglip', size: 'tiny', seed: 19, dir: path.join(BUILD_DIR, 'ml-onnx-siglip') }),
};
const VARIANTS = ['int8', 'uint8', 'int8-channel', 'weight-only'];

// One export of a model: fp32 + one int8 variant (+ its dequantised checkpoint), beside
// copies of the model's config and tokenizer so `import X.onnx` finds them.
const exported = new Map();
function exportVariant(name, quant) {
  const key = `${name}/${quant}`;
  if (exported.has(key)) return exported.get(key);
  const src = MODELS[name], out = path.join(work, name, quant);
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs.readdirSync(src))
    if (f.endsWith('.json') || f.endsWith('.txt')) fs.copyFileSync(path.join(src, f), path.join(out, f));
  execFileSync(PYTHON, [TOOL, '--model', src, '--out', path.join(out, 'model.onnx'), '--int8-out',
    path.join(out, 'model_quantized.onnx'), '--style', 'torch', '--quant', quant, '--quant-gather',
    '--dequantized-out', path.join(out, 'dequantized')], { stdio: 'pipe' });
  const r = { dir: out, fp32: path.join(out, 'model.onnx'), int8: path.join(out, 'model_quantized.onnx'),
    dequantized: path.join(out, 'dequantized') };
  exported.set(key, r);
  return r;
}

function importTo(src, out) {
  const r = spawnSync(BIN, ['model', 'import', src, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, `import ${src}: ${r.stderr}`);
  return fs.readFileSync(out);
}

test('fp32 graphs named as torch exports them import to the safetensors bytes', () => {
  for (const [name, dir] of Object.entries(MODELS)) {
    const e = exportVariant(name, 'int8');
    const graph = fs.readFileSync(e.fp32);
    assert.ok(graph.includes('onnx::MatMul_'), `${name}: anonymous MatMul weights`);
    assert.ok(!graph.includes('dense.weight') && !graph.includes('Wqkv.weight') && !graph.includes('fc1.weight'),
      `${name}: no Linear weight keeps its checkpoint name`);
    const st = importTo(dir, path.join(work, `${name}-st.hrm`));
    const fromOnnx = importTo(e.fp32, path.join(work, `${name}-fp32.hrm`));
    assert.ok(st.equals(fromOnnx), `${name}: same model bytes`);
  }
});

test('int8 graphs (quantize_dynamic variants) dequantise exactly', () => {
  for (const name of Object.keys(MODELS)) {
    const fp32 = importTo(MODELS[name], path.join(work, `${name}-ref.hrm`));
    for (const quant of VARIANTS) {
      const e = exportVariant(name, quant);
      const graph = fs.readFileSync(e.int8);
      assert.ok(graph.includes(quant === 'weight-only' ? 'DequantizeLinear' : 'MatMulInteger'), `${name} ${quant}: quantised ops`);
      const q = importTo(e.int8, path.join(work, `${name}-${quant}.hrm`));
      const deq = importTo(e.dequantized, path.join(work, `${name}-${quant}-deq.hrm`));
      assert.ok(q.equals(deq), `${name} ${quant}: the graph's dequantised weights, exactly`);
      assert.ok(!q.equals(fp32), `${name} ${quant}: differs from the fp32 import`);
    }
  }
});

async function ortLogits(session, ids) {
  const ort = await import('onnxruntime-node');
  const big = (xs) => new ort.Tensor('int64', BigInt64Array.from(xs, (x) => BigInt(x)), [1, xs.length]);
  const out = await session.run({ input_ids: big(ids), attention_mask: big(ids.map(() => 1)),
    token_type_ids: big(ids.map(() => 0)) });
  return Array.from(out.logits.data);
}

test('router logits on the imported int8 graph agree with ONNX Runtime on the file', async (t) => {
  const texts = makeCorpus(23, 120).map((s) => s.replace(/[\r\n]/g, ' ')).filter((s) => s.trim()).slice(0, 24);
  const tok = await loadTokenizer(MODELS.router);
  for (const quant of ['int8', 'uint8']) {
    const e = exportVariant('router', quant);
    const file = path.join(work, `router-${quant}.hrm`);
    importTo(e.int8, file);
    const out = execFileSync(BIN, ['embed', '--classify', '--model', file], { input: texts.join('\n') + '\n' });
    const ours = out.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    const [q, f] = [await ortSession(e.int8), await ortSession(e.fp32)];
    let worst = 0, ortOwn = 0;
    for (let i = 0; i < texts.length; i++) {
      const ids = tok.encode(texts[i]).ids.slice(0, 256);
      const [ref, ref32] = [await ortLogits(q, ids), await ortLogits(f, ids)];
      ref.forEach((r, k) => {
        worst = Math.max(worst, Math.abs(r - ours[i].logits[k]));
        ortOwn = Math.max(ortOwn, Math.abs(r - ref32[k]));
      });
    }
    t.diagnostic(`router ${quant}: max |logit diff| ours vs ORT on the int8 file ${worst.toFixed(3)}; ` +
      `ORT int8 vs ORT fp32 ${ortOwn.toFixed(3)}`);
    assert.ok(worst <= Math.max(0.3, 1.5 * ortOwn), `router ${quant}: ${worst}`);
  }
});

test('SigLIP embeddings on the imported int8 graph agree with ONNX Runtime on the file', async (t) => {
  const S = 64;
  const files = [['grad.png', '-size', `${S}x${S}`, 'gradient:navy-orange'],
    ['plasma.png', '-seed', '5', '-size', `${S}x${S}`, 'plasma:fractal'],
    ['noise.png', '-seed', '9', '-size', `${S}x${S}`, 'xc:gray', '+noise', 'Random']].map(([n, ...a]) => {
    execFileSync('/usr/bin/convert', [...a, path.join(work, n)]);
    return path.join(work, n);
  });
  for (const quant of ['int8', 'uint8']) { // uint8: the patch convolution as ConvInteger too
    const e = exportVariant('siglip', quant);
    const file = path.join(work, `siglip-${quant}.hrm`);
    importTo(e.int8, file);
    const r = spawnSync(BIN, ['embed', '--vision', '--model', file], { input: files.join('\n') + '\n', encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const ours = r.stdout.trim().split('\n').map((l) => JSON.parse(l).embedding);
    const session = await ortSession(e.int8);
    let worst = 1;
    for (let i = 0; i < files.length; i++) worst = Math.min(worst, cosine(await ortVisionEmbed(session, files[i], S), ours[i]));
    t.diagnostic(`siglip ${quant}: min cosine ours vs ORT on the int8 file ${worst.toFixed(5)}`);
    assert.ok(worst >= 0.995, `siglip ${quant}: ${worst}`);
  }
});

test('Kompress word scores on the imported weight-only graph agree with ONNX Runtime on the file', async (t) => {
  const e = exportVariant('kompress', 'weight-only');
  const cfg = JSON.parse(fs.readFileSync(path.join(MODELS.kompress, 'config.json'), 'utf8'));
  const file = path.join(work, 'kompress-wo.hrm');
  importTo(e.int8, file);
  const tok = await loadTokenizer(MODELS.kompress);
  const ort = await import('onnxruntime-node');
  const session = await ortSession(e.int8);
  const text = makeCorpus(29, 60).filter((s) => !/[\ud800-\udfff\u03a3]/.test(s)).join(' ').split(/\s+/).filter(Boolean).slice(0, 40);
  const ours = JSON.parse(execFileSync(BIN, ['kompress', '--model', file, '--scores', '--threads', '1'],
    { input: text.join(' ') }).toString('utf8'));
  const ids = [cfg.cls_token_id], owner = [];
  text.forEach((w, i) => { const t = tok.encode(w, { add_special_tokens: false }).ids; ids.push(...t); owner.push(...t.map(() => i)); });
  ids.push(cfg.sep_token_id);
  assert.ok(ids.length <= Math.min(512, cfg.max_position_embeddings), `one chunk (${ids.length} tokens)`);
  const big = (xs) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
  const s = (await session.run({ input_ids: big(ids), attention_mask: big(ids.map(() => 1)) })).final_scores.data;
  const ref = new Array(text.length).fill(0);
  owner.forEach((w, k) => { ref[w] = Math.max(ref[w], s[k + 1]); });
  assert.equal(ours.words, text.length);
  let worst = 0, agree = 0;
  ref.forEach((r, i) => { worst = Math.max(worst, Math.abs(r - ours.scores[i])); agree += (r > 0.5) === (ours.scores[i] > 0.5); });
  t.diagnostic(`kompress weight-only: max |score diff| ours vs ORT on the file ${worst.toFixed(4)}, keep agreement ${agree}/${text.length}`);
  assert.ok(worst < 0.05, `kompress: ${worst}`);
});

test('truncated, corrupted and hostile ONNX files are clear errors, never a crash', () => {
  const e = exportVariant('router', 'int8');
  const bytes = fs.readFileSync(e.int8);
  const dir = path.join(work, 'bad');
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
    if (fs.existsSync(path.join(e.dir, f))) fs.copyFileSync(path.join(e.dir, f), path.join(dir, f));
  const attempt = (label, buf) => {
    const src = path.join(dir, 'model.onnx'), out = path.join(dir, 'out.hrm');
    fs.writeFileSync(src, buf);
    fs.rmSync(out, { force: true });
    const r = spawnSync(BIN, ['model', 'import', src, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 1, `${label}: exit ${r.status} ${r.signal ?? ''} ${r.stderr}`);
    assert.match(r.stderr, /^headroom model import: .+/, label);
    assert.ok(!fs.existsSync(out), `${label}: no output left`);
    return r.stderr;
  };
  for (const cut of [1, 7, 100, bytes.length >> 2, bytes.length >> 1, bytes.length - 3])
    attempt(`truncated at ${cut}`, bytes.subarray(0, cut));
  let seed = 5;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed; };
  for (let k = 0; k < 12; k++) {
    const b = Buffer.from(bytes);
    for (let j = 0; j < 8; j++) b[rnd() % b.length] ^= 1 + (rnd() % 255);
    fs.writeFileSync(path.join(dir, 'c.onnx'), b);
    const r2 = spawnSync(BIN, ['model', 'import', path.join(dir, 'c.onnx'), '--out', path.join(dir, 'c.hrm')], { encoding: 'utf8' });
    assert.ok(r2.status === 0 || r2.status === 1, `corrupted ${k}: exit ${r2.status} ${r2.signal}`);
  }
  // hostile: a key with wire type 7, a length past the end, external data outside the directory
  assert.match(attempt('wire type 7', Buffer.from([0x3f, 0x00])), /malformed|not an ONNX/);
  assert.match(attempt('length past the end', Buffer.from([0x3a, 0xff, 0xff, 0x03, 0x0a])), /malformed|not an ONNX/);
  const hostile = path.join(dir, 'hostile.onnx');
  execFileSync(PYTHON, ['-c', `
import onnx, sys
from onnx import helper, TensorProto
t = helper.make_tensor("w", TensorProto.FLOAT, [4], [0, 0, 0, 0])
t.data_location = TensorProto.EXTERNAL
del t.float_data[:]
e = t.external_data.add(); e.key = "location"; e.value = "../../etc/passwd"
g = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [t])
open(sys.argv[1], "wb").write(helper.make_model(g).SerializeToString())
`, hostile]);
  assert.match(attempt('external data outside', fs.readFileSync(hostile)), /leaves the model directory/);
  assert.match(attempt('not protobuf', Buffer.from('{"this": "is json"}')), /malformed|not an ONNX/);
});
