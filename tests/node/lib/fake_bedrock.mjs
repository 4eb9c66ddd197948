// fake_bedrock.mjs: a fake Amazon Bedrock Runtime on 127.0.0.1 (random port) for the
// Bedrock integration tests. Every request's SigV4 signature is checked with AWS's own
// signer (@smithy/signature-v4) against the credentials the fake is given, as Bedrock
// would: a request that does not verify gets Bedrock's 403 InvalidSignatureException.
// Everything that arrives is recorded (method, raw URL, headers, body bytes, the verdict).
// Answers are Bedrock's shapes, streams framed with AWS's own event-stream codec
// (@smithy/eventstream-codec):
//   POST /model/{id}/invoke                       Anthropic message JSON
//   POST /model/{id}/invoke-with-response-stream  chunk events: {"bytes": base64(event)}
//   POST /model/{id}/converse                     Converse JSON
//   POST /model/{id}/converse-stream              messageStart ... metadata events
//
//   const br = await startFakeBedrock({ credentials: { accessKeyId, secretAccessKey, sessionToken } });
//   br.script('/model/m/invoke', { status: 429, errorType: 'ThrottlingException', message: '...' });
//   br.script('/model/m/invoke-with-response-stream', { frames: [...], resetAfter: 2 });
//   br.script(path, { reply: (rec) => ({ json: ... }) })  // a reply computed from the request
//   br.requests[0].signature  // { ok: true } or { ok: false, reason }
import http from 'node:http';
import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { toUtf8, fromUtf8 } from '@smithy/util-utf8';
import { anthropicMessage, anthropicEvents } from './fake_upstream.mjs';

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const AUTH_RE = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/;

/** Verifies a received request's SigV4 Authorization with AWS's signer. */
export async function verifySigV4(rec, credentials) {
  const m = AUTH_RE.exec(rec.headers.authorization || '');
  if (!m) return { ok: false, reason: `no SigV4 Authorization: ${rec.headers.authorization}` };
  const [, keyId, , region, service, signedList] = m;
  if (keyId !== credentials.accessKeyId) return { ok: false, reason: `unknown access key ${keyId}` };
  const signed = signedList.split(';');
  for (const must of ['host', 'x-amz-date'])
    if (!signed.includes(must)) return { ok: false, reason: `${must} not signed` };
  const sha = createHash('sha256').update(rec.body).digest('hex');
  if (signed.includes('x-amz-content-sha256') && rec.headers['x-amz-content-sha256'] !== sha)
    return { ok: false, reason: 'x-amz-content-sha256 is not the body\'s hash' };
  if (credentials.sessionToken && rec.headers['x-amz-security-token'] !== credentials.sessionToken)
    return { ok: false, reason: 'x-amz-security-token missing or wrong' };
  const headers = {};
  for (const h of signed) {
    if (rec.headers[h] === undefined) return { ok: false, reason: `signed header ${h} missing` };
    headers[h] = rec.headers[h];
  }
  const d = rec.headers['x-amz-date'];
  const signingDate = new Date(Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15)));
  const [path, qs = ''] = rec.url.split('?');
  const query = Object.fromEntries(new URLSearchParams(qs));
  const signer = new SignatureV4({ credentials, region, service, sha256: Sha256, applyChecksum: false });
  const req = new HttpRequest({ method: rec.method, protocol: 'http:', hostname: 'unused', path, query, headers, body: rec.body });
  const again = await signer.sign(req, { signingDate });
  if (again.headers.authorization !== rec.headers.authorization)
    return { ok: false, reason: `signature mismatch: got ${rec.headers.authorization}, AWS computes ${again.headers.authorization}` };
  return { ok: true, region, service, signedHeaders: signed };
}

/** One event-stream frame (AWS codec). */
export function frame(headers, payload) {
  const h = {};
  for (const [k, v] of Object.entries(headers)) h[k] = { type: 'string', value: v };
  return Buffer.from(codec.encode({ headers: h, body: typeof payload === 'string' ? fromUtf8(payload) : payload }));
}

/** invoke-with-response-stream frames for Anthropic events: {"bytes": base64(event)}. */
export function invokeStreamFrames(events = anthropicEvents('anthropic.claude')) {
  return events.map((e, i) => {
    const data = { ...e.data };
    if (i === events.length - 1)
      data['amazon-bedrock-invocationMetrics'] = { inputTokenCount: 31, outputTokenCount: 9, invocationLatency: 12, firstByteLatency: 5 };
    return frame({ ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' },
      JSON.stringify({ bytes: Buffer.from(JSON.stringify(data)).toString('base64'), p: 'abcdefghijklmnop' }));
  });
}

export function converseResponse(text = 'Hello from the fake Bedrock.') {
  return {
    output: { message: { role: 'assistant', content: [{ text }] } }, stopReason: 'end_turn',
    usage: { inputTokens: 57, outputTokens: 11, totalTokens: 68 }, metrics: { latencyMs: 42 },
  };
}

/** converse-stream events as [type, payload] and their frames. */
export function converseStreamEvents(pieces = ['Hel', 'lo', '!']) {
  const ev = [['messageStart', { role: 'assistant' }]];
  for (const p of pieces) ev.push(['contentBlockDelta', { contentBlockIndex: 0, delta: { text: p } }]);
  ev.push(['contentBlockStop', { contentBlockIndex: 0 }], ['messageStop', { stopReason: 'end_turn' }],
    ['metadata', { usage: { inputTokens: 57, outputTokens: 11, totalTokens: 68 }, metrics: { latencyMs: 42 } }]);
  return ev;
}

export function converseStreamFrames(events = converseStreamEvents()) {
  return events.map(([type, payload]) =>
    frame({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, JSON.stringify(payload)));
}

function cannedReply(path) {
  if (path.endsWith('/invoke-with-response-stream')) return { frames: invokeStreamFrames() };
  if (path.endsWith('/invoke')) return { json: anthropicMessage('anthropic.claude') };
  if (path.endsWith('/converse-stream')) return { frames: converseStreamFrames() };
  if (path.endsWith('/converse')) return { json: converseResponse() };
  return { status: 404, errorType: 'UnknownOperationException', message: `fake Bedrock has no ${path}` };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startFakeBedrock({ credentials }) {
  const scripts = new Map();
  const requests = [];
  const sockets = new Set();

  async function play(spec, req, res) {
    if (spec.frames) {
      res.writeHead(spec.status || 200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'fake-req-1' });
      res.flushHeaders();
      // a reset waits for what was written to reach the wire (destroy drops pending writes)
      const reset = async () => { await sleep(50); req.socket.destroy(); };
      let n = 0;
      for (const f of spec.frames) {
        if (spec.resetAfter !== undefined && n >= spec.resetAfter) return reset();
        res.write(f);
        n++;
        if (spec.intervalMs) await sleep(spec.intervalMs);
      }
      if (spec.resetAfter !== undefined && n >= spec.resetAfter) return reset();
      res.end();
      return;
    }
    if (spec.errorType) {
      res.writeHead(spec.status || 400, { 'content-type': 'application/json', 'x-amzn-errortype': `${spec.errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/`, 'x-amzn-requestid': 'fake-req-1' });
      res.end(JSON.stringify({ message: spec.message || spec.errorType }));
      return;
    }
    res.writeHead(spec.status || 200, { 'content-type': 'application/json', 'x-amzn-requestid': 'fake-req-1',
      'x-amzn-bedrock-input-token-count': '31', 'x-amzn-bedrock-output-token-count': '9' });
    res.end(JSON.stringify(spec.json));
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const rec = { method: req.method, url: req.url, path: req.url.split('?')[0], headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) };
      rec.signature = await verifySigV4(rec, credentials).catch((e) => ({ ok: false, reason: String(e) }));
      requests.push(rec);
      if (!rec.signature.ok) {
        play({ status: 403, errorType: 'InvalidSignatureException', message: `The request signature we calculated does not match the signature you provided. (${rec.signature.reason})` }, req, res);
        return;
      }
      const queue = scripts.get(rec.path);
      let spec = queue && queue.length ? queue.shift() : cannedReply(rec.path);
      if (spec.reply) spec = spec.reply(rec); // computed from what arrived
      play(spec, req, res).catch(() => req.socket.destroy());
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port, url: `http://127.0.0.1:${port}`, requests,
    script(path, ...specs) {
      if (!scripts.has(path)) scripts.set(path, []);
      scripts.get(path).push(...specs);
    },
    reset() { scripts.clear(); requests.length = 0; },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
