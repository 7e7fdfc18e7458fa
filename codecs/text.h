/* text.h — the text the composite carries (the case number, each tile's name and role), drawn
 * by GStreamer's textoverlay through Pango: whether the installed fonts can draw it. A Chinese
 * case number or name needs a CJK font (Debian's fonts-wqy-microhei, tools/install-deps);
 * without one, Pango draws each such character as a box, on the record. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The size of `text` in `font` (a Pango font description, "Sans 18"), in pixels, and how many
 * of its characters no installed font has (drawn as boxes). Any thread. */
void hd_text_measure (const char *text, const char *font, int *width, int *height, int *unknown);

G_END_DECLS
