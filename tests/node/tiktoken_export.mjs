// tiktoken_export.mjs: writes js-tiktoken's bundled ranks as standard .tiktoken files
// ("<base64 token> <rank>" per line, rank order), the format headroom reads. Used by the
// token tests and the benchmark so no rank file is ever committed.
//   node tests/node/tiktoken_export.mjs <out dir> [o200k_base cl100k_base]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export function loadRanks(name) {
  return require(`js-tiktoken/ranks/${name}`);
}

// js-tiktoken stores runs of consecutive ranks as "<tag> <first rank> <b64> <b64> ...".
export function toTiktokenFormat(ranks) {
  const byRank = [];
  for (const line of ranks.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offsetStr, ...tokens] = line.split(' ');
    const offset = Number.parseInt(offsetStr, 10);
    tokens.forEach((tok, i) => { byRank[offset + i] = tok; });
  }
  const out = [];
  byRank.forEach((tok, rank) => { if (tok !== undefined) out.push(`${tok} ${rank}\n`); });
  return out.join('');
}

// Writes <dir>/tokenizers/<name>.tiktoken (mode 0600) unless it is already there.
export function exportRanks(dir, names = ['o200k_base', 'cl100k_base']) {
  const tdir = path.join(dir, 'tokenizers');
  fs.mkdirSync(tdir, { recursive: true });
  const paths = {};
  for (const name of names) {
    const file = path.join(tdir, `${name}.tiktoken`);
    if (!fs.existsSync(file)) {
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, toTiktokenFormat(loadRanks(name)), { mode: 0o600 });
      fs.renameSync(tmp, file);
    }
    paths[name] = file;
  }
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir, ...names] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: node tiktoken_export.mjs <out dir> [encoding...]');
    process.exit(2);
  }
  const paths = exportRanks(dir, names.length ? names : undefined);
  for (const p of Object.values(paths)) console.log(p);
}
