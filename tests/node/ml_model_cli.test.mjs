// ml_model_cli.test.mjs: `headroom model import|info` and `headroom embed` as a user runs
// them, on a model generated at test time (tools/gen_model.py, random weights):
//   - import writes a 0600 file deterministically (same directory -> same bytes);
//   - info reports the config, tokenizer and tensors the directory holds, and refuses
//     corrupt (checksum) and truncated files with a clear message and exit code 1;
//   - vocab.txt-only directories import to the same tokenizer and the same embeddings;
//   - embed: one JSON line per input line, unit vectors, deterministic, empty lines work,
//     bad arguments and missing models fail with a message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUILD_DIR, generateModel } from './lib/ml_reference.mjs';

const BIN = process.env.HEADROOM_BIN ?? path.join(BUILD_DIR, 'headroom');
const WORK = path.join(BUILD_DIR, 'ml-model-cli');
fs.mkdirSync(WORK, { recursive: true });
const dir = generateModel({ size: 'tiny', seed: 21, dir: path.join(WORK, 'tiny') });
const model = path.join(WORK, 'tiny.hrm');

function run(args, input) {
  const r = spawnSync(BIN, args, { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function importTo(src, out) {
  const r = run(['model', 'import', src, '--out', out]);
  assert.equal(r.code, 0, r.err);
  return r;
}

test('import writes a private file, byte-identical on re-import', () => {
  const r = importTo(dir, model);
  assert.match(r.out, /sha256 [0-9a-f]{64}/);
  assert.equal(fs.statSync(model).mode & 0o777, 0o600);
  const again = path.join(WORK, 'tiny-again.hrm');
  importTo(dir, again);
  assert.ok(fs.readFileSync(model).equals(fs.readFileSync(again)), 'import is deterministic');
});

test('info describes what the directory held', () => {
  importTo(dir, model);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const vocab = fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').split('\n').filter((l) => l.length);
  const r = run(['model', 'info', model, '--tensors']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /\(verified\)/);
  assert.match(r.out, /^arch +bert$/m);
  assert.match(r.out, new RegExp(`^hidden +${cfg.hidden_size} \\(${cfg.num_attention_heads} heads x ${cfg.hidden_size / cfg.num_attention_heads}\\)$`, 'm'));
  assert.match(r.out, new RegExp(`^layers +${cfg.num_hidden_layers}$`, 'm'));
  assert.match(r.out, new RegExp(`^tokenizer +wordpiece, ${vocab.length} tokens`, 'm'));
  assert.match(r.out, /^special ids +unk 100 cls 101 sep 102 pad 0 mask 103$/m);
  const h = cfg.hidden_size;
  assert.match(r.out, new RegExp(`layer\\.0\\.attn\\.qkv\\.w +i8 +\\[${3 * h}, ${h}\\] \\+ row scales`));
  assert.match(r.out, new RegExp(`emb\\.word +f16 +\\[${cfg.vocab_size}, ${h}\\]`));
});

test('info refuses corrupt and truncated files', () => {
  importTo(dir, model);
  const bytes = fs.readFileSync(model);
  const flipped = Buffer.from(bytes);
  flipped[Math.floor(bytes.length / 2)] ^= 0x40;
  const bad = path.join(WORK, 'flipped.hrm');
  fs.writeFileSync(bad, flipped);
  let r = run(['model', 'info', bad]);
  assert.equal(r.code, 1);
  assert.match(r.err, /checksum mismatch/);
  const cut = path.join(WORK, 'cut.hrm');
  fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 1000));
  r = run(['model', 'info', cut]);
  assert.equal(r.code, 1);
  assert.match(r.err, /truncated/);
  r = run(['model', 'info', path.join(WORK, 'does-not-exist.hrm')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /cannot open/);
});

test('import errors are reported, not crashes', () => {
  let r = run(['model', 'import', WORK, '--out', path.join(WORK, 'x.hrm')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /config\.json/);
  assert.ok(!fs.existsSync(path.join(WORK, 'x.hrm')), 'no file left behind');
  r = run(['model', 'import', dir]);
  assert.equal(r.code, 2, 'missing --out is a usage error');
  r = run(['model', 'frobnicate']);
  assert.equal(r.code, 2);
});

test('vocab.txt alone imports to the same tokenizer and embeddings', () => {
  importTo(dir, model);
  const bare = path.join(WORK, 'tiny-vocab-only');
  fs.mkdirSync(bare, { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'vocab.txt'])
    fs.copyFileSync(path.join(dir, f), path.join(bare, f));
  fs.rmSync(path.join(bare, 'tokenizer.json'), { force: true });
  const other = path.join(WORK, 'tiny-vocab-only.hrm');
  importTo(bare, other);
  const input = 'Hello, World! naïve café\nlogs: ERROR 42 at /usr/lib\n';
  const a = run(['embed', '--model', model], input);
  const b = run(['embed', '--model', other], input);
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  assert.equal(a.out, b.out);
});

test('embed: one unit vector per line, deterministic, empty lines included', () => {
  importTo(dir, model);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const input = 'first line\n\nthird line, longer than the first one\n';
  const r1 = run(['embed', '--model', model], input);
  const r2 = run(['embed', '--model', model], input);
  assert.equal(r1.code, 0, r1.err);
  assert.equal(r1.out, r2.out, 'same input, same bytes');
  const rows = r1.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 3);
  rows.forEach((row, i) => {
    assert.equal(row.index, i);
    assert.equal(row.embedding.length, cfg.hidden_size);
    const norm = Math.sqrt(row.embedding.reduce((s, v) => s + v * v, 0));
    assert.ok(Math.abs(norm - 1) < 1e-5, `row ${i} norm ${norm}`);
  });
  assert.equal(rows[1].tokens, 2, 'an empty line is [CLS] [SEP]');
  const dot = rows[0].embedding.reduce((s, v, k) => s + v * rows[2].embedding[k], 0);
  assert.ok(dot < 0.999, 'different texts give different vectors');
  // --max-seq truncates: a long line uses exactly max-seq tokens
  const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ') + '\n';
  const t = run(['embed', '--model', model, '--max-seq', '16'], long);
  assert.equal(t.code, 0, t.err);
  assert.equal(JSON.parse(t.out).tokens, 16);
});

test('--max-seq: import takes the row (flag, then HEADROOM_MODEL_MAX_SEQ) with bounds; junk is refused by name', () => {
  const out = path.join(WORK, 'tiny-seq.hrm');
  let r = run(['model', 'import', dir, '--out', out, '--max-seq', '32']);
  assert.equal(r.code, 0, r.err);
  assert.match(run(['model', 'info', out]).out, /max_seq\W+32\b/);
  for (const bad of ['0', 'abc', '9x', '70000']) {
    r = run(['model', 'import', dir, '--out', out, `--max-seq=${bad}`]);
    assert.equal(r.code, 2, bad);
    assert.match(r.err, /invalid value .* for --max-seq/, bad);
  }
  const env = { ...process.env, HEADROOM_MODEL_MAX_SEQ: 'x' };
  const e = spawnSync(BIN, ['model', 'import', dir, '--out', out], { env, encoding: 'utf8' });
  assert.equal(e.status, 2);
  assert.match(e.stderr, /HEADROOM_MODEL_MAX_SEQ/);
  for (const bad of ['0', '16x']) {
    r = run(['embed', '--model', model, '--max-seq', bad], 'x\n');
    assert.equal(r.code, 2, bad);
    assert.match(r.err, /invalid --max-seq/);
  }
});

test('embed: usage and model errors', () => {
  let r = run(['embed', '--model', path.join(WORK, 'missing.hrm')], 'x\n');
  assert.equal(r.code, 1);
  assert.match(r.err, /missing\.hrm/);
  r = run(['embed'], 'x\n');
  assert.equal(r.code, 2);
  r = run(['embed', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /--model/);
});
