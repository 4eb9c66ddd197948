// run.mjs: image tokens saved by the image stage (docs/benchmarks.md, "Image tokens").
// Makes a fixed set of images with ImageMagick (/usr/bin/convert: terminal screenshots, a
// document render, gradients/photo-like noise, in PNG, JPEG and WebP, 400 px to 4000 px),
// asks each with a few questions through `headroom compress --stats` as an Anthropic and as
// an OpenAI chat request, and prints the estimated vision tokens before/after per provider
// and the median wall time per Anthropic request (process start included).
//   node bench/images/run.mjs [BUILD_DIR]      (default: build)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(path.resolve(process.argv[2] ?? path.join(src, 'build')), 'headroom');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-bench-images-'));
const IM = '/usr/bin/convert';
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';
const im = (...a) => execFileSync(IM, a, { cwd: dir, stdio: 'pipe' });

const text = (n) => Array.from({ length: n }, (_, i) => `line ${i}: GET /api/v1/items?page=${i} 200 ${12 + i}ms`).join('\n');
const images = [
  ['term-1024.png', () => im('-size', '1024x1024', 'xc:black', '-fill', 'lime', '-font', FONT, '-pointsize', '18', '-annotate', '+10+24', text(40), 'term-1024.png')],
  ['term-1920x1080.png', () => im('-size', '1920x1080', 'xc:#1e1e1e', '-fill', 'white', '-font', FONT, '-pointsize', '20', '-annotate', '+12+28', text(44), 'term-1920x1080.png')],
  ['doc-2480x3508.jpg', () => im('-size', '2480x3508', 'xc:white', '-fill', 'black', '-font', FONT, '-pointsize', '36', '-annotate', '+100+150', text(80), '-quality', '90', 'doc-2480x3508.jpg')],
  ['photo-4000x3000.jpg', () => im('-size', '4000x3000', 'plasma:fractal', '-seed', '7', '-quality', '88', 'photo-4000x3000.jpg')],
  ['grad-800x600.webp', () => im('-size', '800x600', 'gradient:navy-orange', 'grad-800x600.webp')],
  ['chart-1200x800.png', () => im('-size', '1200x800', 'xc:white', '-stroke', 'blue', '-strokewidth', '4', '-draw', 'polyline 50,700 300,400 600,500 900,200 1150,250', 'chart-1200x800.png')],
  ['small-400x300.png', () => im('-size', '400x300', 'gradient:red-blue', 'small-400x300.png')],
];
const questions = ['What is in this image?', 'Read the error message exactly.', 'Summarise the document.'];
const media = { png: 'image/png', jpg: 'image/jpeg', webp: 'image/webp' };

function compress(shape, body) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, ['compress', '--shape', shape, '--stats'], { input: JSON.stringify(body), maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = r.stderr.toString().match(/tokens_before=(\d+) tokens_after=(\d+)/);
  if (r.status !== 0 || !m) throw new Error(`compress failed: ${r.stderr}`);
  return { before: Number(m[1]), after: Number(m[2]), ms, out: r.stdout.length };
}

const rows = [];
const times = [];
for (const [name, make] of images) {
  make();
  const data = fs.readFileSync(path.join(dir, name)).toString('base64');
  const type = media[name.split('.').pop()];
  const a = { before: 0, after: 0 }, o = { before: 0, after: 0 };
  for (const q of questions) {
    const ra = compress('anthropic', { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: [
      { type: 'image', source: { type: 'base64', media_type: type, data } }, { type: 'text', text: q }] }] });
    const ro = compress('openai', { model: 'gpt-4o', messages: [{ role: 'user', content: [
      { type: 'text', text: q }, { type: 'image_url', image_url: { url: `data:${type};base64,${data}` } }] }] });
    a.before += ra.before; a.after += ra.after; o.before += ro.before; o.after += ro.after;
    times.push(ra.ms);
  }
  rows.push({ name, bytes: Buffer.byteLength(data, 'base64'), a, o });
}
const pct = (x) => (100 * (x.before - x.after) / x.before).toFixed(1);
console.log(`bench/images: ${new Date().toISOString().slice(0, 16)}Z, ${os.cpus().length} cores, ${questions.length} questions per image, default technique (no router)`);
console.log('| image | bytes | Anthropic tokens before → after | saved | OpenAI tokens before → after | saved |');
console.log('|---|---:|---:|---:|---:|---:|');
const tot = { a: { before: 0, after: 0 }, o: { before: 0, after: 0 } };
for (const r of rows) {
  console.log(`| ${r.name} | ${r.bytes} | ${r.a.before} → ${r.a.after} | ${pct(r.a)}% | ${r.o.before} → ${r.o.after} | ${pct(r.o)}% |`);
  for (const k of ['a', 'o']) { tot[k].before += r[k].before; tot[k].after += r[k].after; }
}
console.log(`| total | | ${tot.a.before} → ${tot.a.after} | ${pct(tot.a)}% | ${tot.o.before} → ${tot.o.after} | ${pct(tot.o)}% |`);
times.sort((x, y) => x - y);
console.log(`Anthropic request wall time through \`headroom compress\` (process start included): p50 ${times[times.length >> 1].toFixed(1)} ms, max ${times[times.length - 1].toFixed(1)} ms`);
fs.rmSync(dir, { recursive: true, force: true });
