// proxy_models.mjs: both ML models the proxy runs on the request path, generated at test
// time (random weights: the plumbing is what is exercised, not the semantics) and imported
// with our binary into dir: Kompress (a tiny ModernBERT) and the hybrid-relevance embedder
// (a tiny BERT). The generated directories are shared with kompress_proxy and ml_hybrid
// (same seeds), so a test run makes each once.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { generateModel } from './ml_reference.mjs';

// Returns { kompress, embedder }: the imported model files.
export function importProxyModels(bin, dir) {
  const build = path.dirname(bin);
  const kdir = generateModel({ arch: 'modernbert', size: 'tiny', seed: 8, dir: path.join(build, 'kompress-proxy-tiny') });
  const edir = generateModel({ size: 'tiny', seed: 5, dir: path.join(build, 'ml-embed-tiny') });
  const kompress = path.join(dir, 'kompress.hrm'), embedder = path.join(dir, 'embedder.hrm');
  execFileSync(bin, ['model', 'import', kdir, '--out', kompress], { stdio: 'pipe' });
  execFileSync(bin, ['model', 'import', edir, '--out', embedder], { stdio: 'pipe' });
  return { kompress, embedder };
}
