// corpus.mjs: the real tool-output corpus (tests/corpus) run through the real pipeline,
// shared by the corpus test and the corpus benchmark so both judge a sample the same way.
//
// A sample is tests/corpus/<name>.txt (the exact bytes a program printed) and
// <name>.meta.json {command, question, facts: [exact substrings], tool, questions?}, where
// the optional `questions` holds more [{question, facts}] asked of the same output (an
// answer in the middle, a rare line, a number). A run builds the
// request an agent would send (the question as the user's message, the tool call, the
// output as its result) in the Anthropic or OpenAI chat shape, compresses it with
// `headroom compress` (the same pipeline as the proxy, originals stored in a CCR store in
// dataDir) and classifies each fact as visible in the compressed output, retrievable
// (`headroom retrieve HASH --query QUESTION` on a marker of the output returns it), or lost.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CORPUS_DIR = path.resolve(here, '../../corpus');

/** Every sample, sorted by name: {name, text, bytes, meta}. */
export function loadCorpus(dir = CORPUS_DIR) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.meta.json')).sort().map((f) => {
    const name = f.slice(0, -'.meta.json'.length);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    const bytes = fs.readFileSync(path.join(dir, `${name}.txt`));
    return { name, meta, bytes, text: bytes.toString('utf8') };
  });
}

/** Every question asked of a sample, the main one first: [{question, facts}]. */
export function questionsOf(sample) {
  return [{ question: sample.meta.question, facts: sample.meta.facts }, ...(sample.meta.questions ?? [])];
}

/** The sample as asked one of its questions (the request and the facts follow it). */
export function askedAs(sample, q) {
  return { ...sample, meta: { ...sample.meta, question: q.question, facts: q.facts } };
}

/** The request an agent sends after running the sample's command. */
export function buildRequest(sample, shape) {
  const { question, command, tool = 'Bash' } = sample.meta;
  if (shape === 'anthropic') {
    return {
      model: 'claude-sonnet-4-5', max_tokens: 1024,
      messages: [
        { role: 'user', content: question },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: tool, input: { command } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: sample.text }] },
      ],
    };
  }
  return {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'You are a coding agent.' },
      { role: 'user', content: question },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_01', type: 'function', function: { name: tool, arguments: JSON.stringify({ command }) } }] },
      { role: 'tool', tool_call_id: 'call_01', content: sample.text },
    ],
  };
}

/** The tool output inside a (compressed) request of the given shape. */
export function toolOutput(req, shape) {
  const last = req.messages[req.messages.length - 1];
  if (shape === 'openai') return last.content;
  const c = last.content[0].content;
  return typeof c === 'string' ? c : c.map((b) => b.text ?? '').join('');
}

/** Runs `headroom compress` on the sample; returns the compressed tool output. */
export function compressSample(bin, sample, shape, dataDir, extraArgs = []) {
  const req = buildRequest(sample, shape);
  const r = spawnSync(bin, ['compress', '--format', 'messages', '--data-dir', dataDir, ...extraArgs], {
    input: JSON.stringify(req), maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`headroom compress failed (${r.status}): ${r.stderr}`);
  return toolOutput(JSON.parse(r.stdout.toString()), shape);
}

const MARKER_HASH = /Retrieve more: hash=([0-9a-f]{24})\]/g;

/** The hashes of every marker in a compressed output. */
export function markerHashes(text) {
  return [...new Set([...text.matchAll(MARKER_HASH)].map((m) => m[1]))];
}

/** `headroom retrieve HASH --query Q` output ('' when not found). */
export function retrieve(bin, hash, query, dataDir) {
  const args = ['retrieve', hash, '--data-dir', dataDir];
  if (query) args.push('--query', query);
  const r = spawnSync(bin, args, { maxBuffer: 64 << 20 });
  return r.status === 0 ? r.stdout.toString() : '';
}

/** Classifies each fact: {fact, where: 'visible' | 'retrieve' | 'lost'}. */
export function checkFacts(bin, sample, compressed, dataDir) {
  const hashes = markerHashes(compressed);
  let retrieved = null;
  return sample.meta.facts.map((fact) => {
    if (compressed.includes(fact)) return { fact, where: 'visible' };
    retrieved ??= hashes.map((h) => retrieve(bin, h, sample.meta.question, dataDir)).join('\n');
    return { fact, where: retrieved.includes(fact) ? 'retrieve' : 'lost' };
  });
}

/** The output without a final marker line, for parsing compressed JSON as JSON. */
export function withoutFinalMarker(text) {
  return text.replace(/\n?\[[^\[\]\n]*Retrieve more: hash=[0-9a-f]{24}\]\s*$/, '');
}

/** 1 if the text is a JSON document. */
export function isJson(text) {
  try { JSON.parse(text); return true; } catch { return false; }
}
