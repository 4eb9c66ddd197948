// ws.mjs: the Responses WebSocket relay's cost, proxy vs direct to the same fake upstream
// in the same run (docs/benchmarks.md, "Responses over WebSocket").
//
//   node bench/proxy/ws.mjs [rounds=3]      (HEADROOM_BIN or build/headroom)
//
// The upstream is tests/node/lib/fake_ws_upstream.mjs in this process, echoing every
// message. Measured one message at a time on one connection (the round trip a client sees):
//   - small: a 200-byte text message that is not a response.create (relayed as it came);
//   - 1 MB binary message (relayed frame for frame);
//   - response.create with a 1 MB pytest log as function_call_output (compressed by the
//     proxy; direct sends it as it is), timed until the echo of what the upstream received.
// Each case alternates direct and proxy rounds; the better round is kept.
import { startProxy } from '../../tests/node/lib/proxy.mjs';
import { startFakeWsUpstream } from '../../tests/node/lib/fake_ws_upstream.mjs';
import { pytestLog } from '../../tests/node/lib/e2e_fixtures.mjs';
import WebSocket from '../../tests/node/node_modules/ws/index.js';

const rounds = Number(process.argv[2] || 3);

function open(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 0 });
  return new Promise((resolve, reject) => { ws.on('open', () => resolve(ws)); ws.on('error', reject); });
}

async function roundTrips(ws, payload, n, binary) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => { ws.once('message', resolve); ws.send(payload, { binary }); });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(n * 0.5)], p99: times[Math.min(n - 1, Math.floor(n * 0.99))] };
}

const log = pytestLog(6000).text;
const create = JSON.stringify({ type: 'response.create', model: 'gpt-5-codex', input: [
  { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'why did the tests fail?' }] },
  { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '{}' },
  { type: 'function_call_output', call_id: 'c1', output: log }] });
const cases = [
  ['200 B text', 'x'.repeat(200), 2000, false],
  ['1 MB binary', Buffer.alloc(1 << 20, 7), 100, true],
  [`response.create, ${(create.length / 1e6).toFixed(2)} MB tool output`, create, 30, false],
];

const up = await startFakeWsUpstream();
up.onMessage = (ws, data, isBinary) => ws.send(data, { binary: isBinary });
const proxy = await startProxy({ openaiUrl: up.url });
const direct = await open(up.url.replace('http', 'ws') + '/v1/responses');
const via = await open(proxy.url.replace('http', 'ws') + '/v1/responses');
console.log(`| case | path | p50 | p99 | added p50 |`);
console.log(`|---|---|---:|---:|---:|`);
for (const [name, payload, n, binary] of cases) {
  let best = { direct: null, proxy: null };
  for (let r = 0; r < rounds; r++) {
    for (const [k, ws] of [['direct', direct], ['proxy', via]]) {
      const m = await roundTrips(ws, payload, n, binary);
      if (!best[k] || m.p50 < best[k].p50) best[k] = m;
    }
  }
  console.log(`| ${name} | direct | ${best.direct.p50.toFixed(3)} ms | ${best.direct.p99.toFixed(3)} ms | |`);
  console.log(`| ${name} | proxy | ${best.proxy.p50.toFixed(3)} ms | ${best.proxy.p99.toFixed(3)} ms | ${(best.proxy.p50 - best.direct.p50).toFixed(3)} ms |`);
}
const sent = up.connections[1].messages.at(-1).data.length;
console.log(`\nresponse.create as the upstream got it via the proxy: ${sent} bytes (sent ${create.length})`);
direct.close();
via.close();
await proxy.stop();
await up.close();
