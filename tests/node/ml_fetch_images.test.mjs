// ml_fetch_images.test.mjs: `headroom model fetch router` and `... siglip` against a local
// Hub-like server serving generated checkpoints (tools/gen_model.py --head classifier /
// --arch siglip) exported as the published files are (tools/export_onnx.py --style torch:
// int8 ONNX graphs named model_quantized.onnx / image_encoder_int8.onnx, the encoder's
// config.json from another repository) and pinned by a --pins file: each ends in a model
// file byte-identical to a direct `headroom model import` of the same .onnx; without pins
// the built-in table's unpinned rows are refused before any request.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { BUILD_DIR, PYTHON, SOURCE_DIR, generateModel } from './lib/ml_reference.mjs';

const BIN = process.env.HEADROOM_BIN ?? path.join(BUILD_DIR, 'headroom');
const work = path.join(BUILD_DIR, 'ml-fetch-images');
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
after(() => fs.rmSync(work, { recursive: true, force: true }));

const REV = 'fedcba9876543210fedcba9876543210fedcba98';
// files: [repository, path] as the built-in pin table lists them; onnx: the graph imported
const MODELS = {
  router: { files: [['chopratejas/technique-router-onnx', 'config.json'], ['chopratejas/technique-router-onnx', 'tokenizer.json'],
    ['chopratejas/technique-router-onnx', 'model_quantized.onnx']], onnx: 'model_quantized.onnx',
  dir: () => generateModel({ size: 'tiny', seed: 7, dir: path.join(BUILD_DIR, 'ml-router-tiny'), head: 'classifier' }) },
  siglip: { files: [['google/siglip-base-patch16-224', 'config.json'],
    ['chopratejas/siglip-image-encoder-onnx', 'image_encoder_int8.onnx']], onnx: 'image_encoder_int8.onnx',
  dir: () => generateModel({ arch: 'siglip', size: 'tiny', seed: 3, dir: path.join(BUILD_DIR, 'ml-siglip-tiny') }) },
};

// The published layout of a generated checkpoint: its int8 graph under the published name.
function published(dir, onnx) {
  const out = path.join(work, `src-${onnx}`);
  fs.mkdirSync(out, { recursive: true });
  for (const f of ['config.json', 'tokenizer.json']) if (fs.existsSync(path.join(dir, f))) fs.copyFileSync(path.join(dir, f), path.join(out, f));
  execFileSync(PYTHON, [path.join(SOURCE_DIR, 'tools/export_onnx.py'), '--model', dir, '--out', path.join(out, 'fp32.onnx'),
    '--int8-out', path.join(out, onnx), '--style', 'torch', '--quant-gather'], { stdio: 'pipe' });
  return out;
}

// The server runs in this process, so the fetch must not block the event loop.
function run(args) {
  return new Promise((resolve) => {
    const p = spawn(BIN, args);
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function serve(dir, files) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    const f = files.find(([repo, p]) => req.url === `/${repo}/resolve/${REV}/${p}`)?.[1];
    if (!f) { res.writeHead(404); res.end(); return; }
    const body = fs.readFileSync(path.join(dir, f));
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, requests, close: () => new Promise((r) => server.close(r)) };
}

for (const [name, m] of Object.entries(MODELS)) {
  test(`model fetch ${name}: pinned download imports to the same bytes as a direct import`, async () => {
    const dir = published(m.dir(), m.onnx);
    const pins = path.join(work, `${name}.pins`);
    fs.writeFileSync(pins, m.files.map(([repo, p]) =>
      `${repo} ${REV} ${p} ${crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, p))).digest('hex')}`).join('\n') + '\n');
    const hub = await serve(dir, m.files);
    try {
      const out = path.join(work, `${name}.hrm`);
      const r = await run(['model', 'fetch', name, '--pins', pins, '--base-url', hub.url, '--out', out,
        '--data-dir', path.join(work, 'data')]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`${name} model ready`));
      const direct = path.join(work, `${name}-direct.hrm`);
      execFileSync(BIN, ['model', 'import', path.join(dir, m.onnx), '--out', direct], { stdio: 'pipe' });
      assert.ok(fs.readFileSync(out).equals(fs.readFileSync(direct)), 'same model file');
      assert.equal(hub.requests.length, m.files.length);
      assert.ok(!fs.existsSync(path.join(work, 'data/models/downloads', name, 'config.json')), 'downloads removed');
    } finally {
      await hub.close();
    }
  });
}

test('model fetch router / siglip without pins: refused before any request', () => {
  for (const name of Object.keys(MODELS)) {
    const r = spawnSync(BIN, ['model', 'fetch', name, '--base-url', 'http://127.0.0.1:9', '--data-dir',
      path.join(work, 'data')], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /pin|SHA-256|unpinned/i);
  }
});
