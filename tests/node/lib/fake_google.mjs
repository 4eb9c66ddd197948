// fake_google.mjs: what Google's Gemini API (and Vertex AI's Google models) answer, for the
// fake upstream (fake_upstream.mjs records what arrives; tests script these replies per
// path). Shapes from Google's REST reference (GenerateContentResponse, google.rpc.Status).
//
//   up.script('/v1beta/models/gemini-2.0-flash:generateContent', { json: geminiResponse('Hi') });
//   up.script(path, { sse: geminiStreamEvents(['Hel', 'lo']) });   // streamGenerateContent?alt=sse

export const GEMINI_USAGE = { promptTokenCount: 1234, candidatesTokenCount: 56, totalTokenCount: 1290 };

export function geminiResponse(text = 'Hello from the fake Gemini.', usage = GEMINI_USAGE, model = 'gemini-2.0-flash') {
  return {
    candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: usage,
    modelVersion: model,
  };
}

/** A model turn that calls one function (Gemini's tool call). */
export function geminiFunctionCall(name, args, usage = GEMINI_USAGE) {
  return {
    candidates: [{ content: { role: 'model', parts: [{ functionCall: { name, args } }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: usage,
    modelVersion: 'gemini-2.0-flash',
  };
}

/** streamGenerateContent?alt=sse: one `data:` event per chunk, usage growing, the last one
 *  holding the totals (as Google sends it). */
export function geminiStreamEvents(pieces = ['Hel', 'lo', ' there'], usage = GEMINI_USAGE) {
  return pieces.map((p, i) => ({
    data: {
      candidates: [{ content: { role: 'model', parts: [{ text: p }] }, index: 0, ...(i === pieces.length - 1 ? { finishReason: 'STOP' } : {}) }],
      usageMetadata: i === pieces.length - 1 ? usage : { promptTokenCount: usage.promptTokenCount, totalTokenCount: usage.promptTokenCount },
      modelVersion: 'gemini-2.0-flash',
    },
  }));
}

/** Google's error body (google.rpc.Status in an "error" object). */
export function googleError(code, status, message) {
  return { error: { code, message, status } };
}
