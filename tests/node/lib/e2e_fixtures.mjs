// e2e_fixtures.mjs: realistic agent tool outputs for the end-to-end tests, generated here
// (deterministic, seeded) and independent of the C code under test. Each generator returns
// {text, needles}: the text an agent tool would print and the substrings that must survive
// compression (error lines, failing tests, changed lines, anomalous rows, asked-about ids).
// Also the shared checks the e2e tests make on what the fake upstream received.
import assert from 'node:assert/strict';
import { withoutRetrieveTool } from './retrieve_tool.mjs';
import { readable } from './json_tables.mjs';

/** Deterministic PRNG (LCG) so every run and every process sees the same bytes. */
export function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
}

/** DB rows as an API dump: one error row, one numeric outlier, one id the user asks about. */
export function dbRows(n = 200, seed = 1) {
  const r = rng(seed);
  const rows = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      id: 480000 + i,
      account: `acct-${Math.floor(r() * 1e6).toString(36)}`,
      status: i === 77 ? 'error: ledger write rejected (deadlock)' : 'settled',
      latency_ms: i === 143 ? 98123 : 40 + Math.floor(r() * 20),
      region: ['eu-west-1', 'us-east-1', 'ap-south-1'][i % 3],
      amount: (Math.floor(r() * 1e6) / 100).toFixed(2),
    });
  }
  return {
    text: JSON.stringify(rows, null, 2),
    query: 'why is transaction 480031 missing from the report?',
    // as the compressed output spells them (minified JSON)
    needles: ['"id":480077', 'ledger write rejected', '98123', '"id":480031'],
  };
}

/** A pytest run of 600 tests with two failures, a traceback and a summary line. */
export function pytestLog(n = 600, seed = 2) {
  const r = rng(seed);
  const lines = ['============================= test session starts ==============================',
    'platform linux -- Python 3.11.2, pytest-7.4.0, pluggy-1.2.0', `collected ${n} items`, ''];
  for (let i = 0; i < n; i++) {
    const mod = `tests/test_mod${i % 17}.py`;
    const name = `test_case_${i}_${Math.floor(r() * 1e4)}`;
    if (i === 211 || i === 498) lines.push(`${mod}::${name} FAILED`);
    else lines.push(`${mod}::${name} PASSED                                     [${String(Math.floor((i * 100) / n)).padStart(3)}%]`);
  }
  lines.push('', '=================================== FAILURES ===================================',
    '____________________________ test_case_211_checkout ____________________________',
    'Traceback (most recent call last):',
    '  File "tests/test_mod7.py", line 88, in test_case_211_checkout',
    '    assert total == 1299',
    'E   AssertionError: assert 1301 == 1299',
    `=========================== 2 failed, ${n - 2} passed in 41.27s ===========================`);
  return {
    text: lines.join('\n'),
    query: 'which tests failed?',
    // every failing test's line, the assertion and the summary
    needles: [...lines.filter((l) => l.endsWith(' FAILED')), 'AssertionError: assert 1301 == 1299', `2 failed, ${n - 2} passed`],
  };
}

/** grep -rn output over 60 files, one match the user asked about, one error line. */
export function grepOutput(files = 60, perFile = 8, seed = 3) {
  const r = rng(seed);
  const lines = [];
  for (let f = 0; f < files; f++) {
    for (let k = 0; k < perFile; k++) {
      const line = 10 + k * 13 + Math.floor(r() * 5);
      let text = `    const handler${k} = registry.lookup("route_${f}_${k}");`;
      if (f === 41 && k === 5) text = '    throw new Error("reconcileInvoices: negative balance");';
      if (f === 23 && k === 3) text = '    return reconcileInvoices(batch, { strict: true });';
      lines.push(`src/module${f}/service${f % 7}.ts:${line}:${text}`);
    }
  }
  return {
    text: lines.join('\n'),
    query: 'where is reconcileInvoices called?',
    needles: ['reconcileInvoices(batch', 'negative balance'],
  };
}

/** A unified diff of 12 files; every +/- line must survive. */
export function unifiedDiff(files = 12, seed = 4) {
  const r = rng(seed);
  const out = [];
  const changed = [];
  for (let f = 0; f < files; f++) {
    out.push(`diff --git a/lib/part${f}.py b/lib/part${f}.py`, `index ${(f * 7919).toString(16).padStart(7, '0')}..${(f * 104729).toString(16).padStart(7, '0')} 100644`,
      `--- a/lib/part${f}.py`, `+++ b/lib/part${f}.py`);
    for (let h = 0; h < 3; h++) {
      const start = 20 + h * 60;
      out.push(`@@ -${start},14 +${start},14 @@ def fn_${f}_${h}():`);
      for (let c = 0; c < 6; c++) out.push(`     value_${c} = compute(${c}, ${Math.floor(r() * 100)})`);
      const minus = `-    limit = ${f * 10 + h}`;
      const plus = `+    limit = ${f * 10 + h + 1}  # raised for batch ${f}`;
      out.push(minus, plus);
      changed.push(minus, plus);
      for (let c = 0; c < 6; c++) out.push(`     other_${c} = helper(${c})`);
    }
  }
  return { text: out.join('\n'), query: 'review this change', needles: changed };
}

/** Long prose with repeated runs (as agents paste docs / progress output). */
export function longProse(paras = 40, seed = 5) {
  const r = rng(seed);
  const words = ['the', 'scheduler', 'retries', 'each', 'job', 'after', 'a', 'backoff', 'window', 'and', 'records',
    'state', 'in', 'ledger', 'so', 'operators', 'can', 'audit', 'failures', 'later'];
  const out = [];
  for (let p = 0; p < paras; p++) {
    const s = [];
    for (let w = 0; w < 60; w++) s.push(words[Math.floor(r() * words.length)]);
    out.push(s.join(' ') + '.');
    out.push('');
    for (let k = 0; k < 12; k++) out.push('Downloading shards... 100% [====================] done');
    out.push('', '', '', '');
  }
  out.push('IMPORTANT: key rotation id KR-99173 must happen before Friday.');
  return { text: out.join('\n'), query: 'summarise', needles: ['KR-99173'] };
}

export const MARKER_RE = /\[(\d+) (items|lines|matches|hunks) compressed to (\d+)\. Retrieve more: hash=([0-9a-f]{24})\]/g;

/** The proxy's count of compressed spans it replayed from the session cache so far
 *  (/stats compression.spans_replayed). Replay tests assert it grows per turn: compression
 *  is deterministic, so identical bytes alone do not show a replay happened. */
export async function spansReplayed(url) {
  const stats = await (await fetch(`${url}/stats`)).json();
  return stats.compression?.spans_replayed ?? 0;
}

/** Every marker in a text: [{n, unit, m, hash}] */
export function markersIn(text) {
  return [...text.matchAll(MARKER_RE)].map((x) => ({ n: Number(x[1]), unit: x[2], m: Number(x[3]), hash: x[4] }));
}

/** Index just past the JSON value starting at text[k] (strings, objects, arrays, scalars). */
export function skipJsonValue(text, k) {
  let depth = 0;
  for (let i = k; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; text[i] !== '"'; i += text[i] === '\\' ? 2 : 1);
      if (depth === 0) return i + 1;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') { if (--depth === 0) return i + 1; }
    else if (depth === 0 && /[,}\]]/.test(text[i + 1] ?? ',')) return i + 1;
  }
  return text.length;
}

/**
 * Asserts every byte of `got` outside the JSON string literals of `changed` texts equals
 * `sent`, once the `headroom_retrieve` tool the proxy appends when the body holds markers is
 * removed (lib/retrieve_tool.mjs, which throws if the tool sits anywhere else). Walks both
 * bodies; at a changed string literal in `sent` it skips the corresponding literal in `got`.
 * Returns {replaced, injected}: how many literals changed and whether the tool was added.
 */
export function assertOnlyToolOutputsChanged(sent, got, changedTexts) {
  const s = Buffer.from(sent).toString('utf8');
  const stripped = withoutRetrieveTool(got);
  const g = stripped.body.toString('utf8');
  const lits = changedTexts.map((t) => JSON.stringify(t));
  let i = 0;
  let j = 0;
  let replaced = 0;
  while (i < s.length) {
    const lit = lits.find((l) => s.startsWith(l, i));
    if (lit && g[j] === '"' && !g.startsWith(lit, j)) {
      i += lit.length;
      j = skipJsonValue(g, j);
      replaced++;
      continue;
    }
    if (s[i] !== g[j]) assert.fail(`bodies differ outside tool outputs at sent[${i}] / got[${j}]: ${JSON.stringify(s.slice(i, i + 60))} vs ${JSON.stringify(g.slice(j, j + 60))}`);
    i++;
    j++;
  }
  assert.equal(j, g.length, 'nothing appended after the body');
  return { replaced, injected: stripped.injected };
}

/** Every needle appears in text, as written or with SmartCrusher's tables expanded back
 * to objects (json_tables.mjs), with a readable message. */
export function assertNeedles(text, needles, what) {
  const view = readable(text);
  for (const n of needles) assert.ok(text.includes(n) || view.includes(n), `${what}: needle ${JSON.stringify(n)} survived`);
}

// Prose an agent might read (a man page / changelog register), with must-keep words: what
// detection types as prose and sends to Kompress (kompress_proxy, the soak).
export function manPageProse(paragraphs, seed = 1) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const subj = ['The server', 'This option', 'The default behaviour', 'A later release', 'The cache', 'Each worker'];
  const verb = ['now rejects', 'quietly ignores', 'no longer writes', 'carefully checks', 'usually retries', 'always logs'];
  const obj = ['requests that arrive after the shutdown signal', 'any file listed in --exclude',
    'the value of HEADROOM_PORT when it is set', 'entries older than the configured limit',
    'connections that stay idle for a long while', 'the final summary at the end of the run'];
  const tail = ['as described in docs/config.md.', 'since version 2.4.1.', 'unless ERROR is raised first.',
    'which was a frequent source of confusion for users.', 'and this is what most people want in practice.'];
  const out = [];
  for (let p = 0; p < paragraphs; p++) {
    const lines = [];
    for (let l = 0; l < 4; l++) lines.push(`${p % 3 ? '    ' : ''}${pick(subj)} ${pick(verb)} ${pick(obj)} ${pick(tail)}`);
    out.push(lines.join('\n'));
  }
  return out.join('\n\n') + '\n';
}
