// hostile_images.test.mjs: image bombs through each provider shape that decodes images
// (Anthropic base64 sources, Gemini inlineData). A PNG of zeros declaring 4000 x 4000 px is
// ~60 KB on the wire and 112 MB while decoded (RGBA + RGB), so without a bound N concurrent
// requests multiply memory by ~2000. Each decode is charged to the process in-flight budget
// before it starts: peak memory stays within the budget however many arrive at once, every
// request is answered, and each image reaches the upstream either resized or exactly as sent
// (compression fails open), never half.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import fs from 'node:fs';
import { startFakeUpstream, anthropicMessage } from './lib/fake_upstream.mjs';
import { startProxy, sanitizerBuild } from './lib/proxy.mjs';

const BUDGET_MB = 128;
// ASan's redzones and quarantine show in RSS: a smaller quarantine, a wider allowance
const ASAN = sanitizerBuild();
const OVERHEAD_MB = ASAN ? 160 : 48;
const SIDE = 4000;
const GEM = '/v1beta/models/gemini-2.0-flash:generateContent';
let up, proxy;

before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url,
    args: ['--gemini-api-url', up.url, '--max-inflight-body-mb', String(BUDGET_MB)],
    env: { HEADROOM_COMPRESSION_DEADLINE_MS: '120000',
      ...(ASAN ? { ASAN_OPTIONS: 'quarantine_size_mb=8:allocator_release_to_os_interval_ms=100:detect_leaks=1' } : {}) } });
});
after(async () => {
  assert.equal(await proxy.stop(), 0, 'clean exit (no sanitizer report)');
  await up.close();
});

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let crc = 0xffffffff;
  for (const b of buf) crc = CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
/** A valid RGB PNG of w x h black pixels: tiny compressed, huge decoded. */
function pngBomb(w, h) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.alloc((1 + w * 3) * h); // filter byte 0 + zero pixels per row
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const rssKb = () => Number(fs.readFileSync(`/proc/${proxy.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);

test(`8 concurrent ${SIDE}x${SIDE} PNG bombs (Anthropic and Gemini shapes): memory within the ${BUDGET_MB} MB budget, all answered, none half-edited`, async (t) => {
  const png = pngBomb(SIDE, SIDE);
  assert.ok(png.length < 100000, `a small body: ${png.length} bytes`);
  const b64 = png.toString('base64');
  up.reset();
  for (let i = 0; i < 4; i++) {
    up.script('/v1/messages', { json: anthropicMessage() });
    up.script(GEM, { json: { candidates: [{ content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP' }] } });
  }
  const anthropic = () => fetch(`${proxy.url}/v1/messages`, { method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: [
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: b64 } }, { type: 'text', text: 'What is this?' }] }] }) });
  const gemini = () => fetch(`${proxy.url}${GEM}`, { method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': 'k' },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data: b64 } }, { text: 'What is this?' }] }] }) });
  const rss0 = rssKb();
  const t0 = Date.now();
  let peak = rss0;
  const sampler = setInterval(() => { peak = Math.max(peak, rssKb()); }, 10);
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? gemini : anthropic)()));
  clearInterval(sampler);
  for (const a of answers) assert.equal(a.status, 200, await a.text());
  // one decode at a time fits (112 MB of 128); 8 at once would be ~900 MB
  const grewMb = (peak - rss0) / 1024;
  t.diagnostic(`peak RSS ${(peak / 1024).toFixed(1)} MB (+${grewMb.toFixed(1)}), ${Date.now() - t0} ms to the last answer, resized ${up.requests.filter((r) => !r.body.includes(b64.slice(0, 64))).length} of 8`);
  assert.ok(grewMb < BUDGET_MB + OVERHEAD_MB, `peak grew ${grewMb.toFixed(0)} MB`);
  assert.equal(up.requests.length, 8);
  let resized = 0;
  for (const r of up.requests) {
    const j = JSON.parse(r.body.toString('utf8'));
    const img = r.path.startsWith('/v1/messages') ? j.messages[0].content[0].source : j.contents[0].parts[0].inlineData;
    const data = img.data;
    const type = img.media_type || img.mimeType;
    if (data === b64) assert.equal(type, 'image/png', 'an image left as sent keeps its type');
    else {
      assert.equal(type, 'image/jpeg');
      assert.equal(Buffer.from(data, 'base64').subarray(0, 2).toString('hex'), 'ffd8', 'a whole JPEG');
      resized++;
    }
  }
  assert.ok(resized >= 1, 'the budget still lets a decode through');
});
