// hostile.mjs: each hostile-client attack of issue 9 (HTTP layer) against two builds side by
// side, with their default settings (only --max-body-bytes lowered so a small body is over
// it): the status each answers with and the time to that answer (or to the close). An
// attack still unanswered after LIMIT_MS is reported as held.
//
//   node bench/http/hostile.mjs NEW_BIN BASELINE_BIN [LIMIT_MS]
//
// The last two rows are the lock-out: slow clients fill --limit-concurrency 1000 from
// one address (this build also gets --max-connections-per-address 256).
// Prints a Markdown table for docs/benchmarks.md ("Reliability").
import net from 'node:net';
import { startFakeUpstream } from '../../tests/node/lib/fake_upstream.mjs';
import { startProxy } from '../../tests/node/lib/proxy.mjs';
import { raw, slowly } from '../../tests/node/lib/raw_http.mjs';

const [newBin, baseBin, limitArg] = process.argv.slice(2);
if (!newBin || !baseBin) {
  console.error('usage: node bench/http/hostile.mjs NEW_BIN BASELINE_BIN [LIMIT_MS]');
  process.exit(2);
}
const LIMIT_MS = Number(limitArg || 12000);
const H = 'Host: proxy\r\n';

function attacks(baitPort) {
  const big = `10000\r\n${'x'.repeat(0x10000)}\r\n`;
  return [
    ['target `@127.0.0.1:PORT/v1/models` (user info)', `GET @127.0.0.1:${baitPort}/v1/models HTTP/1.1\r\n${H}Connection: close\r\n\r\n`],
    ['absolute-form target', `GET http://127.0.0.1:${baitPort}/v1/models HTTP/1.1\r\n${H}Connection: close\r\n\r\n`],
    ['dot-segments `/v1/../x`', `GET /v1/../x HTTP/1.1\r\n${H}Connection: close\r\n\r\n`],
    ['`?query=%ff%fe` on /v1/retrieve', `GET /v1/retrieve/abc?query=%ff%fe HTTP/1.1\r\n${H}Connection: close\r\n\r\n`],
    ['bare CR in a header value', `GET /v1/models HTTP/1.1\r\n${H}X-A: a\rb\r\nConnection: close\r\n\r\n`],
    ['two different Content-Lengths', `POST /v1/models HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`],
    ['Transfer-Encoding with Content-Length', `POST /v1/models HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`],
    ['invalid Content-Length', `POST /v1/models HTTP/1.1\r\n${H}Content-Length: abc\r\nConnection: close\r\n\r\n`],
    ['unknown Transfer-Encoding (gzip)', `POST /v1/chat/completions HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nConnection: close\r\n\r\nabc`],
    ['HTTP/1.1 without Host', 'GET /v1/models HTTP/1.1\r\nConnection: close\r\n\r\n'],
    ['chunked body of 1,800 B over a 1,000-byte limit', [`POST /v1/chat/completions HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`, `708\r\n${'x'.repeat(1800)}\r\n`, '0\r\n\r\n']],
    ['chunked body of 2 MiB over a 1,000-byte limit', [`POST /v1/chat/completions HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`, ...Array(32).fill(big), '0\r\n\r\n']],
    ['chunk extension of 100 KB', `POST /v1/models HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n1;${'a'.repeat(100000)}\r\nx\r\n0\r\n\r\n`],
    ['`GARBAGE` request line', 'GARBAGE\r\n\r\n'],
    ['binary request line, no end (TLS hello)', [Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])]],
    ['slow head: a byte every 1 s', slowly(`GET /v1/models HTTP/1.1\r\n${H}\r\n`, 1000)],
    ['slow chunked body: a chunk every 1 s', [`POST /v1/chat/completions HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`, ...slowly('x'.repeat(200), 1000).map((p) => (typeof p === 'string' ? `1\r\n${p}\r\n` : p))]],
  ];
}

function cell(r) {
  if (r.why === 'timeout') return `held > ${LIMIT_MS / 1000} s`;
  const what = r.status ? String(r.status) : 'closed, no answer';
  return `${what} in ${r.ms} ms`;
}

async function runOne(bin, up, list) {
  const proxy = await startProxy({ bin, openaiUrl: up.url, anthropicUrl: up.url, args: ['--max-body-bytes', '1000'] });
  const out = [];
  try {
    // independent connections: run them all at once so slow attacks overlap
    const results = await Promise.all(list.map(([, pieces]) => raw(proxy.port, pieces, LIMIT_MS)));
    for (const r of results) out.push({ cell: cell(r), forwarded: 0 });
  } finally {
    proxy.proc.kill('SIGKILL');
  }
  return out;
}

// The lock-out: FLOOD slow clients from 127.0.0.1 (a byte a second) against a proxy
// with --limit-concurrency 1000, then one request from 127.0.0.2 and one more from 127.0.0.1.
const FLOOD = 1200;
async function flood(bin, extraArgs) {
  const proxy = await startProxy({ bin, openaiUrl: up.url, anthropicUrl: up.url, args: ['--limit-concurrency', '1000', ...extraArgs] });
  const slow = [];
  try {
    for (let i = 0; i < FLOOD; i++) {
      const s = net.connect(proxy.port, '127.0.0.1');
      s.on('error', () => {});
      const text = 'GET /v1/models HTTP/1.1\r\n';
      let k = 0;
      const t = setInterval(() => { if (k < text.length && !s.destroyed) s.write(text[k++]); }, 1000);
      s.on('close', () => clearInterval(t));
      slow.push(s);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const get = 'GET /livez HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n';
    const other = await raw(proxy.port, get, LIMIT_MS, { from: '127.0.0.2' });
    const same = await raw(proxy.port, get, LIMIT_MS);
    return { other: cell(other), same: cell(same) };
  } finally {
    for (const s of slow) s.destroy();
    proxy.proc.kill('SIGKILL');
  }
}

const up = await startFakeUpstream();
const bait = net.createServer((s) => { bait.hits = (bait.hits || 0) + 1; s.destroy(); });
await new Promise((r) => bait.listen(0, '127.0.0.1', r));
const list = attacks(bait.address().port);
const baseline = await runOne(baseBin, up, list);
const baitAfterBaseline = bait.hits || 0;
const forwardedBaseline = up.requests.length;
up.reset();
const ours = await runOne(newBin, up, list);
const baitAfterNew = (bait.hits || 0) - baitAfterBaseline;
console.log('| attack | this build | baseline (before the fix) |');
console.log('|---|---|---|');
list.forEach(([name], i) => console.log(`| ${name} | ${ours[i].cell} | ${baseline[i].cell} |`));
const floodNew = await flood(newBin, ['--max-connections-per-address', '256']);
const floodBase = await flood(baseBin, []);
console.log(`| ${FLOOD} slow clients from 127.0.0.1, then a request from 127.0.0.2 | ${floodNew.other} | ${floodBase.other} |`);
console.log(`| ... and one more from 127.0.0.1 | ${floodNew.same} | ${floodBase.same} |`);
console.log(`\nrequests that reached the upstream: this build ${up.requests.length}, baseline ${forwardedBaseline}; ` +
  `connections to the bait server: this build ${baitAfterNew}, baseline ${baitAfterBaseline}`);
await up.close();
await new Promise((r) => bait.close(r));
