/* text.h — the text the composite carries (the case number, the clock, each tile's name and
 * role), drawn with Pango and cairo into stamps that codecs/overlay.c blends into the
 * composite, and whether the installed fonts can draw it. A Chinese case number or name needs a
 * CJK font (Debian's fonts-wqy-microhei, tools/install-deps); without one, Pango draws each
 * such character as a box, on the record.
 * One Pango font map serves the whole process, behind a lock (Pango's objects are not
 * thread-safe; stamps are drawn on the main thread and, the clock's, on the compositor's). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The size of `text` in `font` (a Pango font description, "Sans 18"), in pixels, and how many
 * of its characters no installed font has (drawn as boxes). Any thread. */
void hd_text_measure (const char *text, const char *font, int *width, int *height, int *unknown);

/* A text drawn once, as I420 with alpha: white letters on a shaded box. Immutable once made,
 * so shared between threads by reference. */
typedef struct {
  int w, h;            /* even */
  guint8 *y, *ya;      /* w×h: luma and its alpha */
  guint8 *u, *v, *uva; /* (w/2)×(h/2): chroma and its alpha */
} HdStamp;

/* `text` in `font`, at `px` pixels (the font's size, not the box's) unless 0 (then the font's
 * own size), in a box at most `max_w` wide (0: 4096), a text too long for it ending in "…";
 * NULL for an empty text. Any thread; some 0.1–0.5 ms. */
HdStamp *hd_stamp_new (const char *text, const char *font, int px, int max_w);
HdStamp *hd_stamp_ref (HdStamp *s);
void hd_stamp_unref (HdStamp *s);

G_END_DECLS
