// ml_vision.test.mjs: the SigLIP vision tower (src/ml/vision.c) against ONNX Runtime on the
// same generated weights (tools/gen_model.py --arch siglip, tools/export_onnx.py):
//   1. `headroom embed --vision` on images ImageMagick makes at the model's input size
//      (so no resize is involved: the pixels are the file's, read back by ImageMagick for
//      the ORT input) gives pooled embeddings with cosine >= 0.999 to ORT fp32;
//   2. other sizes and formats (a wide WebP, a JPEG) run through our resize and give an
//      embedding of the model's width; a truncated file is a clear per-line error;
//   3. a text model given to --vision, and a vision model given to plain embed, are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUILD_DIR, cosine, exportOnnx, generateModel, ortSession, ortVisionEmbed } from './lib/ml_reference.mjs';

const BIN = process.env.HEADROOM_BIN ?? path.join(BUILD_DIR, 'headroom');
const IM = '/usr/bin/convert';
const S = 64; // the tiny tower's image size (tools/gen_siglip.py)

const dir = generateModel({ arch: 'siglip', size: 'tiny', seed: 3, dir: path.join(BUILD_DIR, 'ml-siglip-tiny') });
const onnx = exportOnnx(dir);
const model = path.join(dir, 'vit.hrm');
execFileSync(BIN, ['model', 'import', dir, '--out', model], { stdio: 'pipe' });
const work = fs.mkdtempSync(path.join(BUILD_DIR, 'ml-vision-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

const make = (name, ...args) => {
  execFileSync(IM, [...args, path.join(work, name)], { stdio: 'pipe' });
  return path.join(work, name);
};

function ours(files, mdl = model) {
  const r = spawnSync(BIN, ['embed', '--vision', '--model', mdl], { input: files.join('\n') + '\n', encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, rows: r.stdout.trim() ? r.stdout.trim().split('\n').map((l) => JSON.parse(l)) : [] };
}

const ortEmbed = (session, file) => ortVisionEmbed(session, file, S);

test('vision embeddings match ONNX Runtime fp32 (cosine >= 0.999)', async () => {
  const files = [
    make('grad.png', '-size', `${S}x${S}`, 'gradient:navy-orange'),
    make('plasma.png', '-seed', '5', '-size', `${S}x${S}`, 'plasma:fractal'),
    make('text.png', '-size', `${S}x${S}`, 'xc:white', '-fill', 'black', '-pointsize', '14', '-font',
      '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '-annotate', '+2+30', 'ERR 42'),
    make('noise.png', '-seed', '9', '-size', `${S}x${S}`, 'xc:gray', '+noise', 'Random'),
    make('checker.png', '-size', `${S}x${S}`, 'pattern:checkerboard'),
  ];
  const got = ours(files);
  assert.equal(got.status, 0, got.stderr);
  const session = await ortSession(onnx.fp32);
  let worst = 1;
  for (let i = 0; i < files.length; i++) {
    const ref = await ortEmbed(session, files[i]);
    assert.equal(got.rows[i].embedding.length, ref.length);
    const c = cosine(ref, got.rows[i].embedding);
    worst = Math.min(worst, c);
    assert.ok(c >= 0.999, `${path.basename(files[i])}: cosine ${c}`);
  }
  console.log(`vision: min cosine vs ORT fp32 over ${files.length} images ${worst.toFixed(5)}`);
});

test('other sizes and formats are resized; a truncated file is a clear error', () => {
  const wide = make('wide.webp', '-size', '300x120', 'gradient:red-blue');
  const jpg = make('photo.jpg', '-seed', '2', '-size', '200x260', 'plasma:fractal');
  const got = ours([wide, jpg]);
  assert.equal(got.status, 0, got.stderr);
  assert.equal(got.rows.length, 2);
  for (const r of got.rows) assert.equal(r.embedding.length, 64);
  assert.notDeepEqual(got.rows[0].embedding, got.rows[1].embedding);
  const cut = path.join(work, 'cut.jpg');
  fs.writeFileSync(cut, fs.readFileSync(jpg).subarray(0, 300));
  const bad = ours([cut]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /cut\.jpg: jpeg/);
});

test('models of the wrong kind are refused', () => {
  const text = generateModel({ size: 'tiny', seed: 5, dir: path.join(BUILD_DIR, 'ml-embed-tiny') });
  const textModel = path.join(work, 'text.hrm');
  execFileSync(BIN, ['model', 'import', text, '--out', textModel], { stdio: 'pipe' });
  const r = ours([path.join(work, 'grad.png')], textModel);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not a vision model/);
  const e = spawnSync(BIN, ['embed', '--model', model], { input: 'hello\n', encoding: 'utf8' });
  assert.notEqual(e.status, 0);
});
