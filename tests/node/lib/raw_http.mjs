// raw_http.mjs: a deliberately unfriendly HTTP client for hostile-client tests and benchmarks:
// raw bytes on a fresh TCP connection, pauses between pieces, and a read until the server
// closes (or a time limit), timed.
//
//   const r = await raw(port, ['GET / HTTP/1.1\r\n', 300, 'Host: x\r\n\r\n'], 4000);
//   r.status (0 = no status line), r.json (the body when it is JSON), r.ms, r.why ('closed',
//   'timeout', 'error ECONNRESET'), r.text (everything received, latin1)
//   raw(port, slowly('GET / HTTP/1.1\r\n', 300))   // one byte every 300 ms
import net from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Sends the pieces (string/Buffer; a number = pause in ms) on a fresh connection and reads
// until the server closes or `ms` passes. Returns {why, ms, text, status, json}. `from`: the
// local address to connect from (any 127.x.y.z works on Linux: another client address).
export function raw(port, pieces, ms = 4000, { from } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let buf = Buffer.alloc(0);
    let settled = false;
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from }, async () => {
      for (const p of [].concat(pieces)) {
        if (settled || s.destroyed) return;
        if (typeof p === 'number') await sleep(p);
        else s.write(p);
      }
    });
    const done = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      const text = buf.toString('latin1');
      const m = text.match(/^HTTP\/1\.1 (\d{3}) /);
      let json = null;
      const at = text.indexOf('\r\n\r\n');
      if (at >= 0) try { json = JSON.parse(text.slice(at + 4)); } catch { /* not JSON */ }
      resolve({ why, ms: Date.now() - t0, text, status: m ? Number(m[1]) : 0, json });
    };
    s.on('data', (d) => { buf = Buffer.concat([buf, d]); });
    s.on('end', () => done('closed'));
    s.on('error', (e) => done(`error ${e.code}`));
    const timer = setTimeout(() => done('timeout'), ms);
  });
}

// The pieces that send text one byte at a time, pauseMs apart (a slow client).
export function slowly(text, pauseMs) {
  const pieces = [];
  for (const ch of text) pieces.push(ch, pauseMs);
  return pieces;
}
