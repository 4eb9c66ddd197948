// gen_bpe_fixture.mjs: a realistic byte-level BPE tokenizer.json with real merges, laid out
// like ModernBERT-base's, built from GPT-2's byte-level ranks (r50k_base, shipped by the npm
// js-tiktoken package) at test time, so no 3 MB tokenizer file is committed.
//
//   node tools/gen_bpe_fixture.mjs OUT_DIR      (run from anywhere; resolves js-tiktoken
//                                                through tests/node/node_modules)
//
// Writes OUT_DIR/tokenizer.json and OUT_DIR/tokenizer_config.json:
//   ids 0..50255      GPT-2's tokens (id = r50k rank), byte-mapped strings as in GPT-2's
//                     vocab.json; merges derived from the ranks (below), in rank order;
//   50256             <|endoftext|> (added, special), as in GPT-2;
//   50257..50279      runs of 24 down to 2 spaces (added, normalized, not special), as the
//                     GPT-NeoX / OLMo tokenizer ModernBERT derives from has;
//   50280..50284      [UNK] [CLS] [SEP] [PAD] [MASK] at ModernBERT's ids ([MASK] lstrip);
//   50285..50367      [unused0] .. [unused82] (added), filling ModernBERT's 50,368 ids.
// Pre-tokenizer ByteLevel (add_prefix_space false, use_regex true), no normalizer,
// TemplateProcessing [CLS] $A [SEP], ByteLevel decoder: ModernBERT's settings.
//
// Merges: r50k stores token ranks, HF stores merges. A token's merge is the pair the
// token's own bytes reach when BPE runs with only lower-ranked tokens (tiktoken's
// construction, reversed); merge i is the one producing the token of the i-th lowest rank.
// `--merge-form array` writes ["a","b"] pairs (tokenizers >= 0.20) instead of "a b".
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/node/package.json'));

// GPT-2's reversible byte -> printable character map (what ByteLevel uses).
export function bytesToUnicode() {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const map = new Array(256);
  bs.forEach((b) => { map[b] = String.fromCodePoint(b); });
  let n = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCodePoint(256 + n++);
  return map;
}

function loadR50k() {
  const ranks = require('js-tiktoken/ranks/r50k_base');
  const byRank = [];
  for (const line of ranks.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offsetStr, ...tokens] = line.split(' ');
    const offset = Number.parseInt(offsetStr, 10);
    tokens.forEach((tok, i) => { byRank[offset + i] = Buffer.from(tok, 'base64'); });
  }
  return byRank;
}

// The two parts BPE ends with on `bytes` when only ranks below `limit` may merge.
function lastMerge(bytes, rankOf, limit) {
  let parts = [...bytes].map((b) => Buffer.from([b]));
  for (;;) {
    let best = -1, bestRank = limit;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rankOf.get(Buffer.concat([parts[i], parts[i + 1]]).toString('latin1'));
      if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
    }
    if (best < 0) break;
    parts = [...parts.slice(0, best), Buffer.concat([parts[best], parts[best + 1]]), ...parts.slice(best + 2)];
  }
  return parts;
}

export function buildTokenizer({ mergeForm = 'string' } = {}) {
  const b2u = bytesToUnicode();
  const byRank = loadR50k();
  const rankOf = new Map(byRank.map((b, r) => [b.toString('latin1'), r]));
  const str = (buf) => [...buf].map((b) => b2u[b]).join('');
  const vocab = {};
  byRank.forEach((b, r) => { vocab[str(b)] = r; });
  const merges = [];
  byRank.forEach((b, r) => {
    if (b.length < 2) return;
    const parts = lastMerge(b, rankOf, r);
    if (parts.length !== 2) throw new Error(`rank ${r}: no merge reaches the token`);
    merges.push(mergeForm === 'array' ? [str(parts[0]), str(parts[1])] : `${str(parts[0])} ${str(parts[1])}`);
  });
  const added = [];
  const add = (id, content, o) => added.push({ id, content, single_word: false, lstrip: false, rstrip: false,
    normalized: false, special: true, ...o });
  vocab['<|endoftext|>'] = 50256;
  add(50256, '<|endoftext|>');
  for (let k = 24, id = 50257; k >= 2; k--, id++) add(id, ' '.repeat(k), { normalized: true, special: false });
  ['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]'].forEach((t, i) => add(50280 + i, t, { lstrip: t === '[MASK]' }));
  for (let i = 0; 50285 + i < 50368; i++) add(50285 + i, `[unused${i}]`, { special: false });
  const special = (name) => ({ id: name, ids: [added.find((a) => a.content === name).id], tokens: [name] });
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

export const TOKENIZER_CONFIG = {
  tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: 8192, clean_up_tokenization_spaces: true,
  unk_token: '[UNK]', cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', mask_token: '[MASK]',
};

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const form = args.includes('--merge-form') ? args[args.indexOf('--merge-form') + 1] : 'string';
  const out = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--merge-form');
  if (!out) {
    process.stderr.write('usage: node tools/gen_bpe_fixture.mjs OUT_DIR [--merge-form string|array]\n');
    process.exit(2);
  }
  fs.mkdirSync(out, { recursive: true });
  const tj = buildTokenizer({ mergeForm: form });
  fs.writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(tj));
  fs.writeFileSync(path.join(out, 'tokenizer_config.json'), JSON.stringify(TOKENIZER_CONFIG, null, 1));
  process.stdout.write(`gen_bpe_fixture: ${tj.model.merges.length} merges, ${Object.keys(tj.model.vocab).length} vocab, ` +
    `${tj.added_tokens.length} added -> ${out}\n`);
}
