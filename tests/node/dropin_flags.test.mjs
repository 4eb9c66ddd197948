// dropin_flags.test.mjs: the Python original's `headroom proxy` flags and variables are
// accepted (mapped to ours, or accepted with one warning), its documented command lines
// start the proxy, and docs/configuration.md carries the alias table the binary prints.
//
// ORIGINAL_FLAGS is transcribed from the original's CLI (headroom/cli/proxy.py, its click
// options) and DOC_COMMANDS from its README and docs/proxy, configuration pages: they are
// the reference, not our output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProxy, HEADROOM_BIN, SOURCE_DIR } from './lib/proxy.mjs';
import { startFakeUpstream } from './lib/fake_upstream.mjs';

const ORIGINAL_FLAGS = [
  '--host', '--port', '-p', '--workers', '--limit-concurrency', '--max-connections', '--max-keepalive',
  '--keepalive-expiry', '--mode', '--target-ratio', '--intercept-tool-results', '--no-optimize', '--no-cache',
  '--no-rate-limit', '--rpm', '--tpm', '--no-ccr-inject-tool', '--no-ccr-marker', '--no-ccr-proactive-expansion',
  '--proxy-extension', '--no-subscription-tracking', '--subscription-poll-interval', '--retry-max-attempts',
  '--request-timeout-seconds', '--connect-timeout-seconds', '--anthropic-buffered-request-timeout-seconds',
  '--anthropic-pre-upstream-concurrency', '--anthropic-pre-upstream-acquire-timeout-seconds',
  '--anthropic-pre-upstream-memory-context-timeout-seconds', '--log-file', '--log-messages', '--codex-wire-debug',
  '--codex-wire-debug-dir', '--budget', '--budget-period', '--code-aware', '--no-code-aware', '--disable-kompress',
  '--disable-kompress-fallback', '--disable-kompress-anthropic', '--enable-kompress-anthropic',
  '--disable-kompress-openai', '--enable-kompress-openai', '--code-graph', '--no-read-lifecycle', '--read-maturation',
  '--read-maturation-quiesce-turns', '--read-maturation-max-hold-turns', '--read-maturation-min-size-bytes',
  '--memory', '--memory-db-path', '--memory-storage', '--memory-project-root', '--no-memory-tools',
  '--no-memory-context', '--memory-top-k', '--memory-qdrant-url', '--memory-qdrant-host', '--memory-qdrant-port',
  '--memory-qdrant-api-key', '--learn', '--no-learn', '--min-evidence', '--backend', '--anyllm-provider',
  '--anthropic-api-url', '--openai-api-url', '--gemini-api-url', '--cloudcode-api-url', '--vertex-api-url',
  '--region', '--bedrock-region', '--bedrock-profile', '--bedrock-api-url', '--telemetry', '--no-telemetry',
  '--stateless', '--embedding-server', '--no-embedding-server', '--embedding-server-socket',
  '--protect-tool-results', '--exclude-tools',
];
const BOOLEAN_FLAGS = new Set([
  '--intercept-tool-results', '--no-optimize', '--no-cache', '--no-rate-limit', '--no-ccr-inject-tool',
  '--no-ccr-marker', '--no-ccr-proactive-expansion', '--no-subscription-tracking', '--log-messages',
  '--codex-wire-debug', '--code-aware', '--no-code-aware', '--disable-kompress', '--disable-kompress-fallback',
  '--disable-kompress-anthropic', '--enable-kompress-anthropic', '--disable-kompress-openai',
  '--enable-kompress-openai', '--code-graph', '--no-read-lifecycle', '--read-maturation', '--memory',
  '--no-memory-tools', '--no-memory-context', '--learn', '--no-learn', '--telemetry', '--no-telemetry',
  '--stateless', '--embedding-server', '--no-embedding-server',
]);
// flag -> a valid value (the rest of the value flags take a number)
const SAMPLE_VALUES = {
  '--host': '127.0.0.1', '--port': '0', '-p': '0', '--mode': 'cache', '--log-file': 'x.log', '--budget-period': 'daily',
  '--memory-storage': 'project', '--exclude-tools': 'Bash', '--protect-tool-results': 'Bash', '--backend': 'anthropic',
  '--anyllm-provider': 'openai', '--region': 'us-west-2', '--bedrock-region': 'us-west-2', '--bedrock-profile': 'default',
  '--proxy-extension': 'x', '--codex-wire-debug-dir': '/tmp', '--memory-db-path': '/tmp/m.db',
  '--memory-project-root': '/tmp', '--embedding-server-socket': '/tmp/e.sock', '--memory-qdrant-host': 'localhost',
  '--memory-qdrant-api-key': 'k', '--target-ratio': '0.5', '--keepalive-expiry': '90',
};
const sampleValue = (f) => SAMPLE_VALUES[f] ?? (f.endsWith('-url') ? 'http://127.0.0.1:9' : '5');

// The original's documented command lines (README, docs/proxy, docs/configuration) and
// the variables its docs export. Ports are the documented ones; the test swaps in 0 so
// parallel runs never collide.
const DOC_COMMANDS = [
  { args: [] },
  { args: ['--host', '0.0.0.0', '--port', '8080'] },
  { args: ['--port', '8787'] },
  { args: ['-p', '8787'] },
  { args: ['--no-optimize'] },
  { args: ['--no-cache'] },
  { args: ['--mode', 'cache'] },
  { args: ['--mode', 'token'] },
  { args: ['--memory'] },
  { args: ['--learn', '--min-evidence', '3'] },
  { args: ['--codex-wire-debug'] },
  { args: ['--port', '8787', '--host', '0.0.0.0', '--mode', 'token', '--budget', '10.00'] },
  { args: ['--budget', '100.0'] },
  { args: ['--backend', 'bedrock', '--region', 'us-east-1'] },
  { args: ['--backend', 'vertex_ai', '--region', 'us-central1'] },
  { args: ['--backend', 'azure'] },
  { args: ['--backend', 'openrouter'], env: { OPENROUTER_API_KEY: 'sk-or-test' } },
  { args: ['--bedrock-api-url', 'http://127.0.0.1:4000'] },
  { args: ['--telemetry'] },
  { args: ['--no-telemetry'] },
  { args: ['--stateless'] },
  { args: ['--no-read-lifecycle'] },
  { args: ['--code-aware'] },
  { args: ['--code-graph'] },
  { args: [], env: { HEADROOM_HOST: '127.0.0.1', HEADROOM_PORT: '0', HEADROOM_BUDGET: '100.0' } },
  { args: [], env: { BEDROCK_TARGET_API_URL: 'http://127.0.0.1:4000', HEADROOM_TELEMETRY: 'off' } },
  { args: [], env: { HEADROOM_MODE: 'cost_savings', HEADROOM_STATELESS: 'true', HEADROOM_WORKERS: '4' } },
];

const zeroPort = (args) => args.map((a, i) => (['--port', '-p'].includes(args[i - 1]) ? '0' : a));

let up;
let tmp;
before(async () => {
  up = await startFakeUpstream();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-dropin-flags-'));
});
after(async () => {
  await up.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const health = async (p) => (await (await fetch(`${p.url}/health`)).json()).config;
const warnings = (logs) => logs.split('\n').filter((l) => l.includes('accepted without effect'));

test('the alias table in docs/configuration.md is the one the binary prints', () => {
  const r = spawnSync(HEADROOM_BIN, ['proxy', '--compat-table'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  const docs = fs.readFileSync(path.join(SOURCE_DIR, 'docs/configuration.md'), 'utf8');
  assert.ok(docs.includes(r.stdout), 'docs/configuration.md embeds `headroom proxy --compat-table` verbatim (regenerate it)');
  for (const f of ORIGINAL_FLAGS) assert.ok(r.stdout.includes(`\`${f}\``), `${f} has a row`);
});

test('every flag of the original is accepted: the proxy starts, ignored ones are named in one warning', async () => {
  const table = spawnSync(HEADROOM_BIN, ['proxy', '--compat-table'], { encoding: 'utf8' }).stdout;
  const flagged = [];
  for (const f of ORIGINAL_FLAGS) {
    assert.ok(table.includes(`\`${f}\``), f);
    flagged.push(...(BOOLEAN_FLAGS.has(f) ? [f] : [f, sampleValue(f)]));
  }
  // --log-file sends the log to the file: start without it here, it has its own test
  const i = flagged.indexOf('--log-file');
  flagged.splice(i, 2);
  const p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: flagged });
  try {
    const w = warnings(p.logs());
    assert.equal(w.length, 1, 'exactly one warning line');
    for (const f of ['--budget', '--memory', '--workers', '--max-connections', '--rpm', '--backend']) assert.ok(w[0].includes(f), `${f} named`);
    for (const f of ['--retry-max-attempts', '--request-timeout-seconds', '--stateless', '--mode']) assert.ok(!w[0].includes(`${f},`) && !w[0].endsWith(f), `${f} is mapped, not ignored`);
    assert.equal((await fetch(`${p.url}/readyz`)).status, 200);
  } finally {
    await p.stop();
  }
});

for (const [n, c] of DOC_COMMANDS.entries()) {
  test(`documented command line ${n}: headroom proxy ${c.args.join(' ')} ${Object.keys(c.env || {}).join(' ')}`, async () => {
    const p = await startProxy({ args: zeroPort(c.args), env: { HEADROOM_DATA_DIR: tmp, ...(c.env || {}) } });
    try {
      assert.equal((await fetch(`${p.url}/readyz`)).status, 200);
      assert.ok(warnings(p.logs()).length <= 1);
      assert.ok(!/unknown option|invalid value/.test(p.logs()));
    } finally {
      assert.equal(await p.stop(), 0);
    }
  });
}

test('mapped flags and variables take effect; an explicit flag beats the variable', async () => {
  const p = await startProxy({
    openaiUrl: up.url, anthropicUrl: up.url,
    args: ['--retry-max-attempts', '5', '--request-timeout-seconds', '42', '--connect-timeout-seconds', '7', '--limit-concurrency', '77', '--mode', 'cost_savings'],
    env: { HEADROOM_RETRY_MAX_ATTEMPTS: '2', HEADROOM_CONNECT_TIMEOUT_SECONDS: '3' },
  });
  try {
    const c = await health(p);
    assert.equal(c.retry_attempts, 5);
    assert.equal(c.upstream_timeout_s, 42);
    assert.equal(c.connect_timeout_s, 7);
    assert.equal(c.max_connections, 77);
    assert.equal(c.mode, 'cache');
    assert.equal(warnings(p.logs()).length, 0, 'nothing ignored, no warning');
  } finally {
    await p.stop();
  }
  const q = await startProxy({ env: { HEADROOM_RETRY_MAX_ATTEMPTS: '4', HEADROOM_REQUEST_TIMEOUT: '9', HEADROOM_MODE: 'token_headroom' } });
  try {
    const c = await health(q);
    assert.equal(c.retry_attempts, 4);
    assert.equal(c.upstream_timeout_s, 9);
    assert.equal(c.mode, 'token');
  } finally {
    await q.stop();
  }
});

const bigToolOutput = () => JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ id: i, status: i === 137 ? 'error: disk full' : 'ok', host: `web-${i % 7}`, latency_ms: 20 + (i % 13) })));
const chat = (tool) => JSON.stringify({ model: 'gpt-4o', messages: [
  { role: 'user', content: 'which host failed?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: tool, arguments: '{}' } }] },
  { role: 'tool', tool_call_id: 'c1', content: bigToolOutput() }] });
async function forwardedToolOutput(p, tool) {
  up.reset();
  const r = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' }, body: chat(tool) });
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  return JSON.parse(up.requests[0].body).messages[2].content;
}

test('--no-optimize forwards tool outputs unchanged; --stateless writes nothing to the data dir', async () => {
  const dataDir = fs.mkdtempSync(path.join(tmp, 'state-'));
  const p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--no-optimize', '--stateless'], env: { HEADROOM_DATA_DIR: dataDir } });
  try {
    assert.equal(await forwardedToolOutput(p, 'Bash'), bigToolOutput());
  } finally {
    await p.stop();
  }
  assert.deepEqual(fs.readdirSync(dataDir), [], 'no store file');
  const q = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--stateless'], env: { HEADROOM_DATA_DIR: dataDir } });
  try {
    assert.notEqual(await forwardedToolOutput(q, 'Bash'), bigToolOutput(), 'compressed without --no-optimize');
  } finally {
    await q.stop();
  }
  assert.deepEqual(fs.readdirSync(dataDir), [], 'originals kept in memory only');
});

test('excluded tools as the original: defaults, case-insensitive, globs, merged lists, --protect-tool-results', async () => {
  const p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--exclude-tools', 'mcp__*', '--protect-tool-results', 'kubectl'] });
  try {
    for (const tool of ['Read', 'grep', 'GLOB', 'write', 'Edit', 'mcp__github__list_issues', 'KUBECTL']) {
      assert.equal(await forwardedToolOutput(p, tool), bigToolOutput(), `${tool} untouched`);
    }
    assert.notEqual(await forwardedToolOutput(p, 'Bash'), bigToolOutput(), 'other tools compressed');
  } finally {
    await p.stop();
  }
});

test('--log-file appends the log lines to the file', async () => {
  const file = path.join(tmp, 'headroom.jsonl');
  const proc = spawn(HEADROOM_BIN, ['proxy', '--port', '0', '--log-file', file, '--log-format', 'json'], { stdio: 'ignore' });
  try {
    let port = 0;
    for (let i = 0; i < 500 && !port; i++) {
      const m = fs.existsSync(file) && fs.readFileSync(file, 'utf8').match(/"listening".*?"port":"(\d+)"/);
      if (m) port = Number(m[1]);
      else await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(port, 'the listening line is in the file');
    assert.equal((await fetch(`http://127.0.0.1:${port}/livez`)).status, 200);
    await new Promise((r) => setTimeout(r, 100));
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.msg === 'request' && l.route === 'livez'), 'request line logged as JSON');
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
  }
});

test('--no-ccr-inject-tool / HEADROOM_NO_CCR_INJECT_TOOL: compressed, marked, but no headroom_retrieve tool offered', async () => {
  for (const opts of [{ args: [] }, { args: ['--no-ccr-inject-tool'] }, { args: [], env: { HEADROOM_NO_CCR_INJECT_TOOL: 'true' } }]) {
    const p = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, ...opts });
    try {
      const out = await forwardedToolOutput(p, 'Bash');
      assert.match(out, /Retrieve more: hash=[0-9a-f]{24}\]/, 'compressed with a marker');
      const tools = (JSON.parse(up.requests[0].body).tools || []).map((t) => t.function?.name);
      assert.equal(tools.includes('headroom_retrieve'), opts.args.length === 0 && !opts.env, JSON.stringify(opts));
    } finally {
      await p.stop();
    }
  }
});
