// ml_tools.test.mjs: the model tools themselves (tools/gen_model.py, tools/export_onnx.py)
// produce what the rest of the ML tests rely on, checked with independent readers:
// determinism per seed, the safetensors layout (parsed here from the bytes), the
// all-MiniLM-L6-v2 shape, tokenizer.json <-> vocab.txt agreement, and an int8 graph that
// really uses ONNX Runtime's dynamic-quantisation operators (read back with python3-onnx).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUILD_DIR, PYTHON, SOURCE_DIR, exportOnnx, generateModel, loadTokenizer, sharedMiniLM } from './lib/ml_reference.mjs';
import { skipOrFail } from './lib/deps.mjs';

const root = path.join(BUILD_DIR, 'ml-tools');
const gen = (size, seed, name) => {
  const dir = path.join(root, name);
  fs.rmSync(dir, { recursive: true, force: true });
  return generateModel({ size, seed, dir });
};

// Independent safetensors reader: u64 LE header length, JSON header, data after it.
function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  return { buf, n, header, base: 8 + n };
}

test('gen_model is deterministic for a seed and differs across seeds', () => {
  const a = gen('tiny', 9, 'det-a'), b = gen('tiny', 9, 'det-b'), c = gen('tiny', 10, 'det-c');
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.txt'])
    assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${f} identical`);
  assert.ok(!fs.readFileSync(path.join(a, 'model.safetensors')).equals(fs.readFileSync(path.join(c, 'model.safetensors'))),
    'another seed gives other weights');
});

test('safetensors layout: aligned header, contiguous F32 tensors matching their shapes', () => {
  const dir = gen('tiny', 2, 'layout');
  const { buf, n, header, base } = readSafetensors(path.join(dir, 'model.safetensors'));
  assert.equal(n % 8, 0, 'header padded to 8 bytes');
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__')
    .sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]);
  let at = 0;
  for (const [name, t] of entries) {
    assert.equal(t.dtype, 'F32', name);
    assert.equal(t.data_offsets[0], at, `${name} contiguous`);
    assert.equal(t.data_offsets[1] - t.data_offsets[0], 4 * t.shape.reduce((p, d) => p * d, 1), `${name} size`);
    at = t.data_offsets[1];
  }
  assert.equal(base + at, buf.length, 'no trailing bytes');
  const h = cfg.hidden_size;
  assert.deepEqual(header['embeddings.word_embeddings.weight'].shape, [cfg.vocab_size, h]);
  assert.deepEqual(header['encoder.layer.0.intermediate.dense.weight'].shape, [cfg.intermediate_size, h]);
  assert.deepEqual(header[`encoder.layer.${cfg.num_hidden_layers - 1}.output.dense.weight`].shape, [h, cfg.intermediate_size]);
  assert.equal(header[`encoder.layer.${cfg.num_hidden_layers}.output.dense.weight`], undefined);
  // Weights are real numbers with the spread the generator promises (not zeros, no NaN).
  const q = header['encoder.layer.0.attention.self.query.weight'];
  const w = new Float32Array(buf.buffer.slice(buf.byteOffset + base + q.data_offsets[0], buf.byteOffset + base + q.data_offsets[1]));
  const std = Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);
  assert.ok(w.every(Number.isFinite) && std > 0.5 / Math.sqrt(h) && std < 3 / Math.sqrt(h), `query std ${std}`);
});

test('minilm size has the all-MiniLM-L6-v2 shape; tokenizer.json agrees with vocab.txt', async () => {
  const dir = sharedMiniLM();
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.deepEqual([cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads,
    cfg.intermediate_size, cfg.max_position_embeddings, cfg.type_vocab_size, cfg.layer_norm_eps],
  [30522, 384, 6, 12, 1536, 512, 2, 1e-12]);
  const lines = fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'vocab.txt ends with a newline');
  assert.equal(lines.length, 30522);
  assert.equal(new Set(lines).size, lines.length, 'no duplicate tokens');
  const tok = await loadTokenizer(dir);
  lines.forEach((t, i) => { if (tok.token_to_id(t) !== i) assert.fail(`token ${t}: id ${tok.token_to_id(t)} != line ${i}`); });
  assert.deepEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => lines.indexOf(t)), [0, 100, 101, 102, 103]);
  const tj = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  assert.equal(tj.normalizer.type, 'BertNormalizer');
  assert.equal(tj.pre_tokenizer.type, 'BertPreTokenizer');
  assert.deepEqual([tj.model.type, tj.model.unk_token, tj.model.continuing_subword_prefix, tj.model.max_input_chars_per_word],
    ['WordPiece', '[UNK]', '##', 100]);
  assert.deepEqual(tok.encode('The World').tokens, ['[CLS]', 'the', 'world', '[SEP]']);
  const st = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  assert.equal(st('sentence_bert_config.json').max_seq_length, 256);
  assert.equal(st('1_Pooling/config.json').pooling_mode_mean_tokens, true);
  assert.equal(st('1_Pooling/config.json').word_embedding_dimension, 384);
  assert.deepEqual(st('modules.json').map((m) => m.type.split('.').pop()), ['Transformer', 'Pooling', 'Normalize']);
});

test('int8 graph uses DynamicQuantizeLinear + MatMulInteger for every weight MatMul', () => {
  const dir = gen('tiny', 4, 'onnx');
  const { fp32, int8 } = exportOnnx(dir);
  const ops = (file) => JSON.parse(execFileSync(PYTHON, ['-c',
    'import collections, json, onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m); ' +
    'print(json.dumps(collections.Counter(n.op_type for n in m.graph.node)))', file]).toString());
  const f = ops(fp32), q = ops(int8);
  const layers = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).num_hidden_layers;
  const weightMatMuls = 6 * layers; // Q, K, V, attention output, intermediate, output
  assert.equal(f.MatMulInteger, undefined);
  assert.equal(f.MatMul, weightMatMuls + 2 * layers, 'fp32: weights + scores + context');
  assert.equal(q.MatMulInteger, weightMatMuls);
  assert.equal(q.DynamicQuantizeLinear, weightMatMuls);
  assert.equal(q.MatMul, 2 * layers, 'int8: only the activation x activation MatMuls stay fp32');
  assert.ok(fs.statSync(int8).size < fs.statSync(fp32).size, 'int8 graph is smaller');
});

test('committed Unicode tables are exactly what tools/gen_wordpiece_unicode.py generates', (t) => {
  const committed = fs.readFileSync(path.join(SOURCE_DIR, 'src/ml/unicode_wordpiece.c'), 'utf8');
  const version = committed.match(/Unicode ([0-9.]+)/)[1];
  const pyVersion = execFileSync(PYTHON, ['-c', 'import unicodedata; print(unicodedata.unidata_version)']).toString().trim();
  if (pyVersion !== version) {
    skipOrFail(t, `python3 has Unicode ${pyVersion}, the tables ${version}`);
    return;
  }
  const fresh = execFileSync(PYTHON, [path.join(SOURCE_DIR, 'tools/gen_wordpiece_unicode.py')],
    { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  assert.ok(fresh === committed, 'src/ml/unicode_wordpiece.c was edited by hand or the generator changed');
});
