// membudget_unit.test.mjs: the documented systemd unit (contrib/headroom.service, shown in
// docs/deployment.md) passes `systemd-analyze verify` with this build's binary in
// ExecStart, keeps MemoryHigh/MemoryMax above the budget its ExecStart sets, carries the
// restart policy and hardening the docs promise, and its ExecStart really starts a proxy
// with that budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HEADROOM_BIN, SOURCE_DIR, startProxy } from './lib/proxy.mjs';

const UNIT = fs.readFileSync(path.join(SOURCE_DIR, 'contrib', 'headroom.service'), 'utf8');
const value = (key) => {
  const line = UNIT.split('\n').find((l) => l.startsWith(`${key}=`));
  return line === undefined ? undefined : line.slice(key.length + 1);
};
const megabytes = (v) => Number(/^(\d+)M$/.exec(v)[1]);
const execArgs = () => value('ExecStart').split(/\s+/).slice(1);
const budgetMb = () => Number(execArgs()[execArgs().indexOf('--memory-budget-mb') + 1]);

test('the unit passes systemd-analyze verify', (t) => {
  if (spawnSync('sh', ['-c', 'command -v systemd-analyze']).status !== 0)
    return t.skip('systemd-analyze is not installed here (scripts/setup.sh installs systemd)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-unit-'));
  try {
    const file = path.join(dir, 'headroom.service');
    const exe = value('ExecStart').split(/\s+/)[0];
    fs.writeFileSync(file, UNIT.replace(exe, HEADROOM_BIN));
    const v = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    if (/Failed to initialize manager/.test(v.stderr)) return t.skip(`no systemd manager here: ${v.stderr.trim()}`);
    assert.equal(v.status, 0, v.stderr);
    assert.ok(!v.stderr.includes('headroom.service'), `no warning about the unit: ${v.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('memory limits sit above the budget, restart and hardening as documented', () => {
  const budget = budgetMb();
  assert.ok(budget > 0, 'ExecStart sets --memory-budget-mb');
  const high = megabytes(value('MemoryHigh'));
  const max = megabytes(value('MemoryMax'));
  assert.ok(high > budget && high <= budget * 1.25, `MemoryHigh ${high} just above the budget ${budget}`);
  assert.ok(max > high, 'MemoryMax above MemoryHigh');
  assert.equal(value('Restart'), 'on-failure');
  for (const k of ['NoNewPrivileges', 'PrivateTmp', 'ProtectHome']) assert.equal(value(k), 'yes', k);
  assert.equal(value('ProtectSystem'), 'strict');
  assert.equal(value('StateDirectory'), 'headroom');
  assert.equal(value('Environment'), 'HEADROOM_DATA_DIR=/var/lib/headroom');
  assert.ok(Number(value('TimeoutStopSec')) > 30, 'longer than the 30 s drain');
  // the unit is the one docs/deployment.md shows
  const doc = fs.readFileSync(path.join(SOURCE_DIR, 'docs', 'deployment.md'), 'utf8');
  assert.ok(doc.includes(UNIT.trim()), 'docs/deployment.md shows contrib/headroom.service as it is');
});

test('its ExecStart starts a proxy with that budget', async () => {
  const args = execArgs();
  args.splice(args.indexOf('--port'), 2); // startProxy picks a free port
  args.shift(); // 'proxy'
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-unit-data-'));
  const proxy = await startProxy({ args, env: { HEADROOM_DATA_DIR: dir } });
  try {
    const h = await (await fetch(`${proxy.url}/health`)).json();
    assert.equal(h.memory_budget_mb, budgetMb());
    assert.equal(h.config.host, '127.0.0.1');
  } finally {
    await proxy.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
