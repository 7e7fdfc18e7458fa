/* text.c — see text.h. */
#define G_LOG_DOMAIN "hd-media"

#include "codecs/text.h"

#include <pango/pangocairo.h>

static GMutex text_lock; /* Pango: the one font map and everything made from it */

/* No stamp is larger: wider than any composite, and within cairo's limits */
#define STAMP_MAX_W 4096
#define STAMP_MAX_H 512

/* Under text_lock: the process's font map (pango-cairo, fontconfig's fallbacks). */
static PangoFontMap *
font_map (void)
{
  static PangoFontMap *map;
  if (!map)
    map = pango_cairo_font_map_new ();
  return map;
}

static PangoLayout *
new_layout (const char *text, const char *font, int px)
{
  PangoContext *ctx = pango_font_map_create_context (font_map ());
  PangoLayout *layout = pango_layout_new (ctx);
  g_object_unref (ctx);
  PangoFontDescription *desc = pango_font_description_from_string (font);
  if (px > 0)
    pango_font_description_set_absolute_size (desc, px * PANGO_SCALE);
  pango_layout_set_font_description (layout, desc);
  pango_font_description_free (desc);
  pango_layout_set_text (layout, text, -1);
  return layout;
}

void
hd_text_measure (const char *text, const char *font, int *width, int *height, int *unknown)
{
  g_mutex_lock (&text_lock);
  PangoLayout *layout = new_layout (text, font, 0);
  PangoRectangle ink, logical;
  pango_layout_get_pixel_extents (layout, &ink, &logical);
  *width = MAX (logical.width, ink.x + ink.width);
  *height = MAX (logical.height, ink.y + ink.height);
  if (unknown)
    *unknown = pango_layout_get_unknown_glyphs_count (layout);
  g_object_unref (layout);
  g_mutex_unlock (&text_lock);
}

/* BT.601, limited range: what the compositor's I420 is */
static inline guint8
luma (int r, int g, int b)
{
  return (guint8)(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
}

static inline int
chroma_u (int r, int g, int b)
{
  return ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
}

static inline int
chroma_v (int r, int g, int b)
{
  return ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
}

/* cairo's premultiplied ARGB (w×h, even) → the stamp's planes */
static void
convert (HdStamp *s, const guint8 *argb, int stride)
{
  int w = s->w, h = s->h, cw = w / 2;
  guint32 *usum = g_new0 (guint32, cw * (h / 2)), *vsum = g_new0 (guint32, cw * (h / 2)),
          *asum = g_new0 (guint32, cw * (h / 2));
  for (int j = 0; j < h; j++) {
    const guint32 *row = (const guint32 *)(argb + (gsize)j * stride);
    for (int i = 0; i < w; i++) {
      guint32 px = row[i];
      int a = px >> 24, r = 0, g = 0, b = 0;
      if (a) { /* back to straight colour */
        r = MIN (255, (int)((px >> 16) & 255) * 255 / a);
        g = MIN (255, (int)((px >> 8) & 255) * 255 / a);
        b = MIN (255, (int)(px & 255) * 255 / a);
      }
      s->y[j * w + i] = luma (r, g, b);
      s->ya[j * w + i] = (guint8)a;
      int c = (j / 2) * cw + i / 2;
      usum[c] += (guint32)(chroma_u (r, g, b) * a);
      vsum[c] += (guint32)(chroma_v (r, g, b) * a);
      asum[c] += (guint32)a;
    }
  }
  for (int c = 0; c < cw * (h / 2); c++) {
    s->u[c] = asum[c] ? (guint8)(usum[c] / asum[c]) : 128;
    s->v[c] = asum[c] ? (guint8)(vsum[c] / asum[c]) : 128;
    s->uva[c] = (guint8)(asum[c] / 4);
  }
  g_free (usum);
  g_free (vsum);
  g_free (asum);
}

HdStamp *
hd_stamp_new (const char *text, const char *font, int px, int max_w)
{
  if (!text || !*text)
    return NULL;
  max_w = max_w > 0 ? MIN (max_w, STAMP_MAX_W) : STAMP_MAX_W;
  g_mutex_lock (&text_lock);
  PangoLayout *layout = new_layout (text, font, px);
  PangoRectangle ink, logical;
  pango_layout_get_pixel_extents (layout, &ink, &logical);
  /* the box: the text's line with a margin of a quarter of its height; a text too wide for
   * `max_w` ends in "…" */
  int pad = MAX (2, logical.height / 4);
  if (MAX (logical.width, ink.x + ink.width) + 2 * pad > max_w) {
    pango_layout_set_width (layout, MAX (1, max_w - 2 * pad - 1) * PANGO_SCALE);
    pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
    pango_layout_get_pixel_extents (layout, &ink, &logical);
  }
  int tw = MAX (logical.width, ink.x + ink.width), th = MAX (logical.height, ink.y + ink.height);
  int w = (MIN (tw + 2 * pad, max_w) + 1) & ~1, h = (MIN (th + pad, STAMP_MAX_H) + 1) & ~1;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  HdStamp *s = NULL;
  if (cairo_surface_status (surface) == CAIRO_STATUS_SUCCESS) {
    cairo_t *cr = cairo_create (surface);
    cairo_set_source_rgba (cr, 0, 0, 0, 0.55); /* shaded, the picture still shows through */
    cairo_paint (cr);
    cairo_set_source_rgb (cr, 1, 1, 1);
    cairo_move_to (cr, pad, pad / 2);
    pango_cairo_update_layout (cr, layout);
    pango_cairo_show_layout (cr, layout);
    cairo_destroy (cr);
    cairo_surface_flush (surface);
    s = g_atomic_rc_box_new0 (HdStamp);
    s->w = w;
    s->h = h;
    gsize n = (gsize)w * h; /* the five planes in one block */
    s->y = g_malloc (2 * n + 3 * (n / 4));
    s->ya = s->y + n;
    s->u = s->ya + n;
    s->v = s->u + n / 4;
    s->uva = s->v + n / 4;
    convert (s, cairo_image_surface_get_data (surface), cairo_image_surface_get_stride (surface));
  }
  cairo_surface_destroy (surface);
  g_object_unref (layout);
  g_mutex_unlock (&text_lock);
  return s;
}

HdStamp *
hd_stamp_ref (HdStamp *s)
{
  return s ? g_atomic_rc_box_acquire (s) : NULL;
}

static void
stamp_clear (gpointer data)
{
  g_free (((HdStamp *)data)->y); /* all its planes */
}

void
hd_stamp_unref (HdStamp *s)
{
  if (s)
    g_atomic_rc_box_release_full (s, stamp_clear);
}
