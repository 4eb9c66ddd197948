// ccr_persist.test.mjs: originals survive kill -9. A `headroom mcp` process compresses
// tool outputs through the real pipeline (which stores each original before returning a
// marker), is killed with SIGKILL right after answering, and a fresh process
// (`headroom retrieve`) reads every marker's original back byte-exact from the same
// SQLite data dir. Both samples must come back with a marker: a pipeline that compresses
// nothing fails here, since the kill -9 claim would otherwise go untested.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const BIN = process.env.HEADROOM_BIN;

function rpcProcess(args) {
  const proc = spawn(BIN, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: proc.stdout });
  const waiting = new Map();
  lines.on('line', (l) => {
    const msg = JSON.parse(l);
    waiting.get(msg.id)?.(msg);
  });
  let next = 1;
  const call = (method, params) => new Promise((resolve) => {
    const id = next++;
    waiting.set(id, resolve);
    proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
  });
  return { proc, call };
}

function samples() {
  const log = Array.from({ length: 600 }, (_, i) =>
    i % 101 === 50 ? `2026-11-27T04:00:${String(i % 60).padStart(2, '0')}Z ERROR job ${i} failed: timeout`
                   : `2026-11-27T04:00:${String(i % 60).padStart(2, '0')}Z INFO job ${i} done in ${i % 7} ms`).join('\n');
  const rows = JSON.stringify(Array.from({ length: 300 }, (_, i) =>
    ({ id: 100000 + i, host: `web-${i % 12}.internal`, status: i === 177 ? 'error' : 'ok', latency_ms: 20 + (i % 9) })));
  return [log, rows];
}

test('originals stored by a process killed with -9 are read back after restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-persist-'));
  try {
    const { proc, call } = rpcProcess(['mcp', '--data-dir', dir]);
    const init = await call('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } });
    assert.equal(init.result.serverInfo.name, 'headroom');
    const stored = [];
    for (const content of samples()) {
      const res = await call('tools/call', { name: 'headroom_compress', arguments: { content } });
      const text = res.result.content[0].text;
      for (const m of text.matchAll(/Retrieve more: hash=([0-9a-f]{24})\]/g)) stored.push({ hash: m[1], content });
    }
    const exited = new Promise((r) => proc.on('exit', (code, signal) => r(signal)));
    proc.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.ok(stored.length >= samples().length, `every sample compressed with a marker (got ${stored.length})`);
    for (const { hash, content } of stored) {
      const out = execFileSync(BIN, ['retrieve', hash, '--data-dir', dir], { maxBuffer: 64 << 20 });
      assert.equal(out.toString('utf8'), content);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
