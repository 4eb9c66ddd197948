// dropin_docker.test.mjs: the container image. Where a container engine runs, the image is
// built and started and its HEALTHCHECK command must pass; where hadolint is installed, it
// lints the Dockerfile. Everywhere, the documented check (docs/deployment.md, "Container")
// runs: the rules the image promises, and that the runtime stage installs the Debian
// package of every shared library the built binary needs (from its ELF NEEDED entries and
// dpkg, not from a list of ours).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HEADROOM_BIN, SOURCE_DIR } from './lib/proxy.mjs';
import { skipOrFail } from './lib/deps.mjs';

const text = fs.readFileSync(path.join(SOURCE_DIR, 'Dockerfile'), 'utf8');
// instructions with their continuation lines joined, comments dropped
const instructions = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  .map((l) => { const [op, ...rest] = l.split(/\s+/); return { op: op.toUpperCase(), args: rest.join(' ') }; });
const stages = [];
for (const i of instructions) {
  if (i.op === 'FROM') stages.push({ from: i.args, body: [] });
  else stages.at(-1).body.push(i);
}
const runtime = stages.at(-1);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

test('multi-stage: a build stage, a Debian slim runtime that copies only the binary', () => {
  assert.ok(stages.length >= 2);
  assert.match(stages[0].from, /^debian:12\S* AS build$/i);
  assert.match(runtime.from, /^debian:12-slim$/);
  const copies = runtime.body.filter((i) => i.op === 'COPY');
  assert.deepEqual(copies.map((c) => c.args), ['--from=build /src/build/headroom /usr/local/bin/headroom']);
  assert.ok(!runtime.body.some((i) => i.op === 'RUN' && /build-essential|cmake|-dev\b/.test(i.args)), 'no toolchain in the runtime');
});

test('non-root user, the data dir a volume, HEALTHCHECK on /livez, port exposed, apt lists removed', () => {
  const env = Object.fromEntries([...runtime.body.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
  const user = runtime.body.filter((i) => i.op === 'USER').at(-1);
  assert.ok(user && !/^(root|0)(:|$)/.test(user.args), 'runs as a non-root user');
  assert.ok(runtime.body.findIndex((i) => i.op === 'USER') < runtime.body.findIndex((i) => i.op === 'ENTRYPOINT'));
  const volume = runtime.body.find((i) => i.op === 'VOLUME');
  assert.ok(volume && JSON.parse(volume.args).includes(env.HEADROOM_DATA_DIR), 'HEADROOM_DATA_DIR is a volume');
  const hc = runtime.body.find((i) => i.op === 'HEALTHCHECK');
  assert.match(hc.args, /CMD \["\/usr\/local\/bin\/headroom", "probe", "\/livez"\]/);
  assert.equal(runtime.body.find((i) => i.op === 'EXPOSE').args, env.HEADROOM_PORT);
  for (const s of stages) for (const i of s.body.filter((x) => x.op === 'RUN' && /apt-get install/.test(x.args))) {
    assert.match(i.args, /--no-install-recommends/);
    assert.match(i.args, /rm -rf \/var\/lib\/apt\/lists\/\*/);
  }
  // the health check command exists and fails when nothing listens
  assert.notEqual(spawnSync(HEADROOM_BIN, ['probe', '/livez', '--port', '1']).status, 0);
});

test('the runtime stage installs the package of every shared library the binary needs', (t) => {
  if (!has('readelf') || !has('dpkg')) return skipOrFail(t, 'readelf and dpkg missing'); // binutils, dpkg: on every Debian
  const needed = [...spawnSync('readelf', ['-d', HEADROOM_BIN], { encoding: 'utf8' }).stdout.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1]);
  assert.ok(needed.length > 3);
  const install = runtime.body.find((i) => i.op === 'RUN' && /apt-get install/.test(i.args)).args;
  const where = Object.fromEntries([...spawnSync('ldd', [HEADROOM_BIN], { encoding: 'utf8' }).stdout.matchAll(/(\S+) => (\S+)/g)].map((m) => [m[1], m[2]]));
  for (const lib of needed.filter((l) => !/^lib(a|ub|l|t)san\./.test(l))) { // a sanitizer build's runtimes
    // dpkg knows the file under /lib or /usr/lib (merged /usr): ask for both
    const p = where[lib];
    assert.ok(p, `${lib} resolved`);
    const owner = spawnSync('sh', ['-c', `{ dpkg -S "${p}" || dpkg -S "/usr${p}" || dpkg -S "${p.replace(/^\/usr/, '')}"; } 2>/dev/null | head -1 | cut -d: -f1`], { encoding: 'utf8' }).stdout.trim();
    assert.ok(owner, `${lib}: owning package`);
    if (owner === 'libc6') continue; // in every Debian image
    assert.ok(new RegExp(`\\b${owner.replace(/[.+]/g, '\\$&')}\\b`).test(install), `${lib} (${owner}) installed in the runtime stage`);
  }
});

test('hadolint, when installed, finds nothing', (t) => {
  if (!has('hadolint')) return t.skip('hadolint is not installed (not packaged for Debian 12); the checks above stand in');
  const r = spawnSync('hadolint', [path.join(SOURCE_DIR, 'Dockerfile')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('with a container engine: the image builds, starts and is healthy', { timeout: 1500000 }, async (t) => {
  if (!has('docker') || spawnSync('docker', ['info'], { timeout: 20000 }).status !== 0) return t.skip('no running container engine here');
  const tag = `headroom-test:${process.pid}`;
  const b = spawnSync('docker', ['build', '-t', tag, SOURCE_DIR], { encoding: 'utf8', timeout: 1200000 });
  assert.equal(b.status, 0, b.stderr);
  const run = spawnSync('docker', ['run', '-d', '--rm', tag], { encoding: 'utf8' });
  const id = run.stdout.trim();
  try {
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      ok = spawnSync('docker', ['exec', id, '/usr/local/bin/headroom', 'probe', '/livez']).status === 0;
      if (!ok) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(ok, 'healthy');
    assert.equal(spawnSync('docker', ['exec', id, 'id', '-u'], { encoding: 'utf8' }).stdout.trim(), '10001');
    const size = spawnSync('docker', ['image', 'inspect', tag, '--format', '{{.Size}}'], { encoding: 'utf8' }).stdout.trim();
    t.diagnostic(`image size ${(Number(size) / 1e6).toFixed(1)} MB`);
  } finally {
    spawnSync('docker', ['rm', '-f', id]);
    spawnSync('docker', ['rmi', tag]);
  }
});
