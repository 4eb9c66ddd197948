// images_proxy.test.mjs: the image stage through the proxy with the real OpenAI and
// Anthropic SDKs, on image files ImageMagick makes at test time (/usr/bin/convert): a
// terminal screenshot (PNG), a text render (WebP), a gradient JPEG with EXIF rotation, a
// small PNG, a truncated JPEG and a PNG whose header claims 40000 x 40000.
//   - Anthropic: base64 images larger than 512 px come out as JPEG q85 with the long side
//     512 and the orientation applied (checked with ImageMagick's identify); small,
//     truncated and over-cap images and URL sources pass byte for byte; nothing else in the
//     body changes; the same request twice gives the same bytes.
//   - Gemini (@google/genai): inlineData images larger than 768 px come out as JPEG with the
//     long side 768; small, truncated, non-image and fileData parts pass byte for byte.
//   - OpenAI chat and Responses: image parts get "detail":"low" (data: and http URLs; URLs
//     are never fetched); the token headers show the saving.
//   - The router: with HEADROOM_IMAGE_ROUTER_MODEL the proxy edits exactly when
//     `headroom embed --classify` labels the question full_low; HEADROOM_IMAGE_DEFAULT=preserve
//     leaves every image.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, openaiChatCompletion, anthropicMessage, responsesObject } from './lib/fake_upstream.mjs';
import { startProxy, HEADROOM_BIN } from './lib/proxy.mjs';
import { BUILD_DIR, generateModel, makeCorpus } from './lib/ml_reference.mjs';

const IM = '/usr/bin/convert';
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';
let up, dir;
const img = {};

const b64 = (name) => fs.readFileSync(path.join(dir, name)).toString('base64');
const im = (...args) => execFileSync(IM, args, { cwd: dir, stdio: 'pipe' });
function identify(buf) {
  const f = path.join(dir, `id-${process.hrtime.bigint()}`);
  fs.writeFileSync(f, buf);
  const out = execFileSync('identify', ['-format', '%m %w %h %Q', f]).toString().split(' ');
  fs.rmSync(f);
  return { format: out[0], w: Number(out[1]), h: Number(out[2]), quality: Number(out[3]) };
}

// A minimal EXIF APP1 (big-endian TIFF, IFD0 = orientation) after SOI.
function withOrientation(jpeg, o) {
  const app1 = Buffer.from([0xFF, 0xE1, 0x00, 0x22, ...Buffer.from('Exif\0\0MM\0*'), 0, 0, 0, 8, 0, 1,
    0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-images-'));
  const lines = ['$ ls -la /var/log', 'drwxr-xr-x 12 root root 4096 Dec  3 09:00 .',
    '-rw-r----- 1 syslog adm 182734 Dec  3 10:12 syslog', 'ERROR: disk /dev/sda1 98% full'];
  im('-size', '1600x900', 'xc:black', '-fill', 'lime', '-font', FONT, '-pointsize', '28',
    '-annotate', '+30+60', lines.join('\n'), 'terminal.png');
  im('-size', '2000x1000', 'xc:white', '-fill', 'black', '-font', FONT, '-pointsize', '64',
    '-annotate', '+50+200', 'Quarterly report\nRevenue 4.2M\nMargin 17%', 'text.webp');
  im('-size', '1200x800', 'gradient:navy-orange', '-fill', 'white', '-draw', 'rectangle 40,40 300,120', '-quality', '92', 'grad.jpg');
  fs.writeFileSync(path.join(dir, 'rotated.jpg'), withOrientation(fs.readFileSync(path.join(dir, 'grad.jpg')), 6));
  im('-size', '300x200', 'gradient:red-blue', 'small.png');
  const g = fs.readFileSync(path.join(dir, 'grad.jpg'));
  fs.writeFileSync(path.join(dir, 'truncated.jpg'), g.subarray(0, g.length >> 1));
  const bomb = fs.readFileSync(path.join(dir, 'small.png'));
  bomb.writeUInt32BE(40000, 16);
  bomb.writeUInt32BE(40000, 20);
  bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)), 29);
  fs.writeFileSync(path.join(dir, 'bomb.png'), bomb);
  for (const f of ['terminal.png', 'text.webp', 'rotated.jpg', 'small.png', 'truncated.jpg', 'bomb.png'])
    img[f] = b64(f);
  up = await startFakeUpstream();
});

after(async () => {
  await up.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function crc32(buf) {
  let c = 0xFFFFFFFF;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xFFFFFFFF) >>> 0;
}

const mediaType = { png: 'image/png', webp: 'image/webp', jpg: 'image/jpeg' };
const anthropicImage = (f) => ({ type: 'image', source: { type: 'base64', media_type: mediaType[f.split('.')[1]], data: img[f] } });

// A generous compression deadline: images past it are left as they are (by design), which
// on a loaded test machine would make the same request come out differently.
async function withProxy(env, fn) {
  const proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url,
    env: { HEADROOM_COMPRESSION_DEADLINE_MS: '60000', ...env } });
  try {
    return await fn(proxy);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
}

test('anthropic SDK: large base64 images resized to 512 px JPEG q85, everything else byte-identical', async () => {
  await withProxy({}, async (proxy) => {
    up.reset();
    const client = new Anthropic({ apiKey: 'sk-ant-img', baseURL: proxy.url, maxRetries: 0 });
    const files = ['terminal.png', 'text.webp', 'rotated.jpg', 'small.png', 'truncated.jpg', 'bomb.png'];
    const params = {
      model: 'claude-sonnet-4-5', max_tokens: 32,
      messages: [
        { role: 'user', content: [...files.map(anthropicImage),
          { type: 'image', source: { type: 'url', url: 'https://example.invalid/cat.png' } },
          { type: 'text', text: 'What is in these pictures?' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'screenshot', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [anthropicImage('terminal.png')] }] },
      ],
    };
    for (let i = 0; i < 3; i++) up.script('/v1/messages', { json: anthropicMessage() });
    await client.messages.create(params, { headers: { 'x-headroom-bypass': 'true' } });
    const { response } = await client.messages.create(params).withResponse();
    await client.messages.create(params);
    const sent = JSON.parse(up.requests[0].body);
    const got = JSON.parse(up.requests[1].body);
    assert.ok(up.requests[2].body.equals(up.requests[1].body), 'deterministic: same request, same bytes');
    const parts = got.messages[0].content;
    const want = { 'terminal.png': [512, 288], 'text.webp': [512, 256], 'rotated.jpg': [341, 512] };
    files.forEach((f, i) => {
      const src = parts[i].source;
      if (want[f]) {
        assert.equal(src.media_type, 'image/jpeg', f);
        const id = identify(Buffer.from(src.data, 'base64'));
        assert.deepEqual([id.format, id.w, id.h, id.quality], ['JPEG', ...want[f], 85], f);
      } else {
        assert.deepEqual(src, sent.messages[0].content[i].source, `${f} passes unchanged`);
      }
    });
    assert.deepEqual(parts[6], sent.messages[0].content[6], 'URL source untouched');
    const nested = got.messages[2].content[0].content[0].source;
    assert.equal(nested.media_type, 'image/jpeg', 'images inside tool_result are resized too');
    // everything but the edited sources is identical
    for (const m of [got, sent]) {
      for (const i of [0, 1, 2]) m.messages[0].content[i].source = 'X';
      m.messages[2].content[0].content[0].source = 'X';
    }
    assert.deepEqual(got, sent);
    const before_ = Number(response.headers.get('x-headroom-tokens-before'));
    const after_ = Number(response.headers.get('x-headroom-tokens-after'));
    assert.ok(after_ < before_ / 2, `vision tokens ${before_} -> ${after_}`);
  });
});

test('openai SDK: chat image parts and Responses input_image get detail low; URLs are not fetched', async () => {
  await withProxy({}, async (proxy) => {
    up.reset();
    const client = new OpenAI({ apiKey: 'sk-img', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
    const messages = [{ role: 'user', content: [
      { type: 'text', text: 'Describe both images.' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${img['terminal.png']}` } },
      { type: 'image_url', image_url: { url: 'https://example.invalid/never-fetched.png', detail: 'high' } },
    ] }];
    for (let i = 0; i < 2; i++) up.script('/v1/chat/completions', { json: openaiChatCompletion() });
    await client.chat.completions.create({ model: 'gpt-4o', messages }, { headers: { 'x-headroom-bypass': 'true' } });
    const { response } = await client.chat.completions.create({ model: 'gpt-4o', messages }).withResponse();
    const sent = JSON.parse(up.requests[0].body);
    const got = JSON.parse(up.requests[1].body);
    assert.equal(got.messages[0].content[1].image_url.detail, 'low');
    assert.equal(got.messages[0].content[2].image_url.detail, 'low');
    sent.messages[0].content[1].image_url.detail = 'low';
    sent.messages[0].content[2].image_url.detail = 'low';
    assert.deepEqual(got, sent, 'only detail changed; the data URL is the same bytes');
    // 1600x900 at high detail: 768 short side -> 1365x768 -> 3x2 tiles = 85 + 170*6 = 1105
    assert.equal(Number(response.headers.get('x-headroom-tokens-before')), 1105);
    assert.equal(Number(response.headers.get('x-headroom-tokens-after')), 85);
    assert.equal(up.requests.length, 2, 'the proxy fetched nothing');

    up.script('/v1/responses', { json: responsesObject() });
    await client.responses.create({ model: 'gpt-4o', input: [{ role: 'user', content: [
      { type: 'input_text', text: 'what does the terminal say?' },
      { type: 'input_image', image_url: `data:image/png;base64,${img['small.png']}`, detail: 'auto' }] }] });
    const r = JSON.parse(up.requests[2].body);
    assert.equal(r.input[0].content[1].detail, 'low');
    assert.equal(r.input[0].content[1].image_url, `data:image/png;base64,${img['small.png']}`);
  });
});

test('router decides: edits exactly when the question is labelled full_low; default preserve leaves all', async () => {
  const mdir = generateModel({ size: 'tiny', seed: 7, dir: path.join(BUILD_DIR, 'ml-router-tiny'), head: 'classifier' });
  const model = path.join(mdir, 'router-proxy.hrm');
  execFileSync(HEADROOM_BIN, ['model', 'import', mdir, '--out', model], { stdio: 'pipe' });
  // candidate questions: hand-written ones, then corpus texts, until the random router has
  // answered full_low and something else at least twice each
  const candidates = ['What is in this picture?', 'Read the small serial number in the corner.',
    'Transcribe the receipt exactly.', 'Is this a cat or a dog?', 'What does the error in the terminal say?',
    ...makeCorpus(4, 120).map((t) => t.replace(/[\r\n]/g, ' ').slice(0, 200)).filter((t) => t.trim())];
  const labelled = execFileSync(HEADROOM_BIN, ['embed', '--classify', '--model', model], { input: candidates.join('\n') + '\n' })
    .toString().trim().split('\n').map((l, i) => ({ q: candidates[i], label: JSON.parse(l).label }));
  const low = labelled.filter((x) => x.label === 'full_low').slice(0, 3);
  const other = labelled.filter((x) => x.label !== 'full_low').slice(0, 3);
  assert.ok(low.length >= 2 && other.length >= 2, 'the generated router answers both ways on the candidates');
  const questions = [...low, ...other].map((x) => x.q);
  const labels = [...low, ...other].map((x) => x.label);
  await withProxy({ HEADROOM_IMAGE_ROUTER_MODEL: model }, async (proxy) => {
    up.reset();
    const client = new Anthropic({ apiKey: 'sk-ant-img', baseURL: proxy.url, maxRetries: 0 });
    for (let i = 0; i < questions.length; i++) {
      up.script('/v1/messages', { json: anthropicMessage() });
      await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: [
        anthropicImage('terminal.png'), { type: 'text', text: questions[i] }] }] });
      const src = JSON.parse(up.requests[i].body).messages[0].content[0].source;
      assert.equal(src.media_type, labels[i] === 'full_low' ? 'image/jpeg' : 'image/png', `"${questions[i]}" -> ${labels[i]}`);
    }
  });
  // each image follows the question asked with it, not the last one: earlier turns keep
  // their bytes when a later question is labelled differently
  await withProxy({ HEADROOM_IMAGE_ROUTER_MODEL: model }, async (proxy) => {
    up.reset();
    up.script('/v1/messages', { json: anthropicMessage() });
    const client = new Anthropic({ apiKey: 'sk-ant-img', baseURL: proxy.url, maxRetries: 0 });
    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [
      { role: 'user', content: [anthropicImage('terminal.png'), { type: 'text', text: other[0].q }] },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: [anthropicImage('text.webp'), { type: 'text', text: low[0].q }] }] });
    const msgs = JSON.parse(up.requests[0].body).messages;
    assert.equal(msgs[0].content[0].source.data, img['terminal.png'], `turn 1 (${other[0].label}) unchanged`);
    assert.equal(msgs[2].content[0].source.media_type, 'image/jpeg', 'turn 2 (full_low) resized');
  });
  await withProxy({ HEADROOM_IMAGE_DEFAULT: 'preserve' }, async (proxy) => {
    up.reset();
    up.script('/v1/messages', { json: anthropicMessage() });
    const client = new Anthropic({ apiKey: 'sk-ant-img', baseURL: proxy.url, maxRetries: 0 });
    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: [
      anthropicImage('terminal.png'), { type: 'text', text: 'hi' }] }] });
    assert.equal(JSON.parse(up.requests[0].body).messages[0].content[0].source.data, img['terminal.png']);
  });
});

test('gemini SDK: inlineData images resized to 768 px JPEG (one Gemini tile), the rest byte-identical', async () => {
  const { GoogleGenAI } = await import('@google/genai');
  const proxy = await startProxy({ args: ['--gemini-api-url', up.url], env: { HEADROOM_COMPRESSION_DEADLINE_MS: '60000' } });
  try {
    up.reset();
    const path_ = '/v1beta/models/gemini-2.0-flash:generateContent';
    const reply = { candidates: [{ content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 1, totalTokenCount: 10 } };
    for (let i = 0; i < 2; i++) up.script(path_, { json: reply });
    const files = ['terminal.png', 'text.webp', 'rotated.jpg', 'small.png', 'truncated.jpg'];
    const params = {
      model: 'gemini-2.0-flash',
      contents: [{ role: 'user', parts: [...files.map((f) => ({ inlineData: { mimeType: mediaType[f.split('.')[1]], data: img[f] } })),
        { inlineData: { mimeType: 'application/pdf', data: img['terminal.png'] } },
        { fileData: { mimeType: 'image/png', fileUri: 'gs://bucket/cat.png' } },
        { text: 'What is in these pictures?' }] }],
    };
    const mk = (headers) => new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: proxy.url, headers } });
    await mk({ 'x-headroom-bypass': 'true' }).models.generateContent(params);
    await mk({}).models.generateContent(params);
    const sent = JSON.parse(up.requests[0].body);
    const got = JSON.parse(up.requests[1].body);
    const want = { 'terminal.png': [768, 432], 'text.webp': [768, 384], 'rotated.jpg': [512, 768] };
    const parts = got.contents[0].parts;
    files.forEach((f, i) => {
      if (want[f]) {
        assert.equal(parts[i].inlineData.mimeType, 'image/jpeg', f);
        const id = identify(Buffer.from(parts[i].inlineData.data, 'base64'));
        assert.deepEqual([id.format, id.w, id.h, id.quality], ['JPEG', ...want[f], 85], f);
        parts[i].inlineData = sent.contents[0].parts[i].inlineData = 'X';
      }
    });
    assert.deepEqual(got, sent, 'small, truncated, non-image and fileData parts and everything else unchanged');
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
