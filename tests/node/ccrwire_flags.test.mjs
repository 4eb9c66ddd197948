// ccrwire_flags.test.mjs: `headroom proxy --data-dir DIR` is also the token counter's data
// dir. Two proxies differ only in whether DIR/tokenizers holds the o200k_base rank file
// (exported from js-tiktoken); with it, x-headroom-tokens-before for a gpt-4o request is
// js-tiktoken's exact count of the tool output, without it the documented estimate.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { startFakeUpstream } from './lib/fake_upstream.mjs';
import { startProxy, runCleanups } from './lib/proxy.mjs';
import { exportRanks } from './tiktoken_export.mjs';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-ccrwire-flags-'));
const cleanups = [];
after(async () => {
  try {
    await runCleanups(cleanups);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

// Mixed text so exact and estimated counts differ clearly.
const lines = [];
for (let i = 0; i < 300; i++) lines.push(`${i}\tsrc/module_${i % 13}/file_${i}.ts:${i * 7}: const value${i} = compute(${i}, "x${i}");`);
const TOOL = lines.join('\n');

async function tokensBefore(dataDir) {
  const up = await startFakeUpstream();
  cleanups.push(() => up.close());
  const proxy = await startProxy({ openaiUrl: up.url, args: ['--data-dir', dataDir, '--ccr-backend', 'memory'] });
  cleanups.push(async () => assert.equal(await proxy.stop(), 0, 'the proxy exits 0 (no sanitizer report)'));
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-flags' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [
      { role: 'user', content: 'where is value7 computed?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'code_search', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: TOOL },
    ] }),
  });
  assert.equal(res.status, 200);
  return Number(res.headers.get('x-headroom-tokens-before'));
}

test('--data-dir points the token counter at its rank files', async () => {
  const withRanks = path.join(root, 'with');
  exportRanks(withRanks, ['o200k_base']);
  const exact = getEncoding('o200k_base').encode(TOOL).length;
  const estimate = Math.ceil([...TOOL].length / 4.0);
  assert.notEqual(exact, estimate, 'the fixture tells the two apart');
  assert.equal(await tokensBefore(withRanks), exact, 'exact o200k count with the rank file in --data-dir');
  assert.equal(await tokensBefore(path.join(root, 'without')), estimate, 'the estimate without it');
});
