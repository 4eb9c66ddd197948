// ml_reference.mjs: the independent references our ML code is checked against.
//
// - tokens: @huggingface/tokenizers (Tokenizer from tokenizer.json + tokenizer_config.json),
//   truncated the way our encoder truncates ([CLS] pieces[:max-2] [SEP]);
// - embeddings: ONNX Runtime (onnxruntime-node) on the graphs tools/export_onnx.py writes,
//   one text per run (batch 1), output "sentence_embedding" (mean-pooled, L2-normalised);
// - models: tools/gen_model.py run with HEADROOM_PYTHON into a directory of the build tree
//   (weights are generated at test time, never committed);
// - a seeded corpus of varied texts (accents, CJK, emoji, punctuation, code, long words,
//   whitespace, control characters, literal special tokens, over-long texts).
// Nothing here imports our own code; tests compare our binary's output with these.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE_DIR = process.env.HEADROOM_SOURCE_DIR ?? fileURLToPath(new URL('../../..', import.meta.url));
export const BUILD_DIR = process.env.HEADROOM_BUILD_DIR ?? path.join(SOURCE_DIR, 'build');
export const PYTHON = process.env.HEADROOM_PYTHON ?? '/usr/bin/python3';

// Writes a generated model directory (tools/gen_model.py) unless it already holds the same
// arch/size/seed from the current generator (newer than its script); returns the directory.
// Test files running in parallel may share a directory: a lock directory serialises them.
// head: 'classifier' writes a BertForSequenceClassification (the technique router's shape).
export function generateModel({ arch = 'bert', size = 'tiny', seed = 1, dir, head }) {
  return withLock(`${dir}.lock`, () => {
    const cfgPath = path.join(dir, 'config.json');
    const tool = path.join(SOURCE_DIR, 'tools/gen_model.py');
    const sources = [tool, ...(arch === 'modernbert' ? [path.join(SOURCE_DIR, 'tools/gen_modernbert.py')] : [])];
    const newest = Math.max(...sources.map((f) => fs.statSync(f).mtimeMs));
    if (fs.existsSync(cfgPath) && fs.statSync(cfgPath).mtimeMs >= newest) {
      const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'));
      const g = cfg.headroom_generated ?? {};
      if (cfg.model_type === arch && g.size === size && g.seed === seed && g.head === head &&
          fs.existsSync(path.join(dir, 'model.safetensors')))
        return dir;
    }
    execFileSync(PYTHON, [tool, '--arch', arch, '--size', size, '--seed', String(seed), '--out', dir,
      ...(head ? ['--head', head] : [])], { stdio: 'pipe' });
    return dir;
  });
}

// Runs fn while holding lockDir (mkdir is atomic); a lock older than 5 minutes is stale.
export function withLock(lockDir, fn) {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(lockDir).mtimeMs > 300000) fs.rmdirSync(lockDir);
      } catch { /* released meanwhile */ }
      Atomics.wait(pause, 0, 0, 100);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmdirSync(lockDir);
  }
}

// The MiniLM-shaped model the ML tests share (generated once per build directory).
export const sharedMiniLM = () => generateModel({ size: 'minilm', seed: 3, dir: path.join(BUILD_DIR, 'ml-minilm-3') });

// Exports dir's weights to ONNX (fp32 and int8 graphs) unless both files are newer than the
// weights and the exporter; returns { fp32, int8 } paths.
export function exportOnnx(dir) {
  const fp32 = path.join(dir, 'model.onnx');
  const int8 = path.join(dir, 'model_int8.onnx');
  const weights = path.join(dir, 'model.safetensors');
  const tool = path.join(SOURCE_DIR, 'tools/export_onnx.py');
  const newest = Math.max(fs.statSync(weights).mtimeMs, fs.statSync(tool).mtimeMs);
  const fresh = (p) => fs.existsSync(p) && fs.statSync(p).mtimeMs >= newest;
  withLock(path.join(dir, 'export.lock'), () => {
    if (!fresh(fp32) || !fresh(int8))
      execFileSync(PYTHON, [tool, '--model', dir, '--out', fp32, '--int8-out', int8], { stdio: 'pipe' });
  });
  return { fp32, int8 };
}

export async function loadTokenizer(dir) {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const tj = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  const tc = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  return new Tokenizer(tj, tc);
}

// Reference ids of text, truncated to maxLen as our encoder does.
export function referenceIds(tokenizer, text, maxLen = 256) {
  const ids = tokenizer.encode(text).ids;
  if (ids.length <= maxLen) return ids;
  return [...ids.slice(0, maxLen - 1), ids[ids.length - 1]];
}

// ONNX Runtime session over an exported graph. arena: ORT's CPU memory arena on/off.
export async function ortSession(modelPath, { arena = true, threads = 1 } = {}) {
  const ort = await import('onnxruntime-node');
  return ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads, interOpNumThreads: 1, enableCpuMemArena: arena,
    enableMemPattern: arena, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
}

// Runs one sequence of ids (batch 1); returns { embedding, hidden } as Float32Arrays.
export async function ortEmbed(session, ids) {
  const ort = await import('onnxruntime-node');
  const n = ids.length;
  const big = (xs) => BigInt64Array.from(xs, (x) => BigInt(x));
  const feeds = {
    input_ids: new ort.Tensor('int64', big(ids), [1, n]),
    attention_mask: new ort.Tensor('int64', big(new Array(n).fill(1)), [1, n]),
    token_type_ids: new ort.Tensor('int64', big(new Array(n).fill(0)), [1, n]),
  };
  const out = await session.run(feeds);
  return { embedding: out.sentence_embedding.data, hidden: out.last_hidden_state.data };
}

// A SigLIP tower's pooled embedding of an S x S image file under ONNX Runtime: pixels read
// back by ImageMagick (no resize: the file must be S x S), scaled to [-1, 1], CHW.
export async function ortVisionEmbed(session, file, S) {
  const ort = await import('onnxruntime-node');
  const raw = execFileSync('/usr/bin/convert', [file, '-depth', '8', 'rgb:-']);
  const px = new Float32Array(3 * S * S);
  for (let i = 0; i < S * S; i++)
    for (let c = 0; c < 3; c++) px[c * S * S + i] = raw[i * 3 + c] / 255 * 2 - 1;
  const out = await session.run({ pixel_values: new ort.Tensor('float32', px, [1, 3, S, S]) });
  return Array.from(out.pooler_output.data);
}

export function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / (Math.sqrt(na) * Math.sqrt(nb) || 1);
}

// ---- corpus ------------------------------------------------------------------------------

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOLS = {
  words: ['the', 'Quick', 'BROWN', 'fox', 'jumps', 'over', 'lazy', 'dogs', 'running', 'tested',
    'unbelievable', 'tokenization', 'Error', 'WARNING', 'failed', 'timeout', 'request', 'server',
    'model', 'embeddings', 'kubernetes', 'Docker', 'python3', 'node_modules', 'hello', 'world'],
  accents: ['café', 'naïve', 'Ångström', 'façade', 'résumé', 'Zürich', 'São Paulo', 'Dvořák',
    'Łódź', 'Straße', 'ÆØÅ', 'İstanbul', 'e\u0301le\u0300ve', 'ﬁne', 'Ⅻ', 'Crème Brûlée',
    'ÑANDÚ', 'œuvre', 'Ǆemal'],
  scripts: ['Москва Кремль', 'ΑΘΗΝΑ αθήνα', 'שָׁלוֹם', 'مَرْحَبًا', 'नमस्ते दुनिया', 'สวัสดีครับ',
    '한국어 텍스트', '안녕하세요', 'ﾊﾝｶｸ', 'Ελληνικά'],
  cjk: ['中文测试', '日本語のテキスト', '漢字かな交じり文', 'abc中文def', '豈更車', '我爱你。', '「引用」',
    '你好，世界！', '東京タワー', '㐀㐁'],
  emoji: ['😀', '👍🏽', '👨\u200d👩\u200d👧', '🇺🇸', '❤️', '🚀🔥', '✨ sparkle', '☺', '🎉🎉🎉',
    'ok👍'],
  punct: ['!!!', '...', '—', '«quoted»', '¿qué?', '¡hola!', 'foo-bar_baz', 'a/b\\c', '@user',
    '#tag', '$100.00', '50%', '(a+b)*c', '“smart” ‘quotes’', '…', '§ 3.1', '†', '~`^|'],
  code: ['def f(x): return x**2', 'const a = {b: [1, 2, 3]};', 'if (x != null) { y->z(); }',
    'printf("%d\\n", n);', 'SELECT * FROM users WHERE id = 42;', '<div class="x">hi</div>',
    'https://example.com/path?q=1&r=2', 'git commit -m "fix: bug #123"', 'a && b || !c',
    'fn main() -> Result<(), Box<dyn Error>> {}', '{"key": "value", "n": 3.5e-7}',
    '    indented();\n\treturn;'],
  numbers: ['3.14159', '1,000,000', '2024-01-01T12:00:00Z', '0xDEADBEEF', '-42', '1e10',
    '192.168.0.1', '99.9%'],
  whitespace: ['\t', '\n\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\u2028', '   ', '\u1680',
    '\u202f', '\u205f'],
  control: ['\u0000', '\u0001', '\u007f', '\u0085', '\u200b', '\ufeff', '\u00ad', '\ue000',
    '\u200e', '\u001b[31m', '\u0008', '\ud800', '\ufffd'],
  specials: ['[CLS]', '[SEP]', '[MASK]', '[UNK]x', '[PAD]', '[sep]', '[ CLS ]', 'a[SEP]b'],
};

function longWord(rnd, n) {
  const letters = 'abcdefghijklmnopqrstuvwxyzé';
  let s = '';
  for (let i = 0; i < n; i++) s += letters[Math.floor(rnd() * letters.length)];
  return s;
}

// Characters where @huggingface/tokenizers 0.2.0 differs from HF's Rust tokenizers (which
// our C tokenizer follows; tests/unit/test_ml_wordpiece.c covers them): capital sigma
// (tokenizers.js applies Final_Sigma) and astral CJK ideographs (tokenizers.js checks UTF-16
// units, so it never isolates them). The corpus leaves them out.
export const REFERENCE_DIVERGENT = /[\u03a3]|[\u{20000}-\u{2fa1f}]/u;

// Returns n texts (deterministic for a seed): every pool entry alone, then mixtures.
export function makeCorpus(seed = 7, n = 300) {
  const rnd = mulberry32(seed);
  const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
  const texts = [];
  for (const pool of Object.values(POOLS)) texts.push(...pool);
  texts.push('a'.repeat(100), 'a'.repeat(101), 'é'.repeat(100), 'é'.repeat(101),
    'supercalifragilisticexpialidocious'.repeat(3), '', ' ', longWord(rnd, 99) + ' end');
  texts.push(Array.from({ length: 400 }, () => pick(POOLS.words)).join(' '));
  texts.push(Array.from({ length: 300 }, () => pick(POOLS.cjk)).join(''));
  const names = Object.keys(POOLS);
  const seps = [' ', '', '\n', ', ', '\t', ' - '];
  while (texts.length < n) {
    const parts = [];
    const k = 1 + Math.floor(rnd() * 12);
    for (let i = 0; i < k; i++) {
      const r = rnd();
      parts.push(r < 0.08 ? longWord(rnd, 90 + Math.floor(rnd() * 20)) : pick(POOLS[pick(names)]));
      parts.push(pick(seps));
    }
    texts.push(parts.join(''));
  }
  for (const t of texts)
    if (REFERENCE_DIVERGENT.test(t)) throw new Error(`corpus text hits a known divergence: ${t}`);
  return texts;
}
