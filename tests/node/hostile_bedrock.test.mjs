// hostile_bedrock.test.mjs: Bedrock's signing rule attacked as a hostile client would. The
// proxy lends its own AWS credentials only to a client whose SigV4 signature it can check
// with them; these requests are signed with the right secret but cover less than AWS
// itself demands, or are stale or forged, and each must get a 403 in Bedrock's shape with
// nothing reaching the upstream (whatever reached it would carry the proxy's signature).
// Raw HTTP requests signed with AWS's own signer (@smithy/signature-v4), so the coverage
// is chosen here, not by the SDK.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import fs from 'node:fs';
import { startFakeBedrock, invokeStreamFrames, frame } from './lib/fake_bedrock.mjs';
import { anthropicMessage } from './lib/fake_upstream.mjs';
import { startProxy, runCleanups } from './lib/proxy.mjs';

const CREDS = { accessKeyId: 'AKIAHEADROOMFAKE02', secretAccessKey: 'hostile/secret+key/for-tests' };
const REGION = 'us-west-2';
const TOKEN = 'IQoJb3JpZ2luX2VjHOSTILE//session-token==';
const signatures = []; // every Signature= value a client sent
const NO_AWS_FILES = { AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_CONFIG_FILE: '/nonexistent/config', AWS_PROFILE: '', AWS_REGION: '', AWS_DEFAULT_REGION: '' };
const PATH = '/model/anthropic.claude-v2/invoke';
const BODY = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
const cleanups = [];
let br, proxy, port;

before(async () => {
  br = await startFakeBedrock({ credentials: CREDS });
  cleanups.push(() => br.close());
  proxy = await startProxy({
    args: ['--bedrock-api-url', br.url, '--bedrock-region', REGION, '--log-level', 'debug', '--log-messages'],
    env: { ...NO_AWS_FILES, AWS_ACCESS_KEY_ID: CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey, AWS_SESSION_TOKEN: TOKEN },
  });
  cleanups.push(async () => assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)'));
  port = Number(new URL(proxy.url).port);
  br.script(PATH, { json: anthropicMessage('anthropic.claude') });
});
after(() => runCleanups(cleanups));

/** Signs a POST of BODY with opts ({service, unsign, signingDate, extraSigned}) and sends
 *  it with `after` headers added once signed. Resolves {status, json, headers, ms}. */
async function send({ service = 'bedrock', unsign = [], signingDate, extraSigned = {}, after = {}, credentials = CREDS, path: PATH = '/model/anthropic.claude-v2/invoke' } = {}) {
  const signer = new SignatureV4({ credentials, region: REGION, service, sha256: Sha256, uriEscapePath: true });
  const req = { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: PATH, body: BODY,
    headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json', ...extraSigned } };
  const signed = await signer.sign(req, { unsignableHeaders: new Set(unsign), signingDate });
  const headers = { ...signed.headers, ...after };
  signatures.push(headers.authorization.match(/Signature=([0-9a-f]+)/)[1]);
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, path: PATH, method: 'POST', headers }, (res) => {
      let b = '';
      res.setEncoding('latin1');
      res.on('data', (d) => { b += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(b); } catch { /* asserted below */ }
        resolve({ status: res.statusCode, json, headers: res.headers, ms: Date.now() - t0, raw: b });
      });
    });
    r.on('error', reject);
    r.end(BODY);
  });
}

function assertRefused(r, reason) {
  assert.equal(r.status, 403, JSON.stringify(r.json));
  assert.match(r.headers['x-amzn-errortype'] || '', /^AccessDeniedException/);
  assert.ok(r.json && typeof r.json.message === 'string', 'Bedrock\'s error shape: {"message"}');
  assert.match(r.json.message, reason);
  assert.ok(r.ms < 2000, `answered at once (${r.ms} ms)`);
}

test('control: a fully signed request is re-signed and reaches Bedrock', async () => {
  const before = br.requests.length;
  const r = await send();
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(br.requests.length, before + 1);
  assert.equal(br.requests.at(-1).signature.ok, true, br.requests.at(-1).signature.reason);
});

test('partial signatures cannot borrow the proxy\'s: Host unsigned, an x-amzn- header added unsigned', async () => {
  const before = br.requests.length;
  assertRefused(await send({ unsign: ['host'] }), /Host is not among its signed headers/);
  // signed properly otherwise, but a Bedrock header slipped in after signing would go to
  // Bedrock under the proxy's signature
  assertRefused(await send({ after: { 'x-amzn-bedrock-guardrailidentifier': 'attacker-guardrail' } }),
    /x-amzn-bedrock-guardrailidentifier is sent but not signed/);
  assertRefused(await send({ after: { 'X-Amz-Target': 'other' } }), /not signed/);
  // x-amzn-trace-id is unsigned by AWS's own rule: still accepted
  const ok = await send({ after: { 'x-amzn-trace-id': 'Root=1-abc' } });
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  assert.equal(br.requests.length, before + 1, 'only the acceptable request reached the upstream');
});

test('a signature made for another service with the same key is not one for Bedrock', async () => {
  const before = br.requests.length;
  assertRefused(await send({ service: 's3' }), /service 's3', not bedrock/);
  assertRefused(await send({ service: 'sts' }), /not bedrock/);
  assert.equal(br.requests.length, before);
});

test('stale and future-dated, forged and foreign-key signatures: 403 at once, nothing forwarded', async () => {
  const before = br.requests.length;
  assertRefused(await send({ signingDate: new Date(Date.now() - 16 * 60 * 1000) }), /15 minutes/);
  assertRefused(await send({ signingDate: new Date(Date.now() + 16 * 60 * 1000) }), /15 minutes/);
  assertRefused(await send({ credentials: { ...CREDS, secretAccessKey: 'guessed' } }), /does not match/);
  assertRefused(await send({ credentials: { accessKeyId: 'AKIAOTHER', secretAccessKey: 'x' } }), /another access key/);
  // a valid signature with the body changed after signing: the body hash no longer matches
  const signer = new SignatureV4({ credentials: CREDS, region: REGION, service: 'bedrock', sha256: Sha256, uriEscapePath: true });
  const s = await signer.sign({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: PATH, body: BODY,
    headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json' } });
  const other = BODY.replace('hi', 'yo');
  const r = await new Promise((resolve) => {
    const q = http.request({ host: '127.0.0.1', port, path: PATH, method: 'POST', headers: { ...s.headers, 'content-length': other.length } }, (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(b), headers: res.headers, ms: 0 }));
    });
    q.end(other);
  });
  assertRefused(r, /signature does not match/);
  assert.equal(br.requests.length, before);
});

test('a hostile event stream (a 4 MB frame, a bad CRC, garbage) is relayed byte for byte, memory flat', async () => {
  const STREAM = '/model/anthropic.claude-v2/invoke-with-response-stream';
  const good = invokeStreamFrames();
  const huge = frame({ ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' },
    JSON.stringify({ bytes: Buffer.alloc(3 << 20, 0x41).toString('base64') }));
  const badCrc = Buffer.from(good[1]);
  badCrc[badCrc.length - 1] ^= 0xff;
  const garbage = Buffer.alloc(1 << 20, 0xff); // a prelude claiming 4 GiB, then more of it
  const frames = [good[0], huge, good[1], badCrc, garbage, ...good.slice(2)];
  br.script(STREAM, { frames });
  const rss0 = Number(fs.readFileSync(`/proc/${proxy.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
  const r = await send({ path: STREAM });
  const rss1 = Number(fs.readFileSync(`/proc/${proxy.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.amazon.eventstream');
  assert.ok(Buffer.from(r.raw, 'latin1').equals(Buffer.concat(frames)), 'every byte relayed as the upstream sent it');
  assert.ok(rss1 - rss0 < 32 * 1024, `memory flat: +${rss1 - rss0} KB`);
});

test('credentials never logged, even at debug with --log-messages: secret, session token, signatures', async () => {
  const logs = proxy.logs();
  assert.match(logs, /request id=/, 'the requests above were logged');
  for (const secret of [CREDS.secretAccessKey, TOKEN, ...signatures])
    assert.ok(!logs.includes(secret), `the log shows ${secret.slice(0, 12)}...`);
  // the signatures the proxy made for the upstream, too
  for (const rec of br.requests) {
    const sig = rec.headers.authorization.match(/Signature=([0-9a-f]+)/)[1];
    assert.ok(!logs.includes(sig), 'the proxy\'s own signature is not logged');
  }
});
