// hostile_ws.test.mjs: the Responses-over-WebSocket relay (src/proxy/ws_relay.c) attacked
// with raw frames from a raw socket, never a friendly client: protocol violations end the
// session with 1002 at once and never reach the upstream as they came; frames and unfinished
// messages cannot hold more than the in-flight budget however many connections send them;
// ping floods pass without piling up; the per-address limit covers WebSockets too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { startFakeWsUpstream } from './lib/fake_ws_upstream.mjs';
import { startProxy, sanitizerBuild } from './lib/proxy.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const BUDGET_MB = 64;
const PER_ADDRESS = 8;
// ASan's redzones and quarantine show in RSS: a smaller quarantine and a wider allowance
// there (the budget claim itself is checked through 1013 and /metrics either way)
const ASAN = sanitizerBuild();
const ASAN_ENV = ASAN ? { ASAN_OPTIONS: 'quarantine_size_mb=8:allocator_release_to_os_interval_ms=100:detect_leaks=1' } : {};
const OVERHEAD_MB = ASAN ? 160 : 40;
let up, proxy, port;

before(async () => {
  up = await startFakeWsUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, env: ASAN_ENV,
    args: ['--max-inflight-body-mb', String(BUDGET_MB), '--max-connections-per-address', String(PER_ADDRESS)] });
  port = Number(new URL(proxy.url).port);
});
after(async () => {
  assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  await up.close();
});

const status = (pid) => fs.readFileSync(`/proc/${pid}/status`, 'utf8');
const rssKb = () => Number(status(proxy.proc.pid).match(/VmRSS:\s+(\d+)/)[1]);

/** A client frame (masked unless told otherwise). */
function frame(op, payload, { fin = true, mask = true, rsv = 0 } = {}) {
  const n = payload.length;
  let head;
  if (n < 126) head = Buffer.from([0, n]);
  else if (n < 65536) { head = Buffer.alloc(4); head[1] = 126; head.writeUInt16BE(n, 2); }
  else { head = Buffer.alloc(10); head[1] = 127; head.writeBigUInt64BE(BigInt(n), 2); }
  head[0] = (fin ? 0x80 : 0) | rsv | op;
  if (!mask) return Buffer.concat([head, payload]);
  head[1] |= 0x80;
  const m = crypto.randomBytes(4);
  const p = Buffer.from(payload);
  for (let i = 0; i < p.length; i++) p[i] ^= m[i & 3];
  return Buffer.concat([head, m, p]);
}

/** Raw upgrade; resolves once the status line is in: {s, status, frames(), closed}. */
function open(path = '/v1/responses') {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const c = { s, status: 0, data: Buffer.alloc(0), closed: false };
    s.on('data', (d) => {
      if (c.status) { c.data = Buffer.concat([c.data, d]); return; }
      c.status = Number(d.toString('latin1').split(' ')[1]);
      c.data = d.subarray(d.indexOf('\r\n\r\n') + 4);
      resolve(c);
    });
    s.on('close', () => { c.closed = true; resolve(c); });
    s.on('error', () => {});
    s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
      'Authorization: Bearer sk-test\r\n\r\n');
  });
}

/** The close code of the first server close frame in c.data, or null. */
function closeCode(c) {
  for (let at = 0; at + 2 <= c.data.length;) {
    const op = c.data[at] & 0x0f, n = c.data[at + 1] & 0x7f; // server frames here are small
    if (n > 125) return null;
    if (op === 8) return n >= 2 ? c.data.readUInt16BE(at + 2) : 1005;
    at += 2 + n;
  }
  return null;
}

/** Writes buf, waiting while the socket is full (until it drains, closes, or 5 s pass:
 *  a proxy that stopped reading must not hang the test). */
function write(c, buf) {
  if (c.s.write(buf) || c.closed) return Promise.resolve();
  return new Promise((r) => {
    const t = setTimeout(r, 5000);
    const done = () => { clearTimeout(t); c.s.off('drain', done); c.s.off('close', done); r(); };
    c.s.once('drain', done);
    c.s.once('close', done);
  });
}

let inflight = -1;
async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (what.startsWith('the in-flight')) {
      const m = (await (await fetch(`${proxy.url}/metrics`)).text()).match(/^headroom_inflight_bytes (\d+)$/m);
      inflight = m ? Number(m[1]) : -1;
      if (cond()) break;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test(`the per-address limit covers WebSockets: past ${PER_ADDRESS} open sessions, 429 at once`, async () => {
  const conns = [];
  for (let i = 0; i < PER_ADDRESS + 2; i++) conns.push(await open());
  const statuses = conns.map((c) => c.status);
  // this process's own idle keep-alive connection (fetch of /metrics) may hold one slot
  const opened = statuses.filter((x) => x === 101).length;
  assert.ok(opened >= PER_ADDRESS - 1 && opened <= PER_ADDRESS, `${statuses}`);
  assert.deepEqual(statuses.slice(opened), Array(statuses.length - opened).fill(429), `${statuses}`);
  for (const c of conns) c.s.destroy();
  // the slots come back once the sessions have seen their clients go (the next tests need them)
  for (let i = 0; ; i++) {
    const c = await open();
    c.s.destroy();
    if (c.status === 101) break;
    assert.ok(i < 50, 'a slot is free again within 5 s');
    await sleep(100);
  }
});

test('close frames the RFC forbids (1-byte body, reserved codes) end with 1002 and never reach the upstream', async () => {
  const bad = [Buffer.from([0x03]), Buffer.from([0x03, 0xed]), Buffer.from([0x03, 0xee]),
    Buffer.from([0x03, 0xf7]), Buffer.from([0x13, 0x88]), Buffer.from([0x00, 0x00])];
  for (const body of bad) {
    const before = up.connections.length;
    const c = await open();
    assert.equal(c.status, 101);
    await up.until(() => up.connections.length > before, 5000, 'the upstream connection');
    const conn = up.connections.at(-1);
    const t0 = Date.now();
    c.s.write(frame(8, body));
    await until(() => closeCode(c) !== null, 2000, `a close for ${body.toString('hex')}`);
    assert.equal(closeCode(c), 1002, `close body ${body.toString('hex')}`);
    assert.ok(Date.now() - t0 < 2000);
    await up.until(() => conn.close || conn.error, 5000, 'the upstream side to end');
    assert.equal(conn.error, null, `the upstream got a frame it had to refuse: ${conn.error}`);
    assert.equal(conn.close.code, 1001, 'the proxy closed the upstream itself (going away)');
    c.s.destroy();
  }
  // a valid close still goes through as it came, code and reason
  const c = await open();
  await up.until(() => up.connections.at(-1)?.ws, 5000, 'upstream');
  const conn = up.connections.at(-1);
  c.s.write(frame(8, Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye')]))); // 4000
  await up.until(() => conn.close, 5000, 'the relayed close');
  assert.deepEqual(conn.close, { code: 4000, reason: 'bye' });
  c.s.destroy();
});

test('framing violations: 1002 at once (control frame over 125 bytes, unmasked, RSV bits, fragmented ping, stray continuation)', async () => {
  const cases = [
    ['ping of 126 bytes', frame(9, Buffer.alloc(126))],
    ['unmasked text', frame(1, Buffer.from('hi'), { mask: false })],
    ['RSV1 without an extension', frame(1, Buffer.from('hi'), { rsv: 0x40 })],
    ['fragmented ping', frame(9, Buffer.from('p'), { fin: false })],
    ['continuation with no message', frame(0, Buffer.from('x'))],
    ['unknown opcode 3', frame(3, Buffer.from('x'))],
  ];
  for (const [why, f] of cases) {
    const c = await open();
    assert.equal(c.status, 101, why);
    const t0 = Date.now();
    c.s.write(f);
    await until(() => closeCode(c) !== null, 2000, why);
    assert.equal(closeCode(c), 1002, why);
    assert.ok(Date.now() - t0 < 2000, why);
    c.s.destroy();
  }
});

test(`unfinished text messages on many connections stay within the in-flight budget (${BUDGET_MB} MB): 1013, memory returns`, async (t) => {
  const rss0 = rssKb();
  const conns = [];
  for (let i = 0; i < 6; i++) conns.push(await open());
  assert.ok(conns.every((c) => c.status === 101));
  const first = frame(1, Buffer.alloc(1 << 20, 0x61), { fin: false });
  const more = frame(0, Buffer.alloc(1 << 20, 0x61), { fin: false });
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, rssKb()); }, 20);
  // 6 x 30 MB of a message that never ends: 180 MB sent, each would be held twice
  await Promise.all(conns.map(async (c) => {
    for (let k = 0; k < 30 && !c.closed && closeCode(c) === null; k++) {
      await write(c, k ? more : first);
    }
  }));
  await sleep(500);
  clearInterval(sampler);
  t.diagnostic(`peak RSS ${(peak / 1024).toFixed(1)} MB (+${((peak - rss0) / 1024).toFixed(1)}), close codes ${conns.map(closeCode)}`);
  const codes = conns.map(closeCode);
  assert.ok(codes.filter((x) => x === 1013).length >= 4, `most are refused with 1013: ${codes}`);
  // the budget (plus the relays' 64 KiB read buffers and malloc slack), not 6 x 60 MB
  assert.ok(peak - rss0 < (BUDGET_MB + OVERHEAD_MB) * 1024, `peak grew ${Math.round((peak - rss0) / 1024)} MB`);
  for (const c of conns) c.s.destroy();
  // the budget is whole again: /metrics shows nothing in flight
  await until(() => inflight === 0, 5000, 'the in-flight bytes back to 0');
});

test('a ping flood is relayed without piling up (pongs come back, memory flat)', async () => {
  const c = await open();
  await up.until(() => up.connections.at(-1)?.ws, 5000, 'upstream');
  const conn = up.connections.at(-1);
  const rss0 = rssKb();
  const ping = frame(9, Buffer.alloc(125, 0x70));
  const N = 20000;
  const all = Buffer.concat(Array.from({ length: 1000 }, () => ping));
  for (let i = 0; i < N / 1000; i++)
    await write(c, all);
  await up.until(() => conn.pings.length === N, 20000, `all ${N} pings upstream (${conn.pings.length})`);
  // every pong the upstream sent back reaches the client: 127 bytes each
  await until(() => c.data.length >= N * 127, 20000, 'the pongs');
  assert.ok(rssKb() - rss0 < 16 * 1024, `memory flat: +${rssKb() - rss0} KB`);
  assert.equal(closeCode(c), null, 'no close');
  c.s.destroy();
});

