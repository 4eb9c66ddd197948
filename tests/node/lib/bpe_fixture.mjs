// bpe_fixture.mjs: the realistic byte-level BPE fixture (GPT-2's r50k merges in ModernBERT's
// layout, tools/gen_bpe_fixture.mjs) as a tiny ModernBERT model directory and an imported
// headroom model file, generated into the build tree on first use and cached there (no big
// generated file is committed). Used by ml_bpe.test.mjs and the BPE benchmark.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUILD_DIR, PYTHON, SOURCE_DIR, withLock } from './ml_reference.mjs';

const HEADROOM = process.env.HEADROOM_BIN ?? path.join(BUILD_DIR, 'headroom');

// Returns { dir, model, tokenizerJson }: dir holds config.json, model.safetensors (tiny
// random weights), tokenizer.json and tokenizer_config.json; model is the imported file.
export function gpt2BpeModel({ mergeForm = 'string' } = {}) {
  const dir = path.join(BUILD_DIR, `ml-bpe-gpt2-${mergeForm}`);
  const model = `${dir}.hrm`;
  const sources = ['tools/gen_bpe_fixture.mjs', 'tools/gen_model.py', 'tools/gen_modernbert.py']
    .map((f) => path.join(SOURCE_DIR, f));
  const newest = Math.max(...sources.map((f) => fs.statSync(f).mtimeMs), fs.statSync(HEADROOM).mtimeMs);
  return withLock(`${dir}.lock`, () => {
    if (!fs.existsSync(model) || fs.statSync(model).mtimeMs < newest) {
      const tokDir = `${dir}-tok`;
      execFileSync(process.execPath, [path.join(SOURCE_DIR, 'tools/gen_bpe_fixture.mjs'), tokDir,
        '--merge-form', mergeForm], { stdio: 'pipe' });
      execFileSync(PYTHON, [path.join(SOURCE_DIR, 'tools/gen_model.py'), '--arch', 'modernbert', '--size', 'tiny',
        '--seed', '4', '--tokenizer', path.join(tokDir, 'tokenizer.json'), '--out', dir], { stdio: 'pipe' });
      fs.copyFileSync(path.join(tokDir, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
      execFileSync(HEADROOM, ['model', 'import', dir, '--out', model], { stdio: 'pipe' });
    }
    return { dir, model, tokenizerJson: path.join(dir, 'tokenizer.json') };
  });
}
