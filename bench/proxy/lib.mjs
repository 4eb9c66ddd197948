// lib.mjs: what the proxy benchmarks share (bench.mjs, parse_once.mjs): request bodies of a
// given size, starting a process and waiting for its port, RSS and CPU of a process from
// /proc, and a wrk run with its latency percentiles, rate and own CPU time.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A POST /v1/chat/completions body of `bytes` bytes (a tool message of log lines), written
// under dir; returns its file name.
export function bodyOfSize(bytes, dir) {
  const base = { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Summarise the log.' }, { role: 'tool', tool_call_id: 'call_1', content: '' }] };
  const empty = Buffer.byteLength(JSON.stringify(base));
  const line = '2026-11-27T03:00:00Z INFO request served path=/api/items status=200 ms=12\n';
  let filler = line.repeat(Math.ceil((bytes - empty) / line.length)).slice(0, bytes - empty);
  base.messages[2].content = filler;
  let s = JSON.stringify(base);
  while (Buffer.byteLength(s) > bytes) { filler = filler.slice(0, -1); base.messages[2].content = filler; s = JSON.stringify(base); }
  const file = path.join(dir, `body-${bytes}.json`);
  fs.writeFileSync(file, s);
  return file;
}

// Starts a process; its output goes to logFile (never accumulated here) and is polled for re
// (re = null resolves at once with port 0: a process whose port the caller chose).
export function start(cmd, args, re, logFile) {
  const fd = fs.openSync(logFile, 'w');
  const p = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const out = () => fs.readFileSync(logFile, 'utf8').slice(0, 4096);
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const m = re ? out().match(re) : [null, 0]; // null: the caller chose the port
      if (m) { clearInterval(t); resolve({ p, port: Number(m[1]) }); }
      if (p.exitCode !== null) { clearInterval(t); reject(new Error(`${cmd} exited: ${out()}`)); }
    }, 20);
  });
}

export function rss(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`${k}:\\s+(\\d+)`)) || [0, 0])[1]);
  return { VmRSS_MB: +(kb('VmRSS') / 1024).toFixed(2), RssAnon_MB: +(kb('RssAnon') / 1024).toFixed(2), RssFile_MB: +(kb('RssFile') / 1024).toFixed(2), Threads: kb('Threads') };
}

function toMs(v, unit) { return unit === 'us' ? v / 1000 : unit === 's' ? v * 1000 : v; }

// CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat.
export function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

// wrk runs under bash so its own CPU time comes back from `times` (children's user/sys).
export function wrk(url, bodyFile, { threads = 1, conns = 1, seconds = 5, bypass = false, delayMs = 0 } = {}) {
  const r = spawnSync('bash', ['-c', 'wrk "$@" && times', 'wrk', `-t${threads}`, `-c${conns}`, `-d${seconds}s`, '--latency', '-s', path.join(here, 'post.lua'), url],
    { env: { ...process.env, BODY_FILE: bodyFile, BYPASS: bypass ? '1' : '0', DELAY_MS: String(delayMs) }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const pct = (p) => { const m = r.stdout.match(new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`)); return m ? toMs(Number(m[1]), m[2]) : NaN; };
  const rps = Number((r.stdout.match(/Requests\/sec:\s+([\d.]+)/) || [0, NaN])[1]);
  const requests = Number((r.stdout.match(/(\d+) requests in/) || [0, NaN])[1]);
  const times = [...r.stdout.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].pop();
  const wrkCpu = times ? Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4]) : NaN;
  const errors = /Non-2xx|Socket errors/.test(r.stdout) ? r.stdout.match(/(Non-2xx.*|Socket errors.*)/g).join('; ') : '';
  return { p50: pct(50), p99: pct(99), rps, requests, wrkCpu, errors };
}

