// fake_ws_upstream.mjs: a fake Responses-over-WebSocket upstream (ws's WebSocketServer on
// 127.0.0.1, random port) that records what arrives. Every upgrade request is recorded
// (url, headers) and, unless a refusal is scripted, accepted; every message is recorded
// as the exact bytes received (Buffer) with its binary flag, every ping payload, and the
// close code/reason the proxy sent.
//
//   const up = await startFakeWsUpstream();
//   up.refuse = { status: 401, json: {...} };   // the next upgrades are answered with this
//   up.onMessage = (ws, data, isBinary, conn) => ...;   // default: answer response.create
//   ... point the proxy at up.url ...
//   up.connections[0].messages[0].data  // Buffer, what the proxy sent
//   await up.close();
// With {tls: {key, cert}} it serves wss over TLS (https URL).
//
// The default reply to a `response.create` event is responsesWsEvents(model), one text
// message per event, so a test can compare what the client got byte for byte.
import http from 'node:http';
import https from 'node:https';
import { WebSocketServer } from 'ws';

export function responsesWsEvents(model = 'gpt-5-codex') {
  const done = {
    id: 'resp_ws1', object: 'response', created_at: 1700000000, status: 'completed', model,
    output: [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Done.', annotations: [] }] }],
    usage: { input_tokens: 120, output_tokens: 4, total_tokens: 124 },
  };
  return [
    { type: 'response.created', response: { ...done, status: 'in_progress', output: [], usage: null } },
    { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Done.' },
    { type: 'response.completed', response: done },
  ].map((e) => JSON.stringify(e));
}

export async function startFakeWsUpstream({ maxPayload = 256 << 20, tls = null } = {}) {
  const connections = [];
  const upgrades = [];
  const sockets = new Set();
  const plain = (req, res) => { res.writeHead(426); res.end(); };
  const server = tls ? https.createServer(tls, plain) : http.createServer(plain);
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload });
  const fake = {
    connections, upgrades, refuse: null, onMessage: null,
    port: 0, url: '',
    async close() {
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
    /** Resolves when cond() is true (polled), or rejects after ms. */
    async until(cond, ms = 5000, what = 'condition') {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`fake ws upstream: timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  server.on(tls ? 'secureConnection' : 'connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('upgrade', (req, socket, head) => {
    upgrades.push({ url: req.url, headers: req.headers });
    if (fake.refuse) {
      const body = JSON.stringify(fake.refuse.json || {});
      socket.end(`HTTP/1.1 ${fake.refuse.status} Refused\r\ncontent-type: application/json\r\n` +
                 `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = { url: req.url, headers: req.headers, messages: [], pings: [], close: null, error: null, ws };
      // a frame the proxy should never have sent (hostile tests): recorded, not thrown
      ws.on('error', (e) => { conn.error = e; });
      connections.push(conn);
      ws.on('message', (data, isBinary) => {
        conn.messages.push({ data: Buffer.from(data), isBinary });
        if (fake.onMessage) return fake.onMessage(ws, data, isBinary, conn);
        let ev = null;
        try { ev = JSON.parse(data.toString('utf8')); } catch { /* not JSON */ }
        if (ev && ev.type === 'response.create')
          for (const e of responsesWsEvents(ev.model)) ws.send(e);
      });
      ws.on('ping', (d) => conn.pings.push(Buffer.from(d)));
      ws.on('close', (code, reason) => { conn.close = { code, reason: reason.toString() }; });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  fake.port = server.address().port;
  fake.url = `${tls ? 'https' : 'http'}://127.0.0.1:${fake.port}`;
  return fake;
}
