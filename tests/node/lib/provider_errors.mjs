// provider_errors.mjs: asserts that an error body has exactly one provider's shape, so an
// Anthropic-shaped error on an OpenAI route (or the reverse) fails. Checking only that
// `error.message` and `error.type` are strings accepts both shapes.
//
//   OpenAI:    {"error":{"message":str,"type":str,"code":str|null}}   ("param" allowed:
//              OpenAI's own errors carry it)
//   Anthropic: {"type":"error","error":{"type":str,"message":str}}   ("request_id" allowed
//              at the top, as Anthropic sends it)
import assert from 'node:assert/strict';

const sorted = (o) => Object.keys(o).sort();

/** OpenAI's shape (chat completions, responses, the proxy's own routes). `want` may give
 *  the expected type and/or code. Returns the error object. */
export function assertOpenAIErrorShape(j, want = {}, what = 'openai error') {
  assert.equal(typeof j, 'object', `${what}: a JSON object`);
  assert.deepEqual(Object.keys(j), ['error'], `${what}: only "error" at the top (no Anthropic "type")`);
  const e = j.error;
  const keys = sorted(e).filter((k) => k !== 'param');
  assert.deepEqual(keys, ['code', 'message', 'type'], `${what}: error has message, type, code`);
  assert.equal(typeof e.message, 'string', `${what}: message`);
  assert.match(e.message, /\w/, `${what}: message says something`);
  assert.equal(typeof e.type, 'string', `${what}: type`);
  assert.ok(e.code === null || typeof e.code === 'string', `${what}: code is a string or null`);
  if ('type' in want) assert.equal(e.type, want.type, `${what}: type`);
  if ('code' in want) assert.equal(e.code, want.code, `${what}: code`);
  return e;
}

/** Anthropic's shape (messages). `type` is the expected error.type when given. */
export function assertAnthropicErrorShape(j, type, what = 'anthropic error') {
  assert.equal(typeof j, 'object', `${what}: a JSON object`);
  assert.deepEqual(sorted(j).filter((k) => k !== 'request_id'), ['error', 'type'], `${what}: top-level keys`);
  assert.equal(j.type, 'error', `${what}: type "error"`);
  assert.deepEqual(sorted(j.error), ['message', 'type'], `${what}: error has type and message only`);
  assert.equal(typeof j.error.type, 'string', `${what}: error.type`);
  assert.match(j.error.message, /\w/, `${what}: message says something`);
  if (type !== undefined) assert.equal(j.error.type, type, `${what}: error.type`);
  return j.error;
}

/** The shape a route's errors must have: /v1/messages is Anthropic's, every other is OpenAI's. */
export function assertRouteErrorShape(route, j, what) {
  return route.startsWith('/v1/messages') ? assertAnthropicErrorShape(j, undefined, what)
    : assertOpenAIErrorShape(j, {}, what);
}
