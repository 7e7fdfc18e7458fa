/* test-text.c — codecs/text.c and codecs/overlay.c: the fonts installed draw a Chinese case
 * number and names (else they are boxes on the record), and a character no font has is counted;
 * a text drawn into a stamp is white letters on a shaded box, blended into an I420 frame over
 * its own rectangle and nowhere else, cut where it is told and at the frame's edges; the
 * composite's overlay draws the case number top left and the clock top right. */
#include "codecs/overlay.h"

#include <string.h>

static void
test_chinese_has_a_font (void)
{
  int w = 0, h = 0, unknown = -1;
  hd_text_measure ("(2026)浙0109民初1234号 张三 审判长", "Sans 18", &w, &h, &unknown);
  if (unknown)
    g_test_message ("%d characters have no font: install fonts-wqy-microhei (tools/install-deps)",
                    unknown);
  g_assert_cmpint (unknown, ==, 0);
  g_assert_cmpint (w, >, 0);
  g_assert_cmpint (h, >, 0);
}

static void
test_missing_glyph_counted (void)
{
  int w, h, unknown = 0, w1, h1;
  hd_text_measure ("\xf0\x90\x98\x80", "Sans 18", &w, &h, &unknown); /* U+10600, Linear A */
  g_assert_cmpint (unknown, ==, 1);
  /* and sizes grow with the text */
  hd_text_measure ("Zhang", "Sans 18", &w, &h, NULL);
  hd_text_measure ("Zhang San (plaintiff)", "Sans 18", &w1, &h1, NULL);
  g_assert_cmpint (w1, >, w);
  g_assert_cmpint (h1, ==, h);
}

static void
test_stamp_is_white_on_shade (void)
{
  g_assert_null (hd_stamp_new ("", "Sans", 27, 0));
  HdStamp *s = hd_stamp_new ("Zhang San — party", "Sans", 27, 0);
  g_assert_nonnull (s);
  g_assert_cmpint (s->w % 2, ==, 0);
  g_assert_cmpint (s->h % 2, ==, 0);
  g_assert_cmpint (s->h, >=, 27);
  int white = 0, shade = 0;
  for (int i = 0; i < s->w * s->h; i++) {
    if (s->ya[i] == 255 && s->y[i] >= 230)
      white++; /* a letter's inside: opaque white (235 is white in limited range) */
    else if (s->ya[i] >= 130 && s->ya[i] <= 150 && s->y[i] == 16)
      shade++; /* the box: black at 55 % */
  }
  g_assert_cmpint (white, >, 100);
  g_assert_cmpint (shade, >, s->w * s->h / 2);
  for (int i = 0; i < s->w / 2 * s->h / 2; i++) { /* no colour anywhere */
    g_assert_cmpint (ABS (s->u[i] - 128), <=, 1);
    g_assert_cmpint (ABS (s->v[i] - 128), <=, 1);
  }
  HdStamp *big = hd_stamp_new ("Zhang San — party", "Sans", 40, 0);
  g_assert_cmpint (big->w, >, s->w);
  hd_stamp_unref (big);
  /* too wide for its box: it ends in "…" within it; any length stays within 4096 */
  HdStamp *narrow = hd_stamp_new ("Zhang San — party", "Sans", 27, s->w / 2);
  g_assert_cmpint (narrow->w, <=, s->w / 2);
  g_assert_cmpint (narrow->h, ==, s->h);
  hd_stamp_unref (narrow);
  GString *endless = g_string_new (NULL);
  for (int i = 0; i < 2000; i++)
    g_string_append (endless, "张三 ");
  HdStamp *huge = hd_stamp_new (endless->str, "Sans", 40, 0);
  g_assert_cmpint (huge->w, <=, 4096);
  g_assert_cmpint (huge->h, <=, 512);
  hd_stamp_unref (huge);
  g_string_free (endless, TRUE);
  hd_stamp_unref (s);
}

/* A grey I420 frame W×H, mapped for writing. */
#define W 320
#define H 180
static GstBuffer *
grey_frame (GstVideoInfo *info, GstVideoFrame *f)
{
  gst_video_info_set_format (info, GST_VIDEO_FORMAT_I420, W, H);
  GstBuffer *b = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  gst_buffer_memset (b, 0, 128, GST_VIDEO_INFO_SIZE (info));
  g_assert_true (gst_video_frame_map (f, info, b, GST_MAP_READWRITE));
  return b;
}

static guint8
luma_at (GstVideoFrame *f, int x, int y)
{
  return ((guint8 *)GST_VIDEO_FRAME_PLANE_DATA (f, 0))[y * GST_VIDEO_FRAME_PLANE_STRIDE (f, 0) + x];
}

/* The bounding box of the luma that is not 128 any more, and whether chroma moved. */
static void
changed (GstVideoFrame *f, int box[4])
{
  box[0] = box[1] = G_MAXINT;
  box[2] = box[3] = -1;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      if (luma_at (f, x, y) != 128) {
        box[0] = MIN (box[0], x);
        box[1] = MIN (box[1], y);
        box[2] = MAX (box[2], x);
        box[3] = MAX (box[3], y);
      }
}

static void
test_labels_blend_in_their_rectangle (void)
{
  HdOverlay *o = hd_overlay_new (NULL, "Sans 12");
  HdStamp *s = hd_stamp_new ("Li Si — witness", "Sans", 20, 0);
  GstVideoInfo info;
  GstVideoFrame f;
  int box[4];
  /* placed inside: exactly its rectangle changes (the box is shaded all over) */
  int x = 40, y = 100, cut = G_MAXINT;
  HdStamp *stamps[] = { s };
  hd_overlay_set_labels (o, stamps, &x, &y, &cut, 1);
  GstBuffer *b = grey_frame (&info, &f);
  hd_overlay_draw (o, &f);
  /* the clock, top right, is there too: look below it. Inside, the shade darkens all but a
   * letter's edge that happens to come out grey */
  int same = 0;
  for (int yy = 60; yy < H; yy++)
    for (int xx = 0; xx < W; xx++) {
      gboolean inside = xx >= x && xx < x + s->w && yy >= y && yy < y + s->h;
      if (inside)
        same += luma_at (&f, xx, yy) == 128;
      else
        g_assert_cmpint (luma_at (&f, xx, yy), ==, 128);
    }
  g_assert_cmpint (same, <, s->w * s->h / 20);
  int lit = 0;
  for (int yy = y; yy < y + s->h; yy++)
    for (int xx = x; xx < x + s->w; xx++)
      lit += luma_at (&f, xx, yy) > 200; /* the letters */
  g_assert_cmpint (lit, >, 50);
  gst_video_frame_unmap (&f);
  gst_buffer_unref (b);

  /* cut at 30 columns, and half off the frame's bottom right: nothing outside, no overrun */
  x = W - 20;
  y = H - 6;
  cut = 30;
  hd_overlay_set_labels (o, stamps, &x, &y, &cut, 1);
  b = grey_frame (&info, &f);
  hd_overlay_draw (o, &f);
  changed (&f, box);
  g_assert_cmpint (box[2], ==, W - 1);
  g_assert_cmpint (box[3], ==, H - 1);
  for (int yy = 60; yy < H; yy++)
    for (int xx = 0; xx < x; xx++)
      g_assert_cmpint (luma_at (&f, xx, yy), ==, 128);
  gst_video_frame_unmap (&f);
  gst_buffer_unref (b);

  x = 100;
  y = 100;
  cut = 30;
  hd_overlay_set_labels (o, stamps, &x, &y, &cut, 1);
  b = grey_frame (&info, &f);
  hd_overlay_draw (o, &f);
  for (int yy = 60; yy < H; yy++)
    for (int xx = 0; xx < W; xx++)
      if (xx < x || xx >= x + 30 || yy < y || yy >= y + s->h)
        g_assert_cmpint (luma_at (&f, xx, yy), ==, 128);
  gst_video_frame_unmap (&f);
  gst_buffer_unref (b);

  /* off the frame entirely (top left), and no labels: nothing below the clock */
  x = -400;
  y = -400;
  cut = G_MAXINT;
  hd_overlay_set_labels (o, stamps, &x, &y, &cut, 1);
  b = grey_frame (&info, &f);
  hd_overlay_draw (o, &f);
  changed (&f, box);
  g_assert_cmpint (box[3], <, 60);
  gst_video_frame_unmap (&f);
  gst_buffer_unref (b);
  hd_stamp_unref (s);
  hd_overlay_free (o);
}

static void
test_caption_left_clock_right (void)
{
  HdOverlay *o = hd_overlay_new ("(2026)浙0109民初1234号", "Sans 10");
  GstVideoInfo info;
  GstVideoFrame f;
  GstBuffer *b = grey_frame (&info, &f);
  hd_overlay_draw (o, &f);
  int left = 0, right = 0, below = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      if (luma_at (&f, x, y) != 128) {
        if (y >= 50)
          below++;
        else if (x < W / 2)
          left++;
        else
          right++;
      }
  g_assert_cmpint (left, >, 200);  /* the case number */
  g_assert_cmpint (right, >, 200); /* the time */
  g_assert_cmpint (below, ==, 0);
  gst_video_frame_unmap (&f);
  gst_buffer_unref (b);
  hd_overlay_free (o);

  /* a case number longer than the line: it stops before the clock, which stays whole */
  const char *three = "(2026)浙0109民初1234号 (2026)浙0109民初1234号 (2026)浙0109民初1234号";
  HdOverlay *ref = hd_overlay_new (NULL, "Sans 10"), *lng = hd_overlay_new (three, "Sans 10");
  GstVideoFrame fr, fl;
  GstBuffer *br = grey_frame (&info, &fr), *bl = grey_frame (&info, &fl);
  hd_overlay_draw (ref, &fr); /* the clock alone */
  hd_overlay_draw (lng, &fl);
  int clock_left = W, caption_right = -1;
  for (int y = 0; y < 50; y++)
    for (int x = 0; x < W; x++)
      if (luma_at (&fr, x, y) != 128)
        clock_left = MIN (clock_left, x);
  for (int y = 0; y < 50; y++)
    for (int x = 0; x < clock_left; x++)
      if (luma_at (&fl, x, y) != 128)
        caption_right = MAX (caption_right, x);
  g_assert_cmpint (caption_right, >, W / 3);          /* it is there */
  g_assert_cmpint (caption_right, <, clock_left - 4); /* and ends before the clock */
  gst_video_frame_unmap (&fr);
  gst_video_frame_unmap (&fl);
  gst_buffer_unref (br);
  gst_buffer_unref (bl);
  hd_overlay_free (ref);
  hd_overlay_free (lng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);
  g_test_add_func ("/text/chinese-has-a-font", test_chinese_has_a_font);
  g_test_add_func ("/text/missing-glyph-counted", test_missing_glyph_counted);
  g_test_add_func ("/text/stamp-is-white-on-shade", test_stamp_is_white_on_shade);
  g_test_add_func ("/text/labels-blend-in-their-rectangle", test_labels_blend_in_their_rectangle);
  g_test_add_func ("/text/caption-left-clock-right", test_caption_left_clock_right);
  return g_test_run ();
}
