// corpus.test.mjs: every real tool output in tests/corpus, sent as an Anthropic
// tool_result and as an OpenAI tool message after the agent's question, through
// `headroom compress` (the proxy's pipeline). For each sample and each question asked of it
// (the question steers what is kept, so each is its own request):
//   - every fact the question needs is in the compressed output, or comes back from
//     `headroom retrieve HASH --query QUESTION` on one of the output's markers;
//   - nothing grows, and a marker's hash gives back the exact original;
//   - a JSON document still parses after compression;
//   - both request shapes get the same bytes (one pipeline, deterministic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  loadCorpus, compressSample, checkFacts, markerHashes, retrieve, withoutFinalMarker, isJson,
  questionsOf, askedAs,
} from './lib/corpus.mjs';
import { HEADROOM_BIN } from './lib/proxy.mjs';

const samples = loadCorpus();

test('corpus has samples with facts that are in their originals', () => {
  assert.ok(samples.length >= 15, `only ${samples.length} samples`);
  for (const s of samples) {
    assert.ok(s.meta.question && s.meta.command, `${s.name}: question and command`);
    for (const q of questionsOf(s)) {
      assert.ok(q.question && q.facts.length > 0, `${s.name}: a question without facts`);
      for (const f of q.facts) assert.ok(s.text.includes(f), `${s.name}: fact not in original: ${f}`);
    }
  }
});

for (const s of samples) {
  questionsOf(s).forEach((q, qi) => {
    test(`corpus ${s.name}${qi ? ` q${qi}` : ''}: facts kept or retrievable, nothing grows`, () => {
      checkSample(askedAs(s, q));
    });
  });
}

function checkSample(s) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-corpus-'));
  try {
    const out = {};
    for (const shape of ['anthropic', 'openai']) {
      const c = compressSample(HEADROOM_BIN, s, shape, dir);
      out[shape] = c;
      assert.ok(Buffer.byteLength(c) <= s.bytes.length, `${s.name} (${shape}) grew`);
      const lost = checkFacts(HEADROOM_BIN, s, c, dir).filter((f) => f.where === 'lost');
      assert.deepEqual(lost, [], `${s.name} (${shape}) lost facts`);
      if (c !== s.text) {
        const hashes = markerHashes(c);
        assert.ok(hashes.length > 0, `${s.name}: changed without a marker`);
        assert.ok(hashes.some((h) => retrieve(HEADROOM_BIN, h, null, dir) === s.text),
          `${s.name}: no marker gives back the original`);
      }
      if (isJson(s.text)) assert.ok(isJson(withoutFinalMarker(c)), `${s.name} (${shape}): JSON no longer parses`);
    }
    assert.equal(out.anthropic, out.openai, `${s.name}: shapes compressed differently`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
