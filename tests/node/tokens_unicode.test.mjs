// tokens_unicode.test.mjs: the pre-tokeniser's character classes against V8's Unicode
// regex classes (an independent implementation, ICU data), for every code point, and the
// committed src/tokens/unicode_tables.c against a fresh run of its generator.
// Allowed differences, all documented in docs/tokens.md: code points our Unicode 14 data
// leaves unassigned, U+0085 and U+FEFF (tiktoken's \s is White_Space, JavaScript's is not),
// and U+0295 (Ll in Unicode 14, Lo later).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const SRC = process.env.HEADROOM_SOURCE_DIR;
const PY = process.env.HEADROOM_PYTHON ?? 'python3';
const GEN = path.join(SRC, 'tools', 'gen_unicode_tables.py');

function run(args) {
  const res = spawnSync(PY, [GEN, ...args], { maxBuffer: 1 << 26 });
  assert.equal(res.status, 0, res.stderr.toString());
  return res.stdout;
}

test('committed unicode_tables.c is what the generator writes', () => {
  const committed = fs.readFileSync(path.join(SRC, 'src', 'tokens', 'unicode_tables.c'));
  assert.ok(run([]).equals(committed), 'rerun tools/gen_unicode_tables.py');
});

test('character classes agree with V8 regex classes on every assigned code point', () => {
  const dump = run(['--dump']);
  const N = 0x110000;
  assert.equal(dump.length, 2 * N);
  const re = [[1, /\p{L}/u], [2, /[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]/u], [4, /[\p{Ll}\p{Lm}\p{Lo}\p{M}]/u],
    [8, /\p{N}/u], [16, /\s/u], [32, /\p{M}/u]];
  const documented = new Set([0x85, 0xfeff, 0x295]);
  const unexpected = [];
  let compared = 0;
  for (let cp = 0; cp < N; cp++) {
    if ((cp >= 0xd800 && cp <= 0xdfff) || dump[N + cp]) continue; // surrogates, unassigned
    const c = String.fromCodePoint(cp);
    let js = 0;
    for (const [bit, r] of re) if (r.test(c)) js |= bit;
    compared++;
    if (js !== dump[cp] && !documented.has(cp)) unexpected.push(cp.toString(16));
  }
  assert.ok(compared > 280000, `compared ${compared}`);
  assert.deepEqual(unexpected.slice(0, 20), []);
  assert.ok(dump[0x85] & 16 && !(dump[0xfeff] & 16));
});
