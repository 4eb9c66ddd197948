// fake_upstream.mjs: a fake OpenAI + Anthropic upstream on 127.0.0.1 (random port) for
// integration tests. It records every request (method, url, headers, raw body bytes, and
// when the connection closed) and answers from a per-path script, falling back to canned
// provider replies (JSON, or SSE when the body asks "stream": true).
//
//   const up = await startFakeUpstream();
//   up.script('/v1/chat/completions', {status: 429, headers: {'retry-after': '1'}, json: {...}});
//   up.script('/v1/messages', {sse: anthropicEvents(), intervalMs: 50, resetAfter: 2});
//   ... point the proxy at up.url ...
//   up.requests[0].body  // Buffer, exactly what the proxy sent
//   await up.close();
//
// Each record also says which TCP connection carried it (record.connection, numbered from 1)
// so tests can check connection reuse.
//
// Reply specs (script queues them per path; each request takes the next one, the last one
// repeats only if it has repeat: true):
//   {status, headers, json}           JSON body (object or string)
//   {status, headers, body}           raw Buffer/string body
//   {sse: [{event, data}], intervalMs, resetAfter, headers}
//                                     SSE events, one every intervalMs; resetAfter = n destroys
//                                     the socket after n events (a mid-stream reset)
//   {hang: true}                      never answers (for timeouts)
//   {reset: true}                     destroys the socket without answering
//   {delayMs}                         waits before any of the above
import http from 'node:http';

export function openaiChatCompletion(model = 'gpt-4o-mini', content = 'Hello from the fake upstream.') {
  return {
    id: 'chatcmpl-fake123', object: 'chat.completion', created: 1700000000, model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 },
    system_fingerprint: 'fp_fake',
  };
}

export function openaiChatChunks(model = 'gpt-4o-mini', pieces = ['Hel', 'lo', ' there', '!'], withUsage = true) {
  const base = { id: 'chatcmpl-fake123', object: 'chat.completion.chunk', created: 1700000000, model, system_fingerprint: 'fp_fake' };
  const ev = [{ data: { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] } }];
  for (const p of pieces) ev.push({ data: { ...base, choices: [{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }] } });
  ev.push({ data: { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] } });
  if (withUsage) ev.push({ data: { ...base, choices: [], usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 } } });
  ev.push({ data: '[DONE]' });
  return ev;
}

export function anthropicMessage(model = 'claude-sonnet-4-5', text = 'Hello from the fake upstream.') {
  return {
    id: 'msg_fake123', type: 'message', role: 'assistant', model,
    content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null,
    usage: { input_tokens: 31, output_tokens: 9 },
  };
}

export function anthropicEvents(model = 'claude-sonnet-4-5', pieces = ['Hel', 'lo', ' there', '!']) {
  const ev = [
    { event: 'message_start', data: { type: 'message_start', message: { id: 'msg_fake123', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 31, output_tokens: 1 } } } },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
    { event: 'ping', data: { type: 'ping' } },
  ];
  for (const p of pieces) ev.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } } });
  ev.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } });
  ev.push({ event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 9 } } });
  ev.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return ev;
}

export function responsesObject(model = 'gpt-4o-mini') {
  return {
    id: 'resp_fake123', object: 'response', created_at: 1700000000, status: 'completed', model,
    output: [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hi.', annotations: [] }] }],
    usage: { input_tokens: 12, output_tokens: 3, total_tokens: 15 },
  };
}

export function responsesEvents(model = 'gpt-4o-mini') {
  const done = responsesObject(model);
  return [
    { event: 'response.created', data: { type: 'response.created', response: { ...done, status: 'in_progress', output: [], usage: null } } },
    { event: 'response.output_text.delta', data: { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi.' } },
    { event: 'response.completed', data: { type: 'response.completed', response: done } },
  ];
}

/** The exact bytes of one SSE event as the fake writes it. */
export function sseBytes(e) {
  const data = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
  return (e.event ? `event: ${e.event}\n` : '') + `data: ${data}\n\n`;
}

function cannedReply(path, body) {
  let req = {};
  try { req = JSON.parse(body.toString('utf8') || '{}'); } catch { /* not JSON */ }
  const stream = req.stream === true;
  if (path.startsWith('/v1/chat/completions'))
    return stream ? { sse: openaiChatChunks(req.model) } : { json: openaiChatCompletion(req.model) };
  if (path.startsWith('/v1/messages/count_tokens')) return { json: { input_tokens: 17 } };
  if (path.startsWith('/v1/messages'))
    return stream ? { sse: anthropicEvents(req.model) } : { json: anthropicMessage(req.model) };
  if (path.startsWith('/v1/responses'))
    return stream ? { sse: responsesEvents(req.model) } : { json: responsesObject(req.model) };
  if (path.startsWith('/v1/models'))
    return { json: { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 1, owned_by: 'fake' }] } };
  if (path.startsWith('/v1/embeddings'))
    return { json: { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model: 'fake', usage: { prompt_tokens: 2, total_tokens: 2 } } };
  return { status: 404, json: { error: { message: `fake upstream has no ${path}`, type: 'not_found' } } };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startFakeUpstream() {
  const scripts = new Map();
  const requests = [];
  const sockets = new Set();
  const waiters = [];

  async function play(spec, req, res, rec) {
    if (spec.delayMs) await sleep(spec.delayMs);
    if (spec.hang) return;
    if (spec.reset) { req.socket.destroy(); return; }
    const headers = { ...(spec.headers || {}) };
    if (spec.sse) {
      res.writeHead(spec.status || 200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
      if (res.flushHeaders) res.flushHeaders();
      let n = 0;
      for (const e of spec.sse) {
        if (rec.closed) return;
        if (spec.resetAfter !== undefined && n >= spec.resetAfter) { req.socket.destroy(); return; }
        res.write(sseBytes(e));
        n++;
        if (spec.intervalMs) await sleep(spec.intervalMs);
      }
      if (spec.resetAfter !== undefined && n >= spec.resetAfter) { req.socket.destroy(); return; }
      res.end();
      return;
    }
    let body = spec.body !== undefined ? spec.body : JSON.stringify(spec.json === undefined ? {} : spec.json);
    if (typeof spec.json === 'string') body = spec.json;
    if (spec.json !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
    res.writeHead(spec.status || 200, headers);
    res.end(body);
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    const rec = {
      method: req.method, url: req.url, path: req.url.split('?')[0], headers: req.headers,
      rawHeaders: req.rawHeaders, body: null, receivedAt: Date.now(), closed: false, closedAt: null,
      connection: req.socket.hrId, // which TCP connection carried it (reuse checks)
      httpVersion: req.httpVersion,
    };
    req.on('data', (c) => chunks.push(c));
    res.on('close', () => { rec.closed = true; rec.closedAt = Date.now(); });
    req.on('end', () => {
      rec.body = Buffer.concat(chunks);
      requests.push(rec);
      for (const w of waiters.splice(0)) w();
      const queue = scripts.get(rec.path);
      let spec;
      if (queue && queue.length) spec = queue.length > 1 || !queue[0].repeat ? queue.shift() : queue[0];
      else spec = cannedReply(rec.path, rec.body);
      play(spec, req, res, rec).catch(() => req.socket.destroy());
    });
  });
  server.keepAliveTimeout = 60000;
  let nextSocketId = 1;
  server.on('connection', (s) => {
    s.hrId = nextSocketId++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Queues reply specs for a path (without query). */
    script(path, ...specs) {
      if (!scripts.has(path)) scripts.set(path, []);
      scripts.get(path).push(...specs);
    },
    reset() { scripts.clear(); requests.length = 0; },
    /** Resolves once at least n requests were received (or rejects after ms). */
    async waitForRequests(n, ms = 5000) {
      const end = Date.now() + ms;
      while (requests.length < n) {
        if (Date.now() > end) throw new Error(`fake upstream: ${requests.length} requests, wanted ${n}`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 50); });
      }
    },
    openConnections: () => sockets.size,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
