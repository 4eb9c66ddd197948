// floor_backpressure.mjs: checks that bench_http_relayfloor relays an event stream with
// backpressure both ways (issue 14): an upstream writes 64 MiB of 1 KiB SSE events as fast
// as its socket drains; the client reads 1 KiB per 10 ms for 3 s, then at full speed. The
// relay's RssAnon must stay within 1 MiB of its start while the client lags (a slow client
// slows the upstream read, never grows a buffer), and every byte must arrive, in order.
// Then a client that leaves a quiet stream (its connection suspended in the relay) must end
// the upstream transfer within 1 s. Exits 1 on a failed check. Usage: node bench/proxy/floor_backpressure.mjs [BIN]
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.argv[2] || path.join(here, '../../build/bench_http_relayfloor');
const TOTAL = 64 << 20;
const event = (i) => `data: ${String(i).padStart(10, '0')}${'x'.repeat(1005)}\n\n`; // 1,025 B
let sent = 0, events = 0, quietClosedAt = 0;
const up = http.createServer((req, res) => {
  if (req.url.includes('quiet')) { // one event, then silence until the relay hangs up
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: hello\n\n');
    res.on('close', () => { quietClosedAt = Date.now(); });
    return;
  }
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const pump = () => {
      while (sent < TOTAL) {
        const e = event(events++);
        sent += e.length;
        if (!res.write(e)) return res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
}).listen(0, '127.0.0.1');
await new Promise((r) => up.once('listening', r));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-floorbp-'));
const f = await start(BIN, [String(up.address().port)], /port=(\d+)/, path.join(tmp, 'floor.log'));
const rss = () => Number(fs.readFileSync(`/proc/${f.p.pid}/status`, 'utf8').match(/RssAnon:\s+(\d+)/)[1]);
const r0 = rss();
let slowMax = r0, got = '', ok = true;
await new Promise((resolve) => {
  const deadline = setTimeout(() => { ok = false; console.log('FAIL: no end of stream within 60 s'); resolve(); }, 60000);
  const req = http.request({ host: '127.0.0.1', port: f.port, method: 'POST', path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json' } }, (res) => {
    res.pause();
    const chunks = [];
    let ended = false, slowDone = false;
    const finish = () => { if (ended && slowDone) { clearTimeout(deadline); got = Buffer.concat(chunks).toString('latin1'); resolve(); } };
    res.on('end', () => { ended = true; finish(); });
    const slow = setInterval(() => { const c = res.read(1024); if (c) chunks.push(c); slowMax = Math.max(slowMax, rss()); }, 10);
    setTimeout(() => {
      clearInterval(slow);
      console.log(`slow client: read ${chunks.reduce((a, c) => a + c.length, 0)} B while the upstream wrote ${sent} B; relay RssAnon ${r0} -> max ${slowMax} KB`);
      slowDone = true;
      res.on('data', (c) => chunks.push(c));
      res.resume();
      finish();
    }, 3000);
  });
  req.on('error', (e) => { ok = false; console.log(`FAIL: ${e.message}`); clearTimeout(deadline); resolve(); });
  req.end('{"stream":true}');
});
const expected = Array.from({ length: events }, (_, i) => event(i)).join('');
if (slowMax - r0 > 1024) { ok = false; console.log(`FAIL: RssAnon grew ${slowMax - r0} KB while the client lagged`); }
if (got !== expected) { ok = false; console.log(`FAIL: received ${got.length} B, expected ${expected.length} B in order`); }
else console.log(`all ${events} events (${got.length} B) arrived in order`);

// client gone: open a quiet stream, read its first event, leave, time the upstream's close
const leftAt = await new Promise((resolve) => {
  const req = http.request({ host: '127.0.0.1', port: f.port, method: 'POST', path: '/v1/quiet',
    headers: { 'content-type': 'application/json' } }, (res) => res.once('data', () => { req.destroy(); resolve(Date.now()); }));
  req.end('{"stream":true}');
});
for (let i = 0; i < 100 && !quietClosedAt; i++) await new Promise((r) => setTimeout(r, 20));
if (!quietClosedAt || quietClosedAt - leftAt > 1000) { ok = false; console.log('FAIL: the upstream transfer outlived its client by more than 1 s'); }
else console.log(`client gone: the upstream connection closed ${quietClosedAt - leftAt} ms after the client left`);
f.p.kill('SIGTERM');
up.close();
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(ok ? 0 : 1);
