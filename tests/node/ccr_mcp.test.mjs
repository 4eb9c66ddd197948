// ccr_mcp.test.mjs: `headroom mcp` against the real MCP client (@modelcontextprotocol/sdk,
// StdioClientTransport): handshake, tools/list, tools/call for the three tools, tenant
// scoping, and the CCR promise of headroom_compress (any marker it returns retrieves the
// exact original), for content of every compressor's kind. Originals are seeded into the SQLite store by Python's own sqlite3
// module (an independent writer), which also checks the store is a plain SQLite file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedSqlite } from './lib/ccr_seed.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const BIN = process.env.HEADROOM_BIN;
const TENANT = '0123456789abcdef';
let dir;


const seed = (tenant, text) => seedSqlite(BIN, dir, tenant, text);

async function connect(extra = []) {
  const transport = new StdioClientTransport({
    command: BIN,
    args: ['mcp', '--data-dir', dir, ...extra],
    stderr: 'pipe',
  });
  const client = new Client({ name: 'headroom-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

const textOf = (res) => res.content.map((c) => c.text).join('');

before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-mcp-')); });
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('handshake and tool list', async () => {
  const client = await connect();
  try {
    assert.equal(client.getServerVersion().name, 'headroom');
    assert.ok(client.getServerCapabilities().tools, 'tools capability');
    await client.ping();
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['headroom_retrieve', 'headroom_compress', 'headroom_stats']);
    const retrieve = tools[0];
    assert.deepEqual(retrieve.inputSchema.required, ['hash']);
    assert.ok(retrieve.inputSchema.properties.query);
  } finally {
    await client.close();
  }
});

test('headroom_retrieve: whole original, query selection, unknown, malformed, other tenant', async () => {
  const items = Array.from({ length: 60 }, (_, i) =>
    ({ id: i, status: i % 10 === 3 ? 'failed: disk quota exceeded' : 'ok', note: 'ünïcode ✓' }));
  const original = JSON.stringify(items, null, 1);
  const hash = seed(TENANT, original);
  const client = await connect(['--tenant', TENANT]);
  const other = await connect(); // the no-credential tenant
  try {
    const whole = await client.callTool({ name: 'headroom_retrieve', arguments: { hash } });
    assert.equal(whole.isError, false);
    assert.equal(textOf(whole), original);

    const some = await client.callTool({ name: 'headroom_retrieve', arguments: { hash, query: 'disk quota' } });
    const picked = JSON.parse(textOf(some));
    assert.deepEqual(picked, items.filter((it) => it.status !== 'ok'));

    const unknown = await client.callTool({ name: 'headroom_retrieve', arguments: { hash: 'f'.repeat(24) } });
    assert.equal(unknown.isError, true);
    assert.match(textOf(unknown), /unknown or expired/);

    const bad = await client.callTool({ name: 'headroom_retrieve', arguments: { hash: 'XYZ' } });
    assert.equal(bad.isError, true);
    assert.match(textOf(bad), /malformed/);

    const foreign = await other.callTool({ name: 'headroom_retrieve', arguments: { hash } });
    assert.equal(foreign.isError, true, 'another tenant cannot read it');
  } finally {
    await client.close();
    await other.close();
  }
});

test('headroom_compress never returns a marker it cannot serve; headroom_stats reports', async () => {
  const lines = [];
  for (let i = 0; i < 400; i++)
    lines.push(i % 97 === 5 ? `2026-11-27 ERROR worker ${i} failed: connection reset` : `2026-11-27 INFO worker ${i} heartbeat ok`);
  const content = lines.join('\n');
  const client = await connect();
  try {
    const res = await client.callTool({ name: 'headroom_compress', arguments: { content, query: 'connection reset' } });
    assert.equal(res.isError, false);
    // the original's answer shape: the text to use, the stored original's hash, counts
    const ans = JSON.parse(textOf(res));
    assert.deepEqual(Object.keys(ans), ['compressed', 'hash', 'original_tokens', 'compressed_tokens', 'tokens_saved', 'savings_percent', 'transforms', 'note']);
    assert.equal(ans.tokens_saved, ans.original_tokens - ans.compressed_tokens);
    assert.equal(textOf(await client.callTool({ name: 'headroom_retrieve', arguments: { hash: ans.hash } })), content, 'its hash retrieves the original');
    const out = ans.compressed;
    const markers = [...out.matchAll(/Retrieve more: hash=([0-9a-f]{24})\]/g)].map((m) => m[1]);
    if (markers.length === 0) {
      assert.equal(out, content, 'unchanged when the pipeline keeps it');
    } else {
      assert.ok(out.length < content.length);
      for (const h of markers) {
        const back = await client.callTool({ name: 'headroom_retrieve', arguments: { hash: h } });
        assert.equal(back.isError, false);
        assert.equal(textOf(back), content);
      }
    }
    const stats = JSON.parse(textOf(await client.callTool({ name: 'headroom_stats', arguments: {} })));
    assert.equal(stats.store.backend, 'sqlite');
    assert.equal(stats.mcp.compress_calls, 1);
    assert.equal(stats.mcp.bytes_in, Buffer.byteLength(content));
    assert.equal(stats.mcp.compressed, markers.length ? 1 : 0);
    await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }));
  } finally {
    await client.close();
  }
});

function compressorSamples() {
  const json = JSON.stringify(Array.from({ length: 120 }, (_, i) =>
    ({ id: 1000 + i, user: `user${i % 17}@example.com`, status: i === 77 ? 'failed' : 'ok', ms: (i * 37) % 400 })));
  const logs = Array.from({ length: 300 }, (_, i) =>
    i === 150 ? 'ERROR db: connection refused (127.0.0.1:5432)' : `INFO request ${i} served in ${i % 9} ms`).join('\n');
  const search = Array.from({ length: 200 }, (_, i) =>
    `src/module${i % 25}/file${i % 7}.c:${10 + i}:    if (ret < 0) return handle_error(ctx, ${i});`).join('\n');
  const hunks = Array.from({ length: 30 }, (_, h) => [
    `@@ -${h * 20 + 1},7 +${h * 20 + 1},7 @@`, ' context a', ' context b', ' context c',
    `-old line ${h}`, `+new line ${h}`, ' context d', ' context e', ' context f'].join('\n'));
  const diff = ['diff --git a/src/x.c b/src/x.c', '--- a/src/x.c', '+++ b/src/x.c', ...hunks].join('\n');
  const text = Array.from({ length: 80 }, (_, i) =>
    `Paragraph ${i}: the deployment pipeline builds the image, runs the tests and pushes the artifact to the registry before the rollout starts.`).join('\n');
  return { json, logs, search, diff, text };
}

test('round trip for every kind of content: each marker returns the exact original', async (t) => {
  const client = await connect(['--tenant', 'fedcba9876543210']);
  const compressed = [];
  try {
    for (const [kind, content] of Object.entries(compressorSamples())) {
      const out = JSON.parse(textOf(await client.callTool({ name: 'headroom_compress', arguments: { content } }))).compressed;
      const hashes = [...out.matchAll(/Retrieve more: hash=([0-9a-f]{24})\]/g)].map((m) => m[1]);
      if (hashes.length === 0) {
        assert.equal(out, content, `${kind}: unchanged when not compressed`);
        continue;
      }
      compressed.push(kind);
      assert.ok(out.length < content.length, `${kind}: shorter`);
      for (const h of hashes) {
        const back = await client.callTool({ name: 'headroom_retrieve', arguments: { hash: h } });
        assert.equal(textOf(back), content, `${kind}: exact original`);
      }
    }
  } finally {
    await client.close();
  }
  t.diagnostic(`compressed: ${compressed.join(', ') || 'none'}`);
  assert.ok(compressed.length >= 1, 'at least one sample compressed with a marker (else no round trip was tested)');
});
