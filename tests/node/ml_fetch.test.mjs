// ml_fetch.test.mjs: `headroom model fetch kompress` against a local HTTP server that serves
// a generated Hub layout (<repo>/resolve/<revision>/<path>): the Kompress checkpoint in the
// PEFT/LoRA layout plus ModernBERT-shaped config.json and tokenizer.json
// (tools/gen_model.py --layout peft), pinned by a --pins file with their SHA-256.
//   - an interrupted download resumes with a Range request and ends in a model file equal
//     to a direct `headroom model import` of the same directory; files are 0600;
//   - a file whose bytes do not match its pin is refused and its partial data deleted;
//   - the built-in table's unpinned entries are refused before any request is made;
//   - progress: plain lines when stderr is not a terminal, a redrawn bar when it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { BUILD_DIR, PYTHON, SOURCE_DIR } from './lib/ml_reference.mjs';

const HEADROOM = process.env.HEADROOM_BIN ?? path.join(BUILD_DIR, 'headroom');
const KOMPRESS = 'chopratejas/kompress-v2-base';
const BASE = 'answerdotai/ModernBERT-base';
const REV_K = 'b1563631b35bfdcee37587ad530147497d820d4c';
const REV_B = '0123456789abcdef0123456789abcdef01234567'; // the test repo's own revision

const work = path.join(BUILD_DIR, 'ml-fetch');
fs.rmSync(work, { recursive: true, force: true });
const gen = path.join(work, 'gen');
execFileSync(PYTHON, [path.join(SOURCE_DIR, 'tools/gen_model.py'), '--arch', 'modernbert', '--size', 'tiny',
  '--seed', '7', '--layout', 'peft', '--out', gen], { stdio: 'pipe' });
const FILES = [[KOMPRESS, REV_K, 'model.safetensors'], [KOMPRESS, REV_K, 'adapter_config.json'],
  [BASE, REV_B, 'config.json'], [BASE, REV_B, 'tokenizer.json']];
const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const content = Object.fromEntries(FILES.map(([, , p]) => [p, fs.readFileSync(path.join(gen, p))]));
const pinsFile = path.join(work, 'pins.txt');
fs.writeFileSync(pinsFile, '# repo revision path sha256\n' +
  FILES.map(([r, v, p]) => `${r} ${v} ${p} ${sha(content[p])}`).join('\n') + '\n');

// A Hub-like server: GET /<repo>/resolve/<rev>/<path>, Range: bytes=N- -> 206. Behaviour
// per test: cutAfter (send that many bytes of model.safetensors once, then reset the
// socket), corrupt (flip a byte of model.safetensors).
function hub(behaviour = {}) {
  const log = [];
  const server = http.createServer((req, res) => {
    const m = req.url.match(/^\/(.+?\/.+?)\/resolve\/([^/]+)\/(.+)$/);
    log.push({ url: req.url, range: req.headers.range ?? null });
    const f = m && FILES.find(([r, v, p]) => r === m[1] && v === m[2] && p === m[3]);
    if (!f) { res.writeHead(404); res.end('not found'); return; }
    let body = content[f[2]];
    if (behaviour.corrupt && f[2] === 'model.safetensors') {
      body = Buffer.from(body);
      body[body.length - 5] ^= 0xff;
    }
    let start = 0;
    const r = (req.headers.range ?? '').match(/^bytes=(\d+)-$/);
    if (r) start = Number(r[1]);
    if (start >= body.length && r) { res.writeHead(416, { 'content-range': `bytes */${body.length}` }); res.end(); return; }
    const part = body.subarray(start);
    res.writeHead(r ? 206 : 200, { 'content-length': part.length, 'accept-ranges': 'bytes',
      ...(r ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
    if (behaviour.cutAfter && f[2] === 'model.safetensors' && !behaviour.cut) {
      behaviour.cut = true;
      res.write(part.subarray(0, behaviour.cutAfter), () => setTimeout(() => res.socket.destroy(), 50));
      return;
    }
    res.end(part);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve({ url: `http://127.0.0.1:${server.address().port}`, log, close: () => server.close() })));
}

function run(args, { tty = false } = {}) {
  return new Promise((resolve) => {
    const [cmd, argv] = tty
      ? ['script', ['-qefc', [HEADROOM, ...args].map((a) => `'${a}'`).join(' '), '/dev/null']]
      : [HEADROOM, args];
    const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const mode = (p) => fs.statSync(p).mode & 0o777;

test('interrupted download resumes with Range and imports the same model as a direct import', async () => {
  const srv = await hub({ cutAfter: 100000 });
  const data = path.join(work, 'data-resume');
  const args = ['model', 'fetch', 'kompress', '--data-dir', data, '--base-url', `${srv.url}/`, '--pins', pinsFile];
  const first = await run(args);
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stderr, /run again to resume/);
  const part = path.join(data, 'models/downloads/kompress/model.safetensors.part');
  const kept = fs.statSync(part).size;
  assert.ok(kept >= 100000 && kept < content['model.safetensors'].length, `part holds ${kept} bytes`);
  assert.equal(mode(part), 0o600);

  const second = await run(args);
  srv.close();
  assert.equal(second.code, 0, second.stderr);
  const ranged = srv.log.filter((l) => l.url.endsWith('/model.safetensors') && l.range);
  assert.deepEqual(ranged.map((l) => l.range), [`bytes=${kept}-`]);
  assert.match(second.stdout, new RegExp(`model.safetensors: ${content['model.safetensors'].length} bytes \\(resumed at ${kept}\\), sha256 ${sha(content['model.safetensors'])} verified`));
  const model = path.join(data, 'models/kompress.hrm');
  assert.equal(mode(model), 0o600);
  assert.equal(mode(path.join(data, 'models')), 0o700);
  assert.ok(!fs.existsSync(path.join(data, 'models/downloads/kompress')), 'downloads removed after import');
  // The fetched model equals importing the generated directory directly (import is deterministic).
  const direct = path.join(work, 'direct.hrm');
  execFileSync(HEADROOM, ['model', 'import', gen, '--out', direct]);
  assert.ok(fs.readFileSync(model).equals(fs.readFileSync(direct)), 'same bytes as a direct import');
  assert.match(execFileSync(HEADROOM, ['model', 'info', model]).toString(), /byte-level bpe/);
});

test('a file that does not match its pin is refused and its partial data deleted', async () => {
  const srv = await hub({ corrupt: true });
  const data = path.join(work, 'data-corrupt');
  const r = await run(['model', 'fetch', 'kompress', '--data-dir', data, '--base-url', srv.url, '--pins', pinsFile]);
  srv.close();
  assert.equal(r.code, 1);
  assert.match(r.stderr, /SHA-256 mismatch .*model\.safetensors/);
  assert.ok(!fs.existsSync(path.join(data, 'models/downloads/kompress/model.safetensors.part')));
  assert.ok(!fs.existsSync(path.join(data, 'models/downloads/kompress/model.safetensors')));
  assert.ok(!fs.existsSync(path.join(data, 'models/kompress.hrm')));
});

test('unpinned built-in entries are refused before any request; --trust-unpinned reports hashes', async () => {
  const srv = await hub();
  const data = path.join(work, 'data-unpinned');
  const r = await run(['model', 'fetch', 'kompress', '--data-dir', data, '--base-url', srv.url]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has no pinned SHA-256/);
  assert.equal(srv.log.length, 0, 'no request made');
  // Trusting: the real Kompress revision is served here, ModernBERT-base at the revision the
  // built-in table pins (the original's) is not.
  const t = await run(['model', 'fetch', 'kompress', '--data-dir', data, '--base-url', srv.url, '--trust-unpinned']);
  srv.close();
  assert.equal(t.code, 1);
  assert.match(t.stderr, new RegExp(`WARNING ${KOMPRESS}/model.safetensors is not pinned; its SHA-256 is ${sha(content['model.safetensors'])}`));
  assert.match(t.stderr, /config\.json: HTTP 404/);
  assert.ok(srv.log.some((l) => l.url === `/${BASE}/resolve/8949b909ec900327062f0ebf497f51aef5e6f0c8/config.json`));
});

test('progress: plain lines off a terminal, a redrawn bar on one', async () => {
  const srv = await hub();
  try {
    const data = path.join(work, 'data-progress');
    const args = ['model', 'fetch', 'kompress', '--data-dir', data, '--base-url', srv.url, '--pins', pinsFile];
    const plain = await run(args);
    assert.equal(plain.code, 0, plain.stderr);
    assert.ok(!plain.stderr.includes('\r'));
    assert.match(plain.stderr, /^fetch model\.safetensors: 100% \(/m);
    // the terminal case needs script(1) and a pseudo-terminal it can open (a chroot or
    // container without /dev/pts has none): checked by running it once
    let hasPty = true;
    try { execFileSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore' }); } catch { hasPty = false; }
    if (hasPty) {
      fs.rmSync(data, { recursive: true, force: true });
      const tty = await run(args, { tty: true });
      assert.equal(tty.code, 0, tty.stdout);
      assert.match(tty.stdout, /\r {2}model\.safetensors +\[#+\] 100%/); // script merges the streams
    }
  } finally {
    srv.close(); // also when an assertion fails: an open server kept the test running to ctest's timeout
  }
});
