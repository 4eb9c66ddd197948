// corpus_proxy.test.mjs: a few real tool outputs of the corpus (tests/corpus) sent through
// the proxy by the official clients, as an agent would: the Anthropic SDK's messages.create
// and the OpenAI SDK's chat.completions.create with the question, the tool call and its
// output. The upstream (a fake) must receive the output compressed exactly as
// `headroom compress` compresses it (one pipeline: what the corpus test judges is what the
// model gets), and the facts of the question must be in it. The samples are those whose
// answers the compressors used to cut: the top-CPU row of ps, the date of an apt history
// stanza, the biggest directories of du, a CSV row asked for by its value.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream } from './lib/fake_upstream.mjs';
import { startProxy, HEADROOM_BIN } from './lib/proxy.mjs';
import { loadCorpus, buildRequest, compressSample, toolOutput, questionsOf, askedAs } from './lib/corpus.mjs';

const CASES = [['ps_eo', 0], ['apt_history', 0], ['du_h_lib', 0], ['csv_log2', 2]];
const samples = new Map(loadCorpus().map((s) => [s.name, s]));

let up, proxy, dir;
before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({ openaiUrl: up.url, anthropicUrl: up.url, args: ['--ccr-backend', 'memory'] });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-corpus-proxy-'));
});
after(async () => {
  if (proxy) assert.equal(await proxy.stop(), 0, 'proxy exits 0 (no sanitizer report)');
  await up?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The tool output of the last request the upstream received, in the given shape. */
function forwardedOutput(shape) {
  const body = JSON.parse(up.requests[up.requests.length - 1].body.toString());
  return toolOutput(body, shape);
}

for (const [name, qi] of CASES) {
  test(`corpus ${name} q${qi} through the proxy with both SDKs: compressed as by headroom compress, facts kept`, async () => {
    const base = samples.get(name);
    assert.ok(base, `tests/corpus/${name} exists`);
    const s = askedAs(base, questionsOf(base)[qi]);

    const anthropic = new Anthropic({ apiKey: 'sk-corpus-proxy', baseURL: proxy.url, maxRetries: 0 });
    await anthropic.messages.create(buildRequest(s, 'anthropic'));
    const viaAnthropic = forwardedOutput('anthropic');

    const openai = new OpenAI({ apiKey: 'sk-corpus-proxy', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
    await openai.chat.completions.create(buildRequest(s, 'openai'));
    const viaOpenAI = forwardedOutput('openai');

    const cli = compressSample(HEADROOM_BIN, s, 'anthropic', dir);
    assert.notEqual(cli, s.text, `${name}: the CLI compressed it`);
    assert.equal(viaAnthropic, cli, `${name}: the proxy (Anthropic SDK) forwarded what headroom compress gives`);
    assert.equal(viaOpenAI, cli, `${name}: the proxy (OpenAI SDK) forwarded what headroom compress gives`);
    for (const f of s.meta.facts) assert.ok(viaAnthropic.includes(f), `${name}: fact reached the model: ${f}`);
  });
}
