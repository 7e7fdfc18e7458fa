/* overlay.h — the text on the composite (the case number at the top left, the wall-clock time
 * at the top right, each tile's name and role at its bottom left), blended straight into the
 * compositor's I420 output.
 *
 * Each text is drawn once into a stamp (codecs/text.h); every composite frame then has the
 * stamps blended over their own rectangles and nothing else, the clock's drawn again when the
 * second changes. GStreamer's textoverlay and clockoverlay (one per participant's picture,
 * two on the composite) blend the whole width of every line a text covers, on every frame:
 * the text cost a hearing of 4 7.7 points of a core that way, about 4 less this way
 * (docs/performance.md). */
#pragma once

#include "codecs/text.h"

#include <gst/video/video.h>

G_BEGIN_DECLS

typedef struct HdOverlay HdOverlay;

/* `caption` (may be NULL) in `font` (a Pango description, "Sans 18"), and the time
 * ("%Y-%m-%d %H:%M:%S", local) in the same font; the caption in what the clock leaves of the
 * top line, ending in "…" if it is longer. */
HdOverlay *hd_overlay_new (const char *caption, const char *font);
void hd_overlay_free (HdOverlay *o);

/* The tiles' labels: stamps[i] with its top-left corner at (x[i], y[i]), cut off at w[i] pixels
 * wide (a NULL stamp is skipped); replaces the last set, taking references of its own. Any
 * thread. */
void hd_overlay_set_labels (HdOverlay *o, HdStamp *const *stamps, const int *x, const int *y,
                            const int *w, guint n);

/* Blend everything onto `frame` (I420; what falls outside it is left out). The compositor's
 * thread. */
void hd_overlay_draw (HdOverlay *o, GstVideoFrame *frame);

G_END_DECLS
