// upstream.mjs: the benchmark's upstream, in its own process so it does not share an event
// loop with the load generator. POST anything -> a fixed ~400-byte chat.completion JSON
// (the body is read and dropped, never kept); POST with "stream":true in the first KB ->
// an SSE stream that sends one chunk and then holds the connection open (for "200 open
// streams"), closing when the client goes. Prints "port=N" on stdout when listening.
import http from 'node:http';

const reply = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1700000000, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok '.repeat(40) }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 500, completion_tokens: 40, total_tokens: 540 },
});
const chunk = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hi' } }] })}\n\n`;

const server = http.createServer((req, res) => {
  let head = '';
  req.on('data', (d) => { if (head.length < 1024) head += d.toString('latin1', 0, Math.min(d.length, 1024)); });
  req.on('end', () => {
    if (/"stream"\s*:\s*true/.test(head)) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk);
      return; // held open
    }
    const delay = Number((req.url.match(/[?&]delay=(\d+)/) || [0, 0])[1]);
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
      res.end(reply);
    };
    if (delay) setTimeout(answer, delay);
    else answer();
  });
});
server.keepAliveTimeout = 120000;
server.listen(0, '127.0.0.1', () => console.log(`port=${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
