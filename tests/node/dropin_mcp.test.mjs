// dropin_mcp.test.mjs: `headroom mcp install|uninstall|status` register the MCP server with
// the agents found on the machine (as the original's `headroom mcp install` does) and take
// it back byte for byte; the registered command line really is an MCP server: the MCP SDK's
// own stdio client runs it exactly as the agent's config says and calls headroom_compress,
// whose answer has the original's shape, and headroom_retrieve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { HEADROOM_BIN } from './lib/proxy.mjs';

let tmp, home, data, env;
const CLAUDE_BEFORE = '{\n  "projects": {"/src": {"allowedTools": []}},\n  "mcpServers": {}\n}\n';
const CODEX_BEFORE = 'model = "gpt-5"\n';

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-dropin-mcp-'));
  home = path.join(tmp, 'home');
  data = path.join(tmp, 'data');
  fs.mkdirSync(path.join(home, '.codex'), { recursive: true });
  fs.mkdirSync(path.join(home, '.cursor'), { recursive: true }); // detected, no file yet
  fs.writeFileSync(path.join(home, '.claude.json'), CLAUDE_BEFORE);
  fs.writeFileSync(path.join(home, '.codex/config.toml'), CODEX_BEFORE);
  env = { HOME: home, HEADROOM_DATA_DIR: data, PATH: '/usr/bin:/bin' };
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const hr = (...args) => spawnSync(HEADROOM_BIN, args, { encoding: 'utf8', env });

test('install registers with every detected agent, status reports it, uninstall restores the files', () => {
  // claude is detected by its config dir only when it has one: give it one
  fs.mkdirSync(path.join(home, '.claude'), { recursive: true });
  const before = { claude: CLAUDE_BEFORE, codex: CODEX_BEFORE };
  const r = hr('mcp', 'install');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /claude\s+registered in .*\.claude\.json/);
  assert.match(r.stdout, /codex\s+registered in .*config\.toml/);
  assert.match(r.stdout, /cursor\s+registered in .*mcp\.json/);
  assert.doesNotMatch(r.stdout, /vibe|copilot/, 'agents not on this machine are left alone');
  const entry = JSON.parse(fs.readFileSync(path.join(home, '.claude.json'), 'utf8')).mcpServers.headroom;
  assert.deepEqual(entry.args, ['mcp', 'serve']);
  assert.equal(JSON.parse(fs.readFileSync(path.join(home, '.claude.json'), 'utf8')).projects['/src'].allowedTools.length, 0);
  const again = hr('mcp', 'install');
  assert.match(again.stdout, /claude\s+already registered/);
  const st = hr('mcp', 'status');
  assert.match(st.stdout, /claude\s+yes\s+registered/);
  assert.match(st.stdout, /vibe\s+no\s+-/);
  const u = hr('mcp', 'uninstall');
  assert.equal(u.status, 0, u.stderr);
  assert.equal(fs.readFileSync(path.join(home, '.claude.json'), 'utf8'), before.claude);
  assert.equal(fs.readFileSync(path.join(home, '.codex/config.toml'), 'utf8'), before.codex);
  assert.equal(fs.existsSync(path.join(home, '.cursor/mcp.json')), false, 'a file install created is gone');
  assert.match(hr('mcp', 'status').stdout, /claude\s+yes\s+-/);
});

test('install --agent for one agent; an unknown agent is a usage error', () => {
  const r = hr('mcp', 'install', '--agent', 'codex');
  assert.equal(r.status, 0);
  assert.doesNotMatch(r.stdout, /claude/);
  assert.match(fs.readFileSync(path.join(home, '.codex/config.toml'), 'utf8'), /\[mcp_servers\.headroom\]/);
  assert.equal(hr('mcp', 'install', '--agent', 'aider').status, 2, 'aider reads no MCP servers');
  assert.equal(hr('mcp', 'uninstall', '--agent', 'codex').status, 0);
  assert.equal(fs.readFileSync(path.join(home, '.codex/config.toml'), 'utf8'), CODEX_BEFORE);
});

test('the registered command is an MCP server: headroom_compress answers as the original does', async () => {
  hr('mcp', 'install', '--agent', 'claude');
  const entry = JSON.parse(fs.readFileSync(path.join(home, '.claude.json'), 'utf8')).mcpServers.headroom;
  const transport = new StdioClientTransport({ command: entry.command, args: entry.args, env: { ...env, ...(entry.env || {}) }, stderr: 'pipe' });
  const client = new Client({ name: 'dropin-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const lines = Array.from({ length: 300 }, (_, i) => (i === 150 ? `ERROR job ${i} failed: quota exceeded` : `INFO job ${i} done in ${i % 9} ms`));
    const content = lines.join('\n');
    const res = await client.callTool({ name: 'headroom_compress', arguments: { content } });
    const ans = JSON.parse(res.content[0].text);
    assert.deepEqual(Object.keys(ans), ['compressed', 'hash', 'original_tokens', 'compressed_tokens', 'tokens_saved', 'savings_percent', 'transforms', 'note']);
    assert.match(ans.hash, /^[0-9a-f]{24}$/);
    assert.ok(ans.compressed.length < content.length, 'a 300-line log is compressed');
    assert.ok(ans.compressed.includes('quota exceeded'), 'the error line is kept');
    assert.ok(ans.tokens_saved > 0 && ans.savings_percent > 0);
    assert.ok(ans.note.includes(ans.hash));
    const back = await client.callTool({ name: 'headroom_retrieve', arguments: { hash: ans.hash } });
    assert.equal(back.content[0].text, content);
  } finally {
    await client.close();
    hr('mcp', 'uninstall', '--agent', 'claude');
  }
  assert.equal(fs.readFileSync(path.join(home, '.claude.json'), 'utf8'), CLAUDE_BEFORE);
});
