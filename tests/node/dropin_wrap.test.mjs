// dropin_wrap.test.mjs: `headroom wrap AGENT` / `headroom unwrap AGENT` for every agent the
// original wraps, with stand-in agent executables that record their arguments, environment
// and MCP config file as they ran. After unwrap the home directory is back byte for byte
// (files, and no directory left behind).
//
// The expected variables are the ones each agent documents for a custom endpoint (Claude
// Code ANTHROPIC_BASE_URL, Codex OPENAI_BASE_URL, aider OPENAI_API_BASE, goose
// ANTHROPIC_HOST/OPENAI_HOST, OpenHands LLM_BASE_URL, Copilot CLI COPILOT_PROVIDER_*,
// opencode OPENCODE_CONFIG_CONTENT), and the MCP files the ones they read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startProxy, HEADROOM_BIN } from './lib/proxy.mjs';

const CLINE_DIR = '.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings';
// agent -> executable, the variables it must see (B = proxy root, V1 = root + /v1), its MCP
// file (relative to HOME) and that file's content before wrap (null: absent).
const AGENTS = {
  claude: { exe: 'claude', env: { ANTHROPIC_BASE_URL: 'B' }, mcp: '.claude.json',
    before: '{\n  "numStartups": 12,\n  "mcpServers": {\n    "github": {"command": "gh-mcp"}\n  },\n  "theme": "dark"\n}\n' },
  codex: { exe: 'codex', env: { OPENAI_BASE_URL: 'V1' }, mcp: '.codex/config.toml',
    before: 'model = "gpt-5"\n\n[mcp_servers.docs]\ncommand = "docs-mcp"' },
  copilot: { exe: 'copilot', env: { COPILOT_PROVIDER_BASE_URL: 'V1', COPILOT_PROVIDER_TYPE: 'openai' }, mcp: '.copilot/mcp-config.json', before: null },
  aider: { exe: 'aider', env: { OPENAI_API_BASE: 'V1', ANTHROPIC_BASE_URL: 'B' } },
  cursor: { exe: 'cursor-agent', env: { OPENAI_BASE_URL: 'V1', ANTHROPIC_BASE_URL: 'B' }, mcp: '.cursor/mcp.json', before: '{}' },
  cline: { exe: 'cline', env: { OPENAI_BASE_URL: 'V1', ANTHROPIC_BASE_URL: 'B' }, mcp: `${CLINE_DIR}/cline_mcp_settings.json`, before: '{"mcpServers":{}}' },
  continue: { exe: 'cn', env: { OPENAI_BASE_URL: 'V1', ANTHROPIC_BASE_URL: 'B' }, mcp: '.continue/mcpServers/headroom.yaml', before: null, keep: '.continue/config.yaml' },
  goose: { exe: 'goose', env: { ANTHROPIC_HOST: 'B', OPENAI_HOST: 'B' } },
  openhands: { exe: 'openhands', env: { LLM_BASE_URL: 'V1' } },
  openclaw: { exe: 'openclaw', env: { ANTHROPIC_BASE_URL: 'B', OPENAI_BASE_URL: 'V1' } },
  opencode: { exe: 'opencode', env: {} },
  vibe: { exe: 'vibe', env: { OPENAI_BASE_URL: 'V1' }, mcp: '.vibe/config.toml', before: 'active_model = "devstral"\n\n[[providers]]\nname = "mistral"\napi_base = "https://api.mistral.ai/v1"\n' },
};

let tmp, home, bin, rec, proxy;
const STANDIN = `#!/usr/bin/env node
const fs = require('fs'), path = require('path');
const name = path.basename(process.argv[1]);
const mcp = process.env.STANDIN_MCP ? path.join(process.env.HOME, process.env.STANDIN_MCP) : null;
fs.writeFileSync(path.join(process.env.STANDIN_RECORD, name + '.json'), JSON.stringify({
  argv: process.argv.slice(2), env: process.env,
  mcp: mcp && fs.existsSync(mcp) ? fs.readFileSync(mcp, 'utf8') : null }));
`;

// every file under dir with its bytes, and every directory
function snapshot(dir) {
  const out = {};
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { out[path.relative(dir, p) + '/'] = 'dir'; walk(p); }
      else out[path.relative(dir, p)] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-dropin-wrap-'));
  home = path.join(tmp, 'home');
  bin = path.join(tmp, 'bin');
  rec = path.join(tmp, 'rec');
  for (const d of [home, bin, rec, path.join(home, CLINE_DIR)]) fs.mkdirSync(d, { recursive: true });
  fs.mkdirSync(path.join(home, '.continue'));
  fs.writeFileSync(path.join(home, '.continue/config.yaml'), 'name: mine\nmodels: []\n');
  for (const a of Object.values(AGENTS)) {
    fs.writeFileSync(path.join(bin, a.exe), STANDIN, { mode: 0o755 });
    if (a.before !== undefined && a.before !== null) {
      fs.mkdirSync(path.dirname(path.join(home, a.mcp)), { recursive: true });
      fs.writeFileSync(path.join(home, a.mcp), a.before);
    }
  }
  proxy = await startProxy({});
});
after(async () => {
  await proxy.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function run(cmd, agent, extra = [], env = {}) {
  const a = AGENTS[agent];
  return spawnSync(HEADROOM_BIN, [cmd, agent, ...extra], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: home, HEADROOM_DATA_DIR: path.join(tmp, 'data'),
      STANDIN_RECORD: rec, STANDIN_MCP: a.mcp || '', ...env },
  });
}

function checkMcp(agent, text) {
  const a = AGENTS[agent];
  if (!a.mcp) return;
  assert.ok(text, `${agent}: its MCP file exists while it runs`);
  if (a.mcp.endsWith('.json')) {
    const entry = JSON.parse(text).mcpServers.headroom;
    assert.equal(entry.command, HEADROOM_BIN.startsWith('/') ? fs.realpathSync(HEADROOM_BIN) : entry.command);
    assert.deepEqual(entry.args, ['mcp', 'serve']);
    if (a.before && a.before.includes('github')) assert.equal(JSON.parse(text).mcpServers.github.command, 'gh-mcp', 'user entries kept');
  } else if (agent === 'codex') {
    assert.match(text, /^\[mcp_servers\.headroom\]\ncommand = ".*headroom"\nargs = \["mcp", "serve"\]/m);
    assert.ok(text.startsWith(a.before), 'the user part is untouched');
  } else if (agent === 'vibe') {
    assert.match(text, /\[\[mcp_servers\]\]\nname = "headroom"\ntransport = "stdio"\ncommand = ".*headroom"/);
  } else {
    assert.match(text, /mcpServers:\n {2}- name: headroom\n {4}command: ".*headroom"\n {4}args: \["mcp", "serve"\]/);
  }
}

for (const agent of Object.keys(AGENTS)) {
  test(`wrap ${agent}: the agent runs through the proxy with its MCP entry; unwrap restores HOME byte for byte`, () => {
    const snap = snapshot(home);
    const r = run('wrap', agent, ['--port', String(proxy.port), '--', '--model', 'm1', 'a b']);
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(fs.readFileSync(path.join(rec, `${AGENTS[agent].exe}.json`), 'utf8'));
    assert.deepEqual(seen.argv, ['--model', 'm1', 'a b']);
    const B = proxy.url, V1 = `${proxy.url}/v1`;
    for (const [k, v] of Object.entries(AGENTS[agent].env)) assert.equal(seen.env[k], v === 'B' ? B : v === 'V1' ? V1 : v, `${agent}: ${k}`);
    if (agent === 'opencode') {
      const cfg = JSON.parse(seen.env.OPENCODE_CONFIG_CONTENT);
      assert.equal(cfg.provider.anthropic.options.baseURL, V1);
      assert.equal(cfg.provider.openai.options.baseURL, V1);
      assert.deepEqual(cfg.mcp.headroom.command.slice(1), ['mcp', 'serve']);
    }
    checkMcp(agent, seen.mcp);
    // wrapping twice registers once
    assert.equal(run('wrap', agent, ['--port', String(proxy.port)]).status, 0);
    if (AGENTS[agent].mcp) assert.equal(JSON.parse(fs.readFileSync(path.join(rec, `${AGENTS[agent].exe}.json`), 'utf8')).mcp, seen.mcp, 'idempotent');
    const u = run('unwrap', agent, ['--port', String(proxy.port)]);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(snapshot(home), snap, `${agent}: HOME back byte for byte`);
    assert.equal((await_live(proxy.port)), 200, 'a proxy wrap did not start keeps running');
  });
}

function await_live(port) {
  const r = spawnSync(process.execPath, ['-e', `fetch('http://127.0.0.1:${port}/livez').then(r=>console.log(r.status),()=>console.log(0))`], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

test('wrap starts a detached proxy when none answers; unwrap stops it; the agent edited its config meanwhile', async () => {
  const port = await freePort();
  const r = run('wrap', 'claude', ['--port', String(port)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /started in the background/);
  assert.equal(await_live(port), 200, 'the proxy outlives wrap (it exec\'d the agent)');
  const pid = Number(fs.readFileSync(path.join(tmp, 'data', `proxy-${port}.pid`), 'utf8'));
  assert.ok(pid > 0);
  assert.ok(fs.readFileSync(path.join(tmp, 'data', 'logs', `proxy-${port}.log`), 'utf8').includes('listening'), 'its log is in the data dir');
  // Claude Code rewrites its file with its own formatting: unwrap still finds our member
  const file = path.join(home, '.claude.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  cfg.numStartups = 13;
  fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
  const u = run('unwrap', 'claude', ['--port', String(port)]);
  assert.equal(u.status, 0, u.stderr);
  assert.match(u.stderr, /stopped the background proxy/);
  assert.equal(await_live(port), 0);
  const left = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(left.mcpServers.headroom, undefined, 'our entry removed');
  assert.equal(left.mcpServers.github.command, 'gh-mcp');
  assert.equal(left.numStartups, 13, 'the agent\'s own change kept');
  fs.writeFileSync(file, AGENTS.claude.before);
});

test('wrap refuses an agent that is not installed, and an invalid JSON config is never rewritten', () => {
  const r = spawnSync(HEADROOM_BIN, ['wrap', 'aider', '--port', String(proxy.port)], { encoding: 'utf8', env: { PATH: '/nonexistent', HOME: home, HEADROOM_DATA_DIR: path.join(tmp, 'data') } });
  assert.equal(r.status, 127);
  assert.match(r.stderr, /not on PATH/);
  const file = path.join(home, '.cursor/mcp.json');
  fs.writeFileSync(file, '{ "mcpServers": { broken');
  const w = run('wrap', 'cursor', ['--port', String(proxy.port)]);
  assert.equal(w.status, 0, 'the agent still runs');
  assert.match(w.stderr, /not valid JSON/);
  assert.equal(fs.readFileSync(file, 'utf8'), '{ "mcpServers": { broken');
  fs.writeFileSync(file, AGENTS.cursor.before);
  assert.equal(run('unwrap', 'cursor', ['--port', String(proxy.port)]).status, 0);
});

test('an editor agent without its command-line executable gets its settings printed', () => {
  const r = spawnSync(HEADROOM_BIN, ['wrap', 'cursor', '--port', String(proxy.port)], { encoding: 'utf8', env: { PATH: '/nonexistent', HOME: home, HEADROOM_DATA_DIR: path.join(tmp, 'data') } });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes(`${proxy.url}/v1`));
  assert.equal(spawnSync(HEADROOM_BIN, ['unwrap', 'cursor', '--port', String(proxy.port)], { env: { HOME: home, HEADROOM_DATA_DIR: path.join(tmp, 'data') } }).status, 0);
  assert.equal(fs.readFileSync(path.join(home, '.cursor/mcp.json'), 'utf8'), AGENTS.cursor.before);
});

test('a symlinked config file (dotfiles) stays a link; its target is edited and restored', () => {
  const file = path.join(home, '.codex/config.toml');
  const target = path.join(tmp, 'dotfiles-codex.toml');
  fs.writeFileSync(target, AGENTS.codex.before);
  fs.rmSync(file);
  fs.symlinkSync(target, file);
  try {
    assert.equal(run('wrap', 'codex', ['--port', String(proxy.port)]).status, 0);
    assert.ok(fs.lstatSync(file).isSymbolicLink(), 'still a link');
    assert.match(fs.readFileSync(target, 'utf8'), /\[mcp_servers\.headroom\]/);
    assert.equal(run('unwrap', 'codex', ['--port', String(proxy.port)]).status, 0);
    assert.ok(fs.lstatSync(file).isSymbolicLink());
    assert.equal(fs.readFileSync(target, 'utf8'), AGENTS.codex.before);
  } finally {
    fs.rmSync(file);
    fs.writeFileSync(file, AGENTS.codex.before);
  }
});

test('the original\'s wrap options are accepted (warned when they mean nothing here); --no-proxy never starts one', async () => {
  const r = run('wrap', 'aider', ['--port', String(proxy.port), '--memory', '--no-rtk', '--backend', 'bedrock', '-v', '--', '--yes']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(rec, 'aider.json'), 'utf8')).argv, ['--yes']);
  assert.match(r.stderr, /--memory has no effect/);
  assert.match(r.stderr, /--backend bedrock has no effect/);
  const port = await freePort();
  const n = run('wrap', 'claude', ['--port', String(port), '--no-proxy']);
  assert.equal(n.status, 1);
  assert.match(n.stderr, /no proxy answers/);
  assert.equal(fs.readFileSync(path.join(home, '.claude.json'), 'utf8'), AGENTS.claude.before, 'nothing registered');
  assert.equal(await_live(port), 0);
});
