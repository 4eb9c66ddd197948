// ccr_cli.test.mjs: `headroom retrieve` on the same SQLite store the proxy writes: exact
// bytes on stdout, --query selection, --json, --tenant scoping, and the exit codes
// (0 found, 1 unknown, 2 malformed). Originals are seeded by Python's sqlite3 module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedSqlite } from './lib/ccr_seed.mjs';

const BIN = process.env.HEADROOM_BIN;
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

const seed = (dir, tenant, bytes) => seedSqlite(BIN, dir, tenant, bytes);

test('headroom retrieve: bytes, query, json, tenant, exit codes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-cli-'));
  try {
    const anonymous = sha('headroom-tenant:anonymous').slice(0, 16);
    // Bytes that are not UTF-8 and contain NUL come back unchanged.
    const bytes = Buffer.concat([Buffer.from('line one\nline two mentions quota\n'), Buffer.from([0, 0xff, 0xfe, 0x0a])]);
    const hash = seed(dir, anonymous, bytes);
    let r = spawnSync(BIN, ['retrieve', hash, '--data-dir', dir]);
    assert.equal(r.status, 0);
    assert.deepEqual(r.stdout, bytes);

    r = spawnSync(BIN, ['retrieve', hash, '--query', 'QUOTA', '--data-dir', dir]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.toString(), 'line two mentions quota');

    r = spawnSync(BIN, ['retrieve', hash, '--query', 'quota', '--json', '--data-dir', dir]);
    const js = JSON.parse(r.stdout.toString());
    assert.deepEqual([js.hash, js.items_total, js.items_returned], [hash, 3, 1]);

    const other = sha('headroom-tenant:sk-other').slice(0, 16);
    r = spawnSync(BIN, ['retrieve', hash, '--tenant', other, '--data-dir', dir]);
    assert.equal(r.status, 1, 'another tenant: not found');
    assert.match(r.stderr.toString(), /unknown or expired/);

    const theirs = seed(dir, other, Buffer.from('theirs'));
    r = spawnSync(BIN, ['retrieve', theirs, '--tenant', other, '--data-dir', dir]);
    assert.equal(r.stdout.toString(), 'theirs');

    r = spawnSync(BIN, ['retrieve', 'ABC', '--data-dir', dir]);
    assert.equal(r.status, 2);
    r = spawnSync(BIN, ['retrieve', '--data-dir', dir]);
    assert.equal(r.status, 2);
    r = spawnSync(BIN, ['retrieve', hash, '--ccr-backend', 'postgres']);
    assert.equal(r.status, 2);
    assert.equal(fs.statSync(path.join(dir, 'ccr.sqlite3')).mode & 0o777, 0o600);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
