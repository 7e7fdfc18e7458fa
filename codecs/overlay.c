/* overlay.c — see overlay.h. */
#define G_LOG_DOMAIN "hd-media"

#include "codecs/overlay.h"

#define MARGIN 12 /* pixels between the composite's edge and its caption and clock */

typedef struct {
  HdStamp *stamp;
  int x, y, w; /* w: cut off there */
} Placed;

struct HdOverlay {
  char *font;
  char *caption_text;
  HdStamp *caption; /* drawn for caption_room (beside the clock): the compositor's thread */
  int caption_room;
  HdStamp *clock; /* the compositor's thread only */
  gint64 clock_second;
  GMutex lock;    /* the labels */
  GArray *labels; /* Placed */
};

static void
placed_clear (gpointer data)
{
  hd_stamp_unref (((Placed *)data)->stamp);
}

HdOverlay *
hd_overlay_new (const char *caption, const char *font)
{
  HdOverlay *o = g_new0 (HdOverlay, 1);
  o->font = g_strdup (font);
  o->caption_text = g_strdup (caption);
  o->clock_second = -1;
  g_mutex_init (&o->lock);
  o->labels = g_array_new (FALSE, FALSE, sizeof (Placed));
  g_array_set_clear_func (o->labels, placed_clear);
  return o;
}

void
hd_overlay_free (HdOverlay *o)
{
  if (!o)
    return;
  hd_stamp_unref (o->caption);
  hd_stamp_unref (o->clock);
  g_array_unref (o->labels);
  g_mutex_clear (&o->lock);
  g_free (o->caption_text);
  g_free (o->font);
  g_free (o);
}

void
hd_overlay_set_labels (HdOverlay *o, HdStamp *const *stamps, const int *x, const int *y,
                       const int *w, guint n)
{
  GArray *labels = g_array_sized_new (FALSE, FALSE, sizeof (Placed), n);
  g_array_set_clear_func (labels, placed_clear);
  for (guint i = 0; i < n; i++)
    if (stamps[i]) {
      Placed p = { hd_stamp_ref (stamps[i]), x[i], y[i], w[i] };
      g_array_append_val (labels, p);
    }
  g_mutex_lock (&o->lock);
  GArray *old = o->labels;
  o->labels = labels;
  g_mutex_unlock (&o->lock);
  g_array_unref (old); /* its stamps let go outside the lock */
}

/* (s·a + d·(255 − a)) / 255, rounded */
static inline guint8
mix (guint8 s, guint8 d, guint8 a)
{
  return (guint8)((s * a + d * (255 - a) + 127) / 255);
}

/* One plane: `w`×`h` of `src` (alpha `alpha`; `cut` columns of it at most) over `dst` at
 * (x, y), clipped to `dw`×`dh`. */
static void
blend_plane (guint8 *dst, int stride, int dw, int dh, const guint8 *src, const guint8 *alpha, int w,
             int h, int cut, int x, int y)
{
  int i0 = MAX (0, -x), i1 = MIN (MIN (w, cut), dw - x), j0 = MAX (0, -y), j1 = MIN (h, dh - y);
  for (int j = j0; j < j1; j++) {
    guint8 *d = dst + (gsize)(y + j) * stride + x;
    const guint8 *s = src + (gsize)j * w, *a = alpha + (gsize)j * w;
    for (int i = i0; i < i1; i++)
      d[i] = mix (s[i], d[i], a[i]);
  }
}

static void
blend (GstVideoFrame *f, const HdStamp *s, int x, int y, int cut)
{
  if (!s)
    return;
  x &= ~1; /* chroma is per 2×2 */
  y &= ~1;
  int W = GST_VIDEO_FRAME_WIDTH (f), H = GST_VIDEO_FRAME_HEIGHT (f);
  blend_plane (GST_VIDEO_FRAME_PLANE_DATA (f, 0), GST_VIDEO_FRAME_PLANE_STRIDE (f, 0), W, H, s->y,
               s->ya, s->w, s->h, cut, x, y);
  blend_plane (GST_VIDEO_FRAME_PLANE_DATA (f, 1), GST_VIDEO_FRAME_PLANE_STRIDE (f, 1), W / 2, H / 2,
               s->u, s->uva, s->w / 2, s->h / 2, cut / 2, x / 2, y / 2);
  blend_plane (GST_VIDEO_FRAME_PLANE_DATA (f, 2), GST_VIDEO_FRAME_PLANE_STRIDE (f, 2), W / 2, H / 2,
               s->v, s->uva, s->w / 2, s->h / 2, cut / 2, x / 2, y / 2);
}

void
hd_overlay_draw (HdOverlay *o, GstVideoFrame *f)
{
  if (GST_VIDEO_FRAME_FORMAT (f) != GST_VIDEO_FORMAT_I420)
    return;
  gint64 now = g_get_real_time ();
  if (now / G_USEC_PER_SEC != o->clock_second) { /* the clock's stamp, once a second */
    o->clock_second = now / G_USEC_PER_SEC;
    g_autoptr (GDateTime) t = g_date_time_new_from_unix_local (o->clock_second);
    g_autofree char *text = t ? g_date_time_format (t, "%Y-%m-%d %H:%M:%S") : NULL;
    hd_stamp_unref (o->clock);
    o->clock = hd_stamp_new (text, o->font, 0, 0);
  }
  /* the case number in what the clock leaves of the top line: a long one ends in "…" */
  int room = GST_VIDEO_FRAME_WIDTH (f) - (o->clock ? o->clock->w : 0) - 3 * MARGIN;
  if (room != o->caption_room) {
    hd_stamp_unref (o->caption);
    o->caption = hd_stamp_new (o->caption_text, o->font, 0, MAX (room, 2));
    o->caption_room = room;
  }
  blend (f, o->caption, MARGIN, MARGIN, G_MAXINT);
  if (o->clock)
    blend (f, o->clock, GST_VIDEO_FRAME_WIDTH (f) - o->clock->w - MARGIN, MARGIN, G_MAXINT);
  g_mutex_lock (&o->lock);
  for (guint i = 0; i < o->labels->len; i++) {
    Placed *p = &g_array_index (o->labels, Placed, i);
    blend (f, p->stamp, p->x, p->y, p->w);
  }
  g_mutex_unlock (&o->lock);
}
