// idle_cpu.mjs: what the connection guard's watchdog costs while nothing happens: CPU time of
// the proxy process over a quiet window with N idle keep-alive connections (each served one
// request first), for two builds side by side (the baseline has no watchdog).
//
//   node bench/http/idle_cpu.mjs NEW_BIN BASELINE_BIN [N=1000] [SECONDS=10]
import fs from 'node:fs';
import net from 'node:net';
import { startFakeUpstream } from '../../tests/node/lib/fake_upstream.mjs';
import { startProxy } from '../../tests/node/lib/proxy.mjs';

const [newBin, baseBin, nArg, secArg] = process.argv.slice(2);
if (!newBin || !baseBin) {
  console.error('usage: node bench/http/idle_cpu.mjs NEW_BIN BASELINE_BIN [N] [SECONDS]');
  process.exit(2);
}
const N = Number(nArg || 1000), SECONDS = Number(secArg || 10);
const ticks = Number(process.env.CLK_TCK || 100);

function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / ticks; // utime + stime
}

function keepAlive(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('data', (d) => { if (d.includes('alive')) resolve(s); });
    s.on('error', reject);
    s.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

async function measure(bin) {
  const up = await startFakeUpstream();
  const proxy = await startProxy({ bin, openaiUrl: up.url, anthropicUrl: up.url });
  const sockets = [];
  try {
    for (let i = 0; i < N; i += 100)
      sockets.push(...await Promise.all(Array.from({ length: Math.min(100, N - i) }, () => keepAlive(proxy.port))));
    await new Promise((r) => setTimeout(r, 1000));
    const c0 = cpuSeconds(proxy.proc.pid);
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    return (cpuSeconds(proxy.proc.pid) - c0) / SECONDS * 100;
  } finally {
    for (const s of sockets) s.destroy();
    proxy.proc.kill('SIGKILL');
    await up.close();
  }
}

const ours = await measure(newBin);
const base = await measure(baseBin);
console.log(`| ${N} idle keep-alive connections, ${SECONDS} s | ${ours.toFixed(2)} % of a core | ${base.toFixed(2)} % of a core |`);
