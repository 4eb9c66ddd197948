/* hybrid.h: the one owner of "blend embedding similarity into a lexical ranking" (the
 * original's hybrid relevance scorer), for SmartCrusher, the search compressor and CCR
 * query retrieval.
 *
 * Why it lives in src/sys: CCR retrieval sits below the compressors and below the ML
 * runtime in the link graph, so the ranking side cannot call the embedder directly. The
 * embedder (compress/embed_relevance.c) installs itself here as a function pointer; the
 * rankers ask hr_hybrid_rescore, which does nothing unless one is installed, so without an
 * embedding model every ranking is the lexical one, byte for byte.
 *
 * The rule (the original's HybridScorer with adaptive alpha):
 *   hybrid = alpha * lexical + (1 - alpha) * clamp(cosine, 0, 1)
 *   lexical = min(1, bm25 / HR_HYBRID_BM25_SCALE)       (its BM25Scorer's normalisation)
 *   alpha   = 0.5, raised when exact matching matters in the question:
 *             a UUID -> 0.85; two or more numeric ids (4+ digit words) -> 0.75; one -> 0.65;
 *             a hostname or e-mail address -> 0.6; always within [0.3, 0.9].
 * cosine is between the L2-normalised embeddings of the question and the document.
 * The original added 0.3 to the lexical part when a matched term was 8+ characters long; our
 * BM25 already weighs rare terms through a real idf, so that bonus is not carried over.
 *
 * Bounds (per ranking): at most the scorer's max_items documents are embedded, the best by
 * lexical score first (ties: lower index), the rest take cosine 0; the scorer also keeps
 * its own deadline. If it fails for any reason (busy, unloaded under memory pressure,
 * deadline, error) the whole ranking stays lexical: never a mix of blended and unblended
 * scores. Same question and documents -> same scores (the encoder is deterministic).
 *
 * The installed scorer is a documented process singleton: installed once before serving,
 * uninstalled at shutdown after the last request; readers load it atomically.
 */
#ifndef HR_SYS_HYBRID_H
#define HR_SYS_HYBRID_H

#include <stddef.h>

#define HR_HYBRID_ALPHA_BASE 0.5
#define HR_HYBRID_ALPHA_MIN 0.3
#define HR_HYBRID_ALPHA_MAX 0.9
#define HR_HYBRID_BM25_SCALE 10.0

/* alpha for a question (see above); NULL or empty gives the base. */
double hr_hybrid_alpha(const char *q, size_t len);

/* alpha * min(1, bm25 / scale) + (1 - alpha) * clamp(cosine, 0, 1). */
double hr_hybrid_blend(double alpha, double bm25, double cosine);

typedef struct hr_hybrid_doc {
    const char *s;
    size_t len;
} hr_hybrid_doc;

/* Cosines between the question and each of n documents into cos[0..n). 0 when every one
 * was scored; anything else means "fail open" (the ranking stays lexical). */
typedef int (*hr_hybrid_embed_fn)(void *ctx, const char *q, size_t qlen, const hr_hybrid_doc *docs,
                                  size_t n, float *cos);

typedef struct hr_hybrid_scorer {
    hr_hybrid_embed_fn fn;
    void *ctx;
    size_t max_items; /* documents embedded per ranking (>= 1) */
} hr_hybrid_scorer;

/* Installs s (copied; NULL uninstalls). Not concurrent with rankings in flight. */
void hr_hybrid_install(const hr_hybrid_scorer *s);
int hr_hybrid_installed(void);

/* Rescores score[0..n) in place: raw BM25 in, hybrid out, when a scorer is installed and
 * the question is not empty. Returns 1 if rescored, 0 if left lexical (nothing installed,
 * no question or documents, out of memory, or the scorer failed). */
int hr_hybrid_rescore(const char *q, size_t qlen, const hr_hybrid_doc *docs, size_t n,
                      double *score);

#endif
