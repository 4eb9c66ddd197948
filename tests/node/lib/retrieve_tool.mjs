// retrieve_tool.mjs: undo exactly what the proxy adds to a forwarded body when it holds
// markers — the headroom_retrieve tool, appended at the end of `tools` (or as a new last
// `tools` key; Bedrock Converse: a new last `toolConfig` key holding it). Tests that assert "every byte outside the tool outputs is identical" compare
// the upstream body with this removed, so the check stays byte-strict everywhere else.
import assert from 'node:assert/strict';

// Most specific first: the Anthropic form also occurs inside the chat and Gemini forms.
const STARTS = [
  '{"toolSpec":{"name":"headroom_retrieve"',               // Bedrock Converse
  '{"functionDeclarations":[{"name":"headroom_retrieve"', // Gemini
  '{"type":"function","function":{"name":"headroom_retrieve"', // OpenAI chat
  '{"type":"function","name":"headroom_retrieve"',         // Responses
  '{"name":"headroom_retrieve"',                           // Anthropic
];

// End (exclusive) of the JSON value starting at s[i] ('{'), honouring strings.
function valueEnd(s, i) {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    const c = s[j];
    if (c === '"') {
      for (j++; s[j] !== '"'; j++) if (s[j] === '\\') j++;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') { if (--depth === 0) return j + 1; }
  }
  throw new Error('unterminated JSON value');
}

/** Returns { body, injected }: body without the injected tool (a Buffer), and whether one
 *  was found. Throws if the tool is present anywhere but where the proxy appends it. */
export function withoutRetrieveTool(buf) {
  const s = Buffer.from(buf).toString('latin1'); // 1 byte = 1 char: offsets stay byte offsets
  let start = -1;
  for (const p of STARTS) { start = s.lastIndexOf(p); if (start >= 0) break; }
  if (start < 0) return { body: Buffer.from(buf), injected: false };
  const end = valueEnd(s, start);
  let from = start, to = end;
  if (s.slice(start - 9, start) === '"tools":[' && s.slice(end, end + 2) === ']}' && end + 2 === s.length) {
    from = start - 9; to = end + 1;              // the whole "tools":[...] key was added
    if (s[from - 1] === ',') from--;
  } else if (s.slice(start - 23, start) === '"toolConfig":{"tools":[' && s.slice(end, end + 3) === ']}}' &&
             end + 3 === s.length) {
    from = start - 23; to = end + 2;             // the whole "toolConfig" key was added
    if (s[from - 1] === ',') from--;
  } else if (s[start - 1] === ',' && s[end] === ']') {
    from = start - 1;                            // appended after the client's own tools
  } else if (s[start - 1] === '[' && s[end] === ']') {
    // the only element of a client's empty tools array
  } else {
    throw new Error('headroom_retrieve found where the proxy does not put it');
  }
  return { body: Buffer.from(s.slice(0, from) + s.slice(to), 'latin1'), injected: true };
}

/** Asserts that forwarded differs from sent only inside the tool output's JSON string
 *  (common prefix + common suffix cover everything else), once the headroom_retrieve tool
 *  the proxy appends beside markers is removed, and that the body got smaller. */
export function assertOnlySpanChanged(sent, forwarded, toolText) {
  const { body: got, injected } = withoutRetrieveTool(forwarded);
  assert.ok(injected, 'the headroom_retrieve tool is offered with the marker');
  let a = 0;
  while (a < sent.length && a < got.length && sent[a] === got[a]) a++;
  let i = sent.length, o = got.length;
  while (i > a && o > a && sent[i - 1] === got[o - 1]) { i--; o--; }
  const escaped = Buffer.from(JSON.stringify(toolText));
  const at = sent.indexOf(escaped);
  assert.ok(at >= 0, 'tool output found in the sent body');
  assert.ok(a >= at && i <= at + escaped.length, `change [${a},${i}) lies inside the tool output [${at},${at + escaped.length})`);
  assert.ok(got.length < sent.length, 'the body got smaller');
}
