// tokens_tiktoken.test.mjs: headroom's exact token counter against js-tiktoken (an
// independent implementation) on a generated corpus, for o200k_base and cl100k_base; plus
// `headroom tokens fetch` from a local HTTP server and the estimator fallback.
//
// The corpus avoids the three inputs where js-tiktoken's JavaScript regex and tiktoken's
// Rust regex disagree (U+0085 and U+FEFF in \s, U+017F folding to 's' in contractions);
// headroom follows tiktoken there (docs/tokens.md; checked in test_tokens_pretok.c).
// Characters are drawn from blocks assigned before Unicode 14 (our generated tables).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import { exportRanks, loadRanks } from './tiktoken_export.mjs';

const BIN = process.env.HEADROOM_BIN;
const BUILD = process.env.HEADROOM_BUILD_DIR ?? os.tmpdir();
const DATA = path.join(BUILD, 'tiktoken-data');
const ENCODINGS = ['o200k_base', 'cl100k_base'];

// Deterministic PRNG (mulberry32) so every run checks the same corpus.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BLOCKS = {
  latin: [[0x41, 0x5a], [0x61, 0x7a], [0xc0, 0xff], [0x100, 0x17e]],
  greek: [[0x391, 0x3a9], [0x3b1, 0x3c9]],
  cyrillic: [[0x410, 0x44f]],
  arabic: [[0x621, 0x64a], [0x660, 0x669]],
  hebrew: [[0x5d0, 0x5ea]],
  devanagari: [[0x905, 0x939], [0x93e, 0x94d], [0x966, 0x96f]],
  thai: [[0xe01, 0xe2e], [0xe31, 0xe3a]],
  cjk: [[0x4e00, 0x9fa5]],
  kana: [[0x3041, 0x3096], [0x30a1, 0x30fa]],
  hangul: [[0xac00, 0xd7a3]],
  emoji: [[0x1f600, 0x1f64f], [0x1f300, 0x1f5ff], [0x2600, 0x26ff]],
  marks: [[0x300, 0x36f]],
  fullwidth: [[0xff01, 0xff5e]],
  math: [[0x2200, 0x22ff], [0x1d400, 0x1d44e]],
};
const SPACES = [' ', ' ', ' ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2003', '\v', '\f', '\r'];
const WORDS = ['the', 'The', 'THE', 'error', 'Error', 'FATAL', 'request', 'McDonald', 'naïve',
  'café', 'über', 'iPhone', 'HTTPServer', 'parseJSON', 'snake_case_name', 'x', 'I', 'a',
  'Straße', 'Ĳssel', 'ǅemal', 'œuvre', 'résumé', 'Ελλάδα', 'Москва', 'Ǳ', 'ﬁne'];
const CONTRACTIONS = ["don't", "I'm", "we'll", "they've", "you're", "he'd", "it's", "WE'LL",
  "DON'T", "O'Neil", "rock'n'roll", "'tis", "ma'am", "can'T", "It'S", "we'Ll", "'''", "x'y'z"];

function makeCorpus() {
  const r = rng(20261127);
  const int = (n) => Math.floor(r() * n);
  const pick = (a) => a[int(a.length)];
  const cp = (ranges) => {
    const [lo, hi] = pick(ranges);
    return String.fromCodePoint(lo + int(hi - lo + 1));
  };
  const run = (block, n) => Array.from({ length: n }, () => cp(BLOCKS[block])).join('');
  const corpus = [];
  const add = (kind, text) => corpus.push({ kind, text });

  for (let i = 0; i < 20; i++) {
    const name = pick(['handleRequest', 'parse_config', 'Vec3', 'fooBar2', 'HTTPError']);
    add('code', `function ${name}${i}(a, b) {\n  if (a === null) return b ?? ${i * 37};\n` +
      `  const x = [${i}, ${i * 1000 + 7}, 0x${(i * 48879).toString(16)}];\n` +
      `\treturn a.map((v) => v * 2).filter(Boolean); // TODO: fix #${i}\n}\n` +
      `#include <stdio.h>\nint main(void){printf("%d\\n", ${i});return 0;}\n` +
      `def f_${i}(self, *args, **kw):\n    """Docstring."""\n    return {'k': [1,2,3]}\n`);
  }
  for (let i = 0; i < 20; i++) {
    const lines = [];
    for (let k = 0; k < 5 + int(10); k++) {
      const ts = `2026-11-${String(1 + int(28)).padStart(2, '0')}T0${int(10)}:${int(60)}:${int(60)}.${int(1000)}Z`;
      lines.push(`${ts} ${pick(['INFO', 'WARN', 'ERROR', 'DEBUG'])} [worker-${int(16)}] ` +
        `${pick(['GET', 'POST'])} /api/v${int(3)}/items/${int(1e6)} ${pick([200, 404, 500])} ` +
        `${(r() * 1000).toFixed(2)}ms id=${Math.floor(r() * 2 ** 32).toString(16)} path=/var/log/app.log:${int(999)}`);
    }
    add('log', lines.join(i % 2 ? '\r\n' : '\n'));
  }
  for (let i = 0; i < 20; i++) {
    const obj = { id: i, name: `item-${i}`, tags: ['a', 'b'], price: r() * 100, ok: r() > 0.5,
      nested: { deep: [null, true, -i, 1e-7 * i], s: 'quote"\\slash/' }, uni: run('cjk', 3) };
    add('json', i % 2 ? JSON.stringify(obj) : JSON.stringify(obj, null, 1 + int(4)));
  }
  for (const block of ['cjk', 'kana', 'hangul', 'arabic', 'hebrew', 'devanagari', 'thai',
    'greek', 'cyrillic']) {
    for (let i = 0; i < 5; i++) {
      const parts = [];
      for (let k = 0; k < 3 + int(6); k++) parts.push(run(block, 1 + int(12)));
      add(block, parts.join(pick([' ', '，', '。', ', ', '\n', '、', ' - ', ''])));
    }
  }
  for (let i = 0; i < 15; i++) {
    let s = '';
    for (let k = 0; k < 10 + int(20); k++) {
      s += run('emoji', 1 + int(3));
      if (r() < 0.3) s += '\u200d' + run('emoji', 1); // ZWJ sequences
      if (r() < 0.3) s += '\ufe0f';                      // variation selector (a mark)
      if (r() < 0.4) s += pick([' ', 'ok', '!', '\n', '1️⃣', '👍🏽']);
    }
    add('emoji', s);
  }
  for (let i = 0; i < 15; i++) {
    let s = '';
    for (let k = 0; k < 10 + int(20); k++) {
      s += pick([run('latin', 1), run('cyrillic', 1), run('cjk', 1), ' ', "'", '1', '.', '\n']);
      for (let m = int(4); m > 0; m--) s += run('marks', 1);
    }
    add('combining', s);
  }
  for (let i = 0; i < 15; i++) {
    let s = '';
    for (let k = 0; k < 5 + int(10); k++) {
      s += Array.from({ length: 1 + int(8) }, () => pick(SPACES)).join('') + pick(WORDS.concat(['1', '#', '']));
    }
    add('whitespace', s + (i % 3 === 0 ? '   \n\n\t ' : ''));
  }
  for (let i = 0; i < 15; i++) {
    const nums = [];
    for (let k = 0; k < 12; k++) {
      nums.push(pick([String(int(10 ** (1 + int(12)))), (r() * 1e6).toFixed(int(6)), `-${int(999)}`,
        `${int(99)}%`, `1,${String(int(1000)).padStart(3, '0')},${int(1000)}`, `3.14e-${int(20)}`,
        `0x${int(1e9).toString(16).toUpperCase()}`, run('arabic', 0) + '٣٤٥٦', '१२३४५', '１２３', '²³½']));
    }
    add('numbers', nums.join(pick([' ', ',', '', '\n', ' + '])));
  }
  for (let i = 0; i < 15; i++) {
    const words = [];
    for (let k = 0; k < 8 + int(10); k++) words.push(pick(CONTRACTIONS.concat(WORDS)));
    add('contractions', words.join(pick([' ', '  ', '\n', ', '])));
  }
  for (let i = 0; i < 12; i++) {
    const len = 40 + int(400);
    add('long-word', pick([
      () => run('latin', len),
      () => 'a'.repeat(len),
      () => 'ab'.repeat(len),
      () => Buffer.from(run('latin', len)).toString('base64'),
      () => 'https://example.com/' + run('latin', 30) + '?q=' + 'x'.repeat(len) + '&id=' + int(1e9),
      () => 'sha256:' + Array.from({ length: 64 }, () => int(16).toString(16)).join(''),
      () => ' '.repeat(len),
      () => '\n'.repeat(len % 60) + ' '.repeat(len % 70) + 'end',
      () => '-'.repeat(len) + '=' .repeat(len % 50),
      () => run('cjk', len),
    ])());
  }
  for (let i = 0; i < 20; i++) {
    let s = '';
    const blocks = Object.keys(BLOCKS);
    for (let k = 0; k < 20 + int(40); k++) {
      s += r() < 0.5 ? run(pick(blocks), 1 + int(5)) : pick(SPACES.concat(WORDS, CONTRACTIONS,
        ['.', '...', '!?', '/', '//', '/*', '*/', '\\', '--', '"', "'", '(', ')', '{}', '<|', '|>', '$', '€', '£']));
    }
    add('mixed', s);
  }
  add('special-like', 'before <|endoftext|> after <|fim_prefix|><|endofprompt|> <|unknown|>');
  add('empty', '');
  add('single-space', ' ');
  add('newlines', '\n\n\n');
  add('crlf', 'a\r\nb\r\n\r\nc');
  add('unicode-spaces', 'a\u2000b\u2028c\u2029d\u202fe\u205ff\u1680g\u3000\u3000h\u00a0 i');
  add('titlecase', 'ǅungla ǈudi ǋovi ǲivot ᾈ ᾘ ᾨ Ǆ ǆ');
  add('modifier-letters', 'ʰʲʷ ˠˤ ᴬᴮ ꜝꜞ ʻokina ʼapostrophe ᵃᵇᶜ');
  return corpus;
}

// "<byte length>\n<bytes>" records, the framing of `headroom tokens count --batch`.
function frame(texts) {
  return Buffer.concat(texts.flatMap((t) => {
    const b = Buffer.from(t, 'utf8');
    return [Buffer.from(`${b.length}\n`), b];
  }));
}

function runCount(args, input) {
  const res = spawnSync(BIN, ['tokens', 'count', ...args], { input, maxBuffer: 1 << 28 });
  assert.equal(res.status, 0, res.stderr.toString());
  return { out: res.stdout.toString(), err: res.stderr.toString() };
}

const corpus = makeCorpus();

test('corpus is large and varied', () => {
  assert.ok(corpus.length >= 200, `corpus has ${corpus.length} texts`);
  assert.ok(new Set(corpus.map((c) => c.kind)).size >= 15);
  for (const { text } of corpus) assert.ok(!/[\u0085\ufeff\u017f]/.test(text));
});

for (const enc of ENCODINGS) {
  test(`${enc}: ids equal js-tiktoken on every corpus text (ordinary and special)`, () => {
    exportRanks(DATA);
    const ref = new Tiktoken(loadRanks(enc));
    const texts = corpus.map((c) => c.text);
    for (const special of [false, true]) {
      const args = ['--encoding', enc, '--data-dir', DATA, '--ids', '--batch'];
      const { out, err } = runCount(special ? [...args, '--special'] : args, frame(texts));
      assert.match(err, new RegExp(`counter: ${enc}`));
      const lines = out.split('\n');
      assert.equal(lines.length, texts.length + 1);
      let tokens = 0;
      texts.forEach((t, i) => {
        const want = special ? ref.encode(t, 'all') : ref.encode(t, [], []);
        const got = lines[i] === '' ? [] : lines[i].split(' ').map(Number);
        assert.deepEqual(got, want, `${enc} ${corpus[i].kind} #${i} special=${special}: ${JSON.stringify(t).slice(0, 200)}`);
        tokens += want.length;
      });
      assert.ok(tokens > 10000, `corpus has only ${tokens} tokens`);
    }
  });

  test(`${enc}: counts equal js-tiktoken and the model name picks the encoding`, () => {
    exportRanks(DATA);
    const ref = new Tiktoken(loadRanks(enc));
    const texts = corpus.map((c) => c.text);
    const model = enc === 'o200k_base' ? 'gpt-4o-mini' : 'gpt-4-turbo';
    const { out, err } = runCount(['--model', model, '--data-dir', DATA, '--batch'], frame(texts));
    assert.match(err, new RegExp(`counter: ${enc}`));
    const got = out.trim().split('\n').map(Number);
    assert.deepEqual(got, texts.map((t) => ref.encode(t, [], []).length));
  });
}

// Random "soup" over every code point assigned in our Unicode 14 tables (taken from the
// generator, so the pool matches what we classify), mixed with ASCII, whitespace,
// apostrophes and digits so the pattern alternatives meet in odd combinations.
function soupCorpus(count) {
  const res = spawnSync(process.env.HEADROOM_PYTHON ?? 'python3',
    [path.join(process.env.HEADROOM_SOURCE_DIR, 'tools', 'gen_unicode_tables.py'), '--dump'],
    { maxBuffer: 1 << 26 });
  assert.equal(res.status, 0, res.stderr.toString());
  const N = 0x110000;
  const excluded = new Set([0x85, 0xfeff, 0x17f, 0x295]); // documented divergences
  const pool = [];
  for (let cp = 0; cp < N; cp++)
    if (!res.stdout[N + cp] && !(cp >= 0xd800 && cp <= 0xdfff) && !excluded.has(cp)) pool.push(cp);
  const r = rng(7);
  const int = (n) => Math.floor(r() * n);
  const texts = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    for (let k = 1 + int(120); k > 0; k--) {
      const x = r();
      if (x < 0.3) s += String.fromCodePoint(pool[int(pool.length)]);
      else if (x < 0.65) s += String.fromCharCode(32 + int(95));
      else if (x < 0.8) s += pick(r, SPACES);
      else if (x < 0.9) s += "'" + pick(r, ['s', 'S', 't', 'RE', 'Ve', 'm', 'lL', 'd', 'x', '']);
      else s += String(int(100000));
    }
    texts.push(s);
  }
  return texts;
}
const pick = (r, a) => a[Math.floor(r() * a.length)];

test('random code-point soup: ids equal js-tiktoken for both encodings', () => {
  exportRanks(DATA);
  const texts = soupCorpus(400);
  for (const enc of ENCODINGS) {
    const ref = new Tiktoken(loadRanks(enc));
    const { out } = runCount(['--encoding', enc, '--data-dir', DATA, '--ids', '--batch'], frame(texts));
    const lines = out.split('\n');
    texts.forEach((t, i) => {
      const got = lines[i] === '' ? [] : lines[i].split(' ').map(Number);
      assert.deepEqual(got, ref.encode(t, [], []), `${enc} soup #${i}: ${JSON.stringify(t)}`);
    });
  }
});

test('without a rank file the counter falls back to the estimator and says so', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-tok-empty-'));
  try {
    const text = 'x'.repeat(41) + 'é'.repeat(9); // 50 code points, 59 bytes
    const gpt = runCount(['--model', 'gpt-4o', '--data-dir', empty], text);
    assert.match(gpt.err, /counter: estimate \(o200k_base unavailable: .*No such file/);
    assert.equal(gpt.out.trim(), '13'); // ceil(50 / 4)
    const claude = runCount(['--model', 'claude-sonnet-4-5', '--data-dir', empty], text);
    assert.match(claude.err, /counter: estimate/);
    assert.equal(claude.out.trim(), '15'); // ceil(50 / 3.5)
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('count --batch rejects bad framing instead of reading past the input', () => {
  exportRanks(DATA);
  for (const input of ['5\nhello3\nabc12', '99\nshort', 'x\nabc']) {
    const res = spawnSync(BIN, ['tokens', 'count', '--batch', '--data-dir', DATA], { input });
    assert.equal(res.status, 1, input);
    assert.match(res.stderr.toString(), /bad batch framing/);
  }
  const ok = spawnSync(BIN, ['tokens', 'count', '--batch', '--data-dir', DATA], { input: '5\nhello0\n' });
  assert.equal(ok.status, 0);
  assert.equal(ok.stdout.toString(), '1\n0\n');
});

function serve(files) {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      const body = files[req.url];
      if (!body) { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

test('tokens fetch downloads, verifies SHA-256 and writes 0600 atomically', async () => {
  const src = exportRanks(DATA);
  const good = fs.readFileSync(src.cl100k_base);
  const bad = Buffer.from(good);
  bad[100] ^= 1;
  const server = await serve({ '/enc/cl100k_base.tiktoken': good, '/bad/cl100k_base.tiktoken': bad });
  const base = `http://127.0.0.1:${server.address().port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-tok-fetch-'));
  const fetch = (url, extra = []) => new Promise((resolve) => {
    // Async spawn: the server lives in this process's event loop.
    import('node:child_process').then(({ spawn }) => {
      const p = spawn(BIN, ['tokens', 'fetch', '--encoding', 'cl100k_base', '--url-base', url,
        '--data-dir', dir, ...extra]);
      let err = '';
      p.stderr.on('data', (d) => { err += d; });
      p.on('close', (code) => resolve({ code, err }));
    });
  });
  try {
    const target = path.join(dir, 'tokenizers', 'cl100k_base.tiktoken');
    const rejected = await fetch(`${base}/bad`);
    assert.notEqual(rejected.code, 0);
    assert.match(rejected.err, /does not match/);
    assert.ok(!fs.existsSync(target));
    const tdir = path.join(dir, 'tokenizers');
    const leftovers = fs.existsSync(tdir) ? fs.readdirSync(tdir) : [];
    assert.deepEqual(leftovers, []);

    const missing = await fetch(`${base}/nothing`);
    assert.notEqual(missing.code, 0);
    assert.ok(!fs.existsSync(target));

    const ok = await fetch(`${base}/enc/`);
    assert.equal(ok.code, 0, ok.err);
    assert.ok(fs.readFileSync(target).equals(good));
    assert.equal(fs.statSync(target).mode & 0o777, 0o600);
    // Present and intact: no download. Damaged: fetched again.
    const present = await fetch(`${base}/nothing`);
    assert.equal(present.code, 0, present.err);
    fs.writeFileSync(target, 'damaged', { mode: 0o600 });
    const damagedFromBadUrl = await fetch(`${base}/nothing`);
    assert.notEqual(damagedFromBadUrl.code, 0);
    const repaired = await fetch(`${base}/enc`);
    assert.equal(repaired.code, 0, repaired.err);
    assert.ok(fs.readFileSync(target).equals(good));
    const again = runCount(['--model', 'gpt-4', '--data-dir', dir], 'hello world');
    assert.match(again.err, /counter: cl100k_base/);
    assert.equal(again.out.trim(), '2');
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
