/* text.c — see text.h. */
#define G_LOG_DOMAIN "hd-media"

#include "codecs/text.h"

#include <pango/pangocairo.h>

void
hd_text_measure (const char *text, const char *font, int *width, int *height, int *unknown)
{
  /* the font map textoverlay draws with (pango-cairo, fontconfig's fallbacks): the same
   * characters are found, or not */
  PangoFontMap *map = pango_cairo_font_map_get_default ();
  PangoContext *ctx = pango_font_map_create_context (map);
  PangoLayout *layout = pango_layout_new (ctx);
  PangoFontDescription *desc = pango_font_description_from_string (font);
  pango_layout_set_font_description (layout, desc);
  pango_layout_set_text (layout, text, -1);
  PangoRectangle ink, logical;
  pango_layout_get_pixel_extents (layout, &ink, &logical);
  *width = MAX (logical.width, ink.x + ink.width);
  *height = MAX (logical.height, ink.y + ink.height);
  if (unknown)
    *unknown = pango_layout_get_unknown_glyphs_count (layout);
  pango_font_description_free (desc);
  g_object_unref (layout);
  g_object_unref (ctx);
}
