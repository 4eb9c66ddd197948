// startup_upstreams.test.mjs: the start-up line lists every provider's upstream from the API
// rows, the same set /health reports (not just OpenAI and Anthropic), with URL credentials
// masked and unset ones marked "-".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from './lib/proxy.mjs';

/** The upstreams="p=URL ..." field of the listening line, as {provider: url}. */
function startUpstreams(logs) {
  const line = logs.split('\n').find((l) => / listening /.test(l));
  assert.ok(line, 'a listening line');
  const m = line.match(/ upstreams="([^"]*)"/);
  assert.ok(m, `an upstreams field in ${line}`);
  return Object.fromEntries(m[1].split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

test('the start-up line names every provider /health lists, credentials masked', async () => {
  const proxy = await startProxy({
    openaiUrl: 'http://127.0.0.1:9/oa', anthropicUrl: 'http://127.0.0.1:9/an',
    args: ['--gemini-api-url', 'http://127.0.0.1:9/gm', '--azure-api-url', 'https://user:hunter2@res.example.test',
      '--bedrock-region', 'eu-west-1'],
    env: { AWS_REGION: '', AWS_DEFAULT_REGION: '' },
  });
  try {
    const logs = proxy.logs();
    assert.ok(!logs.includes('hunter2'), 'the password is never logged');
    const listed = startUpstreams(logs);
    const health = await (await fetch(`${proxy.url}/health`)).json();
    const expected = Object.fromEntries(Object.entries(health.upstreams).map(([k, v]) => [k, v || '-']));
    assert.deepEqual(listed, expected, 'the same providers and URLs as /health');
    for (const p of ['openai', 'anthropic', 'gemini', 'vertex', 'azure', 'bedrock']) assert.ok(p in listed, `${p} listed`);
    assert.equal(listed.gemini, 'http://127.0.0.1:9/gm');
    assert.equal(listed.azure, 'https://***@res.example.test');
    assert.equal(listed.vertex, '-', 'unset: Vertex takes the region from each request');
    assert.equal(listed.bedrock, 'https://bedrock-runtime.eu-west-1.amazonaws.com');
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
