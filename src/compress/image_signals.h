/* image_signals.h: the SigLIP image signals in the image stage (docs/images.md). The
 * technique router decides per question; these four scores of each image (has_text,
 * is_document, is_complex, has_small_details; ml/vision.h) then adjust the router's
 * confidence as the original's router does:
 *   transcode: has_text < 0.4 and is_document < 0.4 -> confidence x 0.8 ("low text in image")
 *   full_low:  has_small_details > 0.7 -> a note only ("fine details detected")
 *   preserve:  has_small_details > 0.5 or is_complex > 0.5 -> min(1, confidence x 1.1)
 * The technique itself is never changed by them (the original's rule: the question wins).
 *
 * The encoder is a process-wide vision session opened on first use, only when an image
 * needs a decision: a router and an encoder model are configured, the image's bytes are in
 * the request (base64; URLs are never fetched) and the technique is one the signals
 * adjust. It is shared, idle-unloaded, under the thread cap and the memory budget (paused:
 * fail open, no adjustment), like every ML session.
 */
#ifndef HR_COMPRESS_IMAGE_SIGNALS_H
#define HR_COMPRESS_IMAGE_SIGNALS_H

#include "ml/vision.h"

#include <stddef.h>
#include <stdint.h>

/* 1 when the signals can adjust technique's confidence (transcode, full_low, preserve). */
int hr_image_needs_signals(const char *technique);

/* Applies the rule above to *confidence; returns the note (static) or NULL. */
const char *hr_image_adjust_confidence(const char *technique, const hr_image_signals *s,
                                       float *confidence);

/* The signals of one encoded image through the encoder model at model_path (the process's
 * session for that path, opened lazily). 0 ok; -1 fail open (counted). */
int hr_image_signals_of(const char *model_path, const uint8_t *data, size_t len,
                        uint64_t max_pixels, hr_image_signals *out);

typedef struct hr_image_signal_stats {
    uint64_t analysed, failed_open;  /* images scored / left without signals */
    uint64_t lowered, raised, noted; /* adjustments made */
} hr_image_signal_stats;

void hr_image_signal_stats_get(hr_image_signal_stats *out);
void hr_image_signal_count_adjustment(const char *note);

/* Closes the encoder session (shutdown, tests). */
void hr_image_signals_close(void);

#endif
