// burst_memory.mjs: what a burst leaves in the proxy's anonymous memory once it is idle
// again, per number of client connections (the numbers behind the allowance in
// tests/node/proxyperf_memory.test.mjs). For each client count: a fresh proxy, 20 warm-up
// requests, then two bursts of 500 requests over that many keep-alive connections; reports
// RssAnon (from /proc, outside the proxy) before, at the end of each burst and 4 s after it
// (idle maintenance runs after a quiet second). The pre-burst value is the baseline.
//
//   HEADROOM_BIN=build/headroom node bench/proxy/burst_memory.mjs 16 64
import fs from 'node:fs';
import http from 'node:http';
import { startFakeUpstream } from '../../tests/node/lib/fake_upstream.mjs';
import { startProxy } from '../../tests/node/lib/proxy.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssAnonKB = (pid) => Number(/RssAnon:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

function post(url, agent, body) {
  return new Promise((resolve, reject) => {
    const r = http.request(`${url}/v1/chat/completions`, {
      method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    r.on('error', reject);
    r.end(body);
  });
}

async function run(clients) {
  const up = await startFakeUpstream();
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url });
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello '.repeat(300) }] });
  for (let i = 0; i < 20; i++) await post(proxy.url, undefined, body);
  await sleep(2500);
  const pid = proxy.proc.pid;
  const before = rssAnonKB(pid);
  for (let round = 1; round <= 2; round++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
    await Promise.all(Array.from({ length: 500 }, () => post(proxy.url, agent, body)));
    const end = rssAnonKB(pid);
    agent.destroy();
    await sleep(4000);
    const idle = rssAnonKB(pid);
    console.log(`clients ${String(clients).padStart(3)} round ${round}: RssAnon before ${before} KB, ` +
      `burst end +${end - before} KB, after idle +${idle - before} KB`);
  }
  await proxy.stop();
  await up.close();
}

for (const c of (process.argv.slice(2).length ? process.argv.slice(2) : ['16', '64']).map(Number)) await run(c);
