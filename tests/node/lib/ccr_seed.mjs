// ccr_seed.mjs: stores an original in a data dir's SQLite CCR store the way the proxy would,
// through an independent writer (Python's sqlite3), for tests of the retrieve paths. The
// schema is created by headroom itself (a retrieve miss).
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';

const PY = process.env.HEADROOM_PYTHON || '/usr/bin/python3';
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

export const contentHash = (bytes) => sha(bytes).slice(0, 24);
export const tenantOf = (credential) => sha(`headroom-tenant:${credential}`).slice(0, 16);

// Inserts bytes (string or Buffer) for tenant (the 16-hex id) and returns its hash.
export function seedSqlite(bin, dataDir, tenant, bytes) {
  spawnSync(bin, ['retrieve', '0'.repeat(24), '--data-dir', dataDir], { stdio: 'ignore' });
  const script = `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
data = sys.stdin.buffer.read()
db.execute("INSERT INTO ccr_entries(tenant,hash,data,size,expires_at,last_used) VALUES(?,?,?,?,?,0)",
           (sys.argv[2], sys.argv[3], data, len(data), int(time.time()*1000) + 600000))
db.commit()
`;
  const hash = contentHash(bytes);
  execFileSync(PY, ['-c', script, path.join(dataDir, 'ccr.sqlite3'), tenant, hash],
    { input: typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes });
  return hash;
}
