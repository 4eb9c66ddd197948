// proxy.mjs: spawn the headroom proxy for a test on a free port and wait until /readyz
// says 200. The proxy is started with --port 0 (the kernel picks a free port, so parallel
// tests never race for one) and the port is read from its "listening" log line.
//
//   const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: [...] });
//   fetch(`${proxy.url}/v1/models`) ...
//   (bin: another binary than HEADROOM_BIN, e.g. a baseline build for a benchmark;
//    prefix: a command the proxy runs under, e.g. ['prlimit', '--nofile=1000:1000', '--'])
//   proxy.logs()                 // everything it wrote to stderr so far
//   const code = await proxy.stop();   // SIGTERM, resolves with the exit code
//
// Environment: HEADROOM_BIN (the binary; set by ctest), else build/headroom in the repo;
// startProxy({bin}) runs another one (benchmarks compare two builds).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.HEADROOM_SOURCE_DIR || path.resolve(here, '../../..');
export const HEADROOM_BIN = process.env.HEADROOM_BIN || path.join(SOURCE_DIR, 'build', 'headroom');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startProxy({ openaiUrl, anthropicUrl, args = [], env = {}, timeoutMs = 15000, bin = HEADROOM_BIN, prefix = [] } = {}) {
  const argv = ['proxy', '--host', '127.0.0.1', '--port', '0'];
  if (openaiUrl) argv.push('--openai-api-url', openaiUrl);
  if (anthropicUrl) argv.push('--anthropic-api-url', anthropicUrl);
  argv.push(...args);
  const proc = spawn(prefix.length ? prefix[0] : bin, prefix.length ? [...prefix.slice(1), bin, ...argv] : argv, {
    // The compression deadline (2 s by default) makes a slow compression fail open; on a
    // loaded CI machine under ASan a 40K-token request can take longer, and a test about
    // what compression produced would then see the original. Tests of the deadline itself
    // pass --compression-deadline-ms, which wins over this variable.
    env: { ...process.env, HEADROOM_LOG_FORMAT: 'text', HEADROOM_COMPRESSION_DEADLINE_MS: '60000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  proc.stderr.on('data', (d) => { stderr += d.toString(); });
  proc.stdout.on('data', (d) => { stdout += d.toString(); });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)));

  const deadline = Date.now() + timeoutMs;
  let port = 0;
  while (!port) {
    const m = stderr.match(/listening.*?port[=":]+(\d+)/);
    if (m) port = Number(m[1]);
    else if (proc.exitCode !== null) throw new Error(`headroom exited (${proc.exitCode}):\n${stderr}`);
    else if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`headroom did not start:\n${stderr}`); }
    else await sleep(20);
  }
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`headroom never ready:\n${stderr}`); }
    await sleep(20);
  }
  return {
    proc, port, url,
    logs: () => stderr,
    stdout: () => stdout,
    exited,
    /** Sends signal (SIGTERM) and resolves with the exit code (or signal name). */
    async stop(signal = 'SIGTERM', killAfterMs = 40000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Parses the proxy's text log lines ("... request id=... route=...") into objects. */
export function requestLogLines(logText) {
  return logText.split('\n').filter((l) => / request id=/.test(l)).map((l) => {
    const o = {};
    for (const m of l.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) o[m[1]] = m[2].startsWith('"') ? JSON.parse(m[2]) : m[2];
    return o;
  });
}

/** True when the binary is a sanitizer build (its CMakeCache says HEADROOM_SANITIZE=ON):
 * memory tests then account for the sanitizer's own allocator and shadow memory. */
export function sanitizerBuild(bin = HEADROOM_BIN) {
  const dir = process.env.HEADROOM_BUILD_DIR || path.dirname(bin);
  try {
    return /HEADROOM_SANITIZE:BOOL=ON/.test(fs.readFileSync(path.join(dir, 'CMakeCache.txt'), 'utf8'));
  } catch {
    return false;
  }
}

/** Runs every cleanup (last registered first) even when one throws, then rethrows the first
 *  error: a failed exit-code check must not leave a server or redis-server running. */
export async function runCleanups(cleanups) {
  let first = null;
  for (const c of cleanups.splice(0).reverse()) {
    try { await c(); } catch (e) { first ??= e; }
  }
  if (first) throw first;
}

/** Polls the proxy's log until cond(logText) holds (log lines are written when a request
 *  completes, which can be just after the client has its answer); returns the log text.
 *  Throws with the log on timeout instead of reading it after a fixed sleep. */
export async function waitForLogs(proxy, cond, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = proxy.logs();
    if (cond(text)) return text;
    if (Date.now() > deadline) throw new Error(`the expected log lines never appeared:\n${text.slice(-4000)}`);
    await sleep(20);
  }
}
