// dropin_install.test.mjs: `headroom install / uninstall / status`: the systemd unit is
// valid (systemd-analyze verify, when this machine has it), its ExecStart really starts the
// proxy, install/uninstall drive systemctl (a stand-in that records its calls) for a user
// service, and status reports what runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HEADROOM_BIN, startProxy } from './lib/proxy.mjs';
import { skipOrFail } from './lib/deps.mjs';

let tmp, home, bin, calls;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-dropin-install-'));
  home = path.join(tmp, 'home');
  bin = path.join(tmp, 'bin');
  calls = path.join(tmp, 'systemctl.calls');
  fs.mkdirSync(home);
  fs.mkdirSync(bin);
  // stand-in systemctl: records its arguments; fails when SYSTEMCTL_FAIL is set
  fs.writeFileSync(path.join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> "${calls}"\n[ -z "$SYSTEMCTL_FAIL" ]\n`, { mode: 0o755 });
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const env = (extra = {}) => ({ HOME: home, PATH: `${bin}:/usr/bin:/bin`, HEADROOM_DATA_DIR: path.join(tmp, 'data'), ...extra });
const hr = (args, extra) => spawnSync(HEADROOM_BIN, args, { encoding: 'utf8', env: env(extra) });
const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

// systemd's word splitting for the quoted words we write
const words = (line) => [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1').replace(/%%/g, '%') : m[2]));
const unitValue = (unit, key) => unit.split('\n').find((l) => l.startsWith(`${key}=`)).slice(key.length + 1);

for (const scope of ['--user', '--system']) {
  test(`the ${scope.slice(2)} unit passes systemd-analyze verify`, (t) => {
    const dir = fs.mkdtempSync(path.join(tmp, 'unit-'));
    const r = hr(['install', scope, '--unit-dir', dir, '--', '--mode', 'cache', '--log-file', '/tmp/a b%.log']);
    assert.equal(r.status, 0, r.stderr);
    const file = path.join(dir, 'headroom.service');
    const unit = fs.readFileSync(file, 'utf8');
    assert.equal(unitValue(unit, 'WantedBy'), scope === '--user' ? 'default.target' : 'multi-user.target');
    assert.deepEqual(words(unitValue(unit, 'ExecStart')).slice(1), ['proxy', '--port', '8787', '--mode', 'cache', '--log-file', '/tmp/a b%.log']);
    assert.equal(fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').length : 0, 0, 'no systemctl with --unit-dir');
    const which = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' });
    if (which.status !== 0) return skipOrFail(t, 'systemd-analyze missing'); // setup.sh --test installs systemd
    const rt = fs.mkdtempSync(path.join(tmp, 'rt-'));
    fs.chmodSync(rt, 0o700);
    const v = spawnSync('systemd-analyze', ['verify', ...(scope === '--user' ? ['--user'] : []), file], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: rt } });
    if (/Failed to initialize manager|RuntimeDirectory/.test(v.stderr)) return t.skip(`no systemd manager here: ${v.stderr.trim()}`);
    assert.equal(v.status, 0, v.stderr);
    assert.ok(!v.stderr.includes('headroom.service'), `no warning about the unit: ${v.stderr}`);
  });
}

test('the unit\'s ExecStart and Environment start the proxy', async () => {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(tmp, 'unit-'));
  assert.equal(hr(['install', '--user', '--port', String(port), '--unit-dir', dir]).status, 0);
  const unit = fs.readFileSync(path.join(dir, 'headroom.service'), 'utf8');
  const [exe, ...args] = words(unitValue(unit, 'ExecStart'));
  const [k, v] = words(unitValue(unit, 'Environment'))[0].split(/=(.*)/);
  assert.equal(k, 'HEADROOM_DATA_DIR');
  assert.equal(v, path.join(tmp, 'data'), 'the data dir is pinned');
  const proc = spawn(exe, args, { env: { [k]: v }, stdio: 'ignore' });
  try {
    let status = 0;
    for (let i = 0; i < 250 && status !== 200; i++) {
      status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(status, 200);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
  }
});

test('install/uninstall --user: unit in ~/.config/systemd/user, enabled and started through systemctl, then removed', () => {
  fs.writeFileSync(calls, '');
  const r = hr(['install', '--user']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const file = path.join(home, '.config/systemd/user/headroom.service');
  assert.ok(fs.existsSync(file));
  assert.deepEqual(fs.readFileSync(calls, 'utf8').trim().split('\n'), ['--user daemon-reload', '--user enable --now headroom.service']);
  assert.match(r.stdout, /enabled and started user service/);
  fs.writeFileSync(calls, '');
  const u = hr(['uninstall', '--user']);
  assert.equal(u.status, 0);
  assert.equal(fs.existsSync(file), false);
  assert.deepEqual(fs.readFileSync(calls, 'utf8').trim().split('\n'), ['--user disable --now headroom.service', '--user daemon-reload']);
});

test('install where systemd does not run: the unit is written and the message says how to start it', () => {
  const r = hr(['install', '--user'], { SYSTEMCTL_FAIL: '1' });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /systemd is not running here.*\n.*systemctl --user enable --now headroom.service/);
  assert.equal(hr(['uninstall', '--user'], { SYSTEMCTL_FAIL: '1' }).status, 0);
});

test('status: the proxy on the port, the service, wrapped agents, MCP registrations', async () => {
  const p = await startProxy({});
  try {
    fs.mkdirSync(path.join(tmp, 'data', 'wrap'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'data', 'wrap', 'codex.state'), '');
    assert.equal(hr(['install', '--user']).status, 0);
    const r = hr(['status', '--port', String(p.port)]);
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, new RegExp(`proxy\\s+http://127.0.0.1:${p.port} ready`));
    assert.match(r.stdout, /service\s+user\s+.*headroom\.service \((active|inactive)\)/);
    assert.match(r.stdout, /wrapped\s+codex/);
    assert.match(r.stdout, /data dir\s+.*data/);
  } finally {
    await p.stop();
    hr(['uninstall', '--user']);
  }
  const down = hr(['status', '--port', String(await freePort())]);
  assert.equal(down.status, 3);
  assert.match(down.stdout, /not running/);
});
