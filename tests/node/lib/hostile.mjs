// hostile.mjs: the memory attacks of issue 9 as reusable pieces, for
// tests/node/hostile_memory.test.mjs and bench/hostile/attack.mjs.
//
//   zstdBomb(n)                      a zstd frame that decodes to n zero bytes (RLE blocks,
//                                    no declared size: the decoder learns the size by doing)
//   rawPost(port, path, {headers, body, chunked})
//                                    one request over a raw socket with explicit framing;
//                                    resolves {status, ms, body} as soon as the answer is in,
//                                    even when the proxy answers before the body was sent
//   memOf(pid) / resetPeak(pid)      VmRSS, VmHWM, RssAnon from /proc; clear_refs 5 resets
//                                    VmHWM so the peak of one attack can be read alone
//   sampler(pid)                     polls VmRSS every 20 ms (VmHWM needs clear_refs rights)
import fs from 'node:fs';
import net from 'node:net';

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const BLOCK_MAX = 128 * 1024;

/** A zstd frame of RLE blocks decoding to n zero bytes: ~4 bytes per 128 KiB. */
export function zstdBomb(n) {
  // Frame header descriptor 0: no content size, no checksum, window descriptor follows.
  // Window 2^17 = 128 KiB: exponent 17 -> (17 - 10) << 3.
  const parts = [ZSTD_MAGIC, Buffer.from([0x00, 7 << 3])];
  for (let left = n; left > 0;) {
    const size = Math.min(left, BLOCK_MAX);
    left -= size;
    const header = (left === 0 ? 1 : 0) | (1 << 1) | (size << 3); // last, RLE, size
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x20]));
  }
  return Buffer.concat(parts);
}

function parseHead(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, bodyStart: end + 4 };
}

function decodeChunked(buf) {
  const out = [];
  let i = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) return null;
    const size = parseInt(buf.subarray(i, eol).toString('latin1'), 16);
    if (size === 0) return Buffer.concat(out);
    if (buf.length < eol + 2 + size + 2) return null;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

/** Whether the answer in hand is complete: `total` bytes so far, `tail` its last bytes.
 * Cheap, so a huge answer arriving in many pieces is not re-scanned on each. */
function complete(head, total, tail) {
  if (head.headers['transfer-encoding'] === 'chunked') return tail.toString('latin1').endsWith('0\r\n\r\n');
  const cl = Number(head.headers['content-length'] ?? -1);
  return cl >= 0 && total - head.bodyStart >= cl;
}

function bodyOf(buf, head) {
  const rest = buf.subarray(head.bodyStart);
  if (head.headers['transfer-encoding'] === 'chunked') return decodeChunked(rest) ?? rest;
  const cl = Number(head.headers['content-length'] ?? -1);
  return cl >= 0 ? rest.subarray(0, cl) : rest;
}

/**
 * One request over a raw socket. body: a Buffer, or {buffer, repeat} to send one buffer
 * `repeat` times (a 50 MB body from one 1 MB buffer). chunked: send it with
 * Transfer-Encoding: chunked instead of Content-Length. Resolves when the answer is
 * complete (the proxy may answer early and close: the rest of the body is not sent).
 */
export function rawPost(port, path, { headers = {}, body = Buffer.alloc(0), chunked = false, timeoutMs = 60000 } = {}) {
  const piece = Buffer.isBuffer(body) ? body : body.buffer;
  const repeat = Buffer.isBuffer(body) ? 1 : body.repeat;
  const bodyLen = piece.length * repeat;
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let total = 0; // answer bytes received
    let head = null;
    let tail = Buffer.alloc(0);
    let done = false;
    const finish = (err, v) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err); else resolve(v);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const tryFinish = (closed) => {
      if (!head) {
        head = parseHead(Buffer.concat(chunks));
        if (!head) {
          if (closed) finish(new Error(`connection closed without an answer (${total} bytes)`));
          return;
        }
      }
      if (closed || complete(head, total, tail)) {
        const b = bodyOf(Buffer.concat(chunks), head);
        // bodies past 64 MB (a baseline relaying a huge answer) are kept as their first MB
        finish(null, { status: head.status, headers: head.headers, ms: Date.now() - t0, bytes: b.length,
          body: b.subarray(0, b.length > 64 * 1024 * 1024 ? 1024 * 1024 : b.length).toString() });
      }
    };
    sock.on('data', (d) => {
      chunks.push(d);
      total += d.length;
      tail = Buffer.concat([tail, d]).subarray(-8);
      tryFinish(false);
    });
    sock.on('end', () => tryFinish(true));
    sock.on('close', () => tryFinish(true));
    sock.on('error', () => tryFinish(true)); // EPIPE/ECONNRESET after an early answer
    sock.on('connect', async () => {
      const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      lines.push(chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${bodyLen}`);
      sock.write(lines.join('\r\n') + '\r\n\r\n');
      for (let i = 0; i < repeat && !done && !sock.destroyed; i++) {
        if (chunked) sock.write(`${piece.length.toString(16)}\r\n`);
        const ok = sock.write(piece);
        if (chunked) sock.write('\r\n');
        if (!ok) {
          await new Promise((r) => {
            const go = () => { sock.off('drain', go); sock.off('close', go); r(); };
            sock.on('drain', go);
            sock.on('close', go);
          });
        }
      }
      if (chunked && !done && !sock.destroyed) sock.write('0\r\n\r\n');
    });
  });
}

export function memOf(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)[1]) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon') };
}

/** Resets VmHWM (peak RSS) to the current RSS; false when not permitted. */
export function resetPeak(pid) {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Polls VmRSS every 20 ms until stop(); returns the highest seen. */
export function sampler(pid) {
  let peak = 0;
  const tick = () => { try { peak = Math.max(peak, memOf(pid).rss); } catch { /* exited */ } };
  tick();
  const t = setInterval(tick, 20);
  return { stop() { clearInterval(t); tick(); return peak; } };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls RssAnon until it is at most limit or timeoutMs passed; returns the last value. */
export async function anonSettlesTo(pid, limit, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let v = memOf(pid).anon;
  while (v > limit && Date.now() < deadline) {
    await sleep(200);
    v = memOf(pid).anon;
  }
  return v;
}
