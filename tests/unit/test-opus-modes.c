/* test-opus-modes.c — codecs/opus-modes.c: GStreamer's Opus elements, in a program linked with
 * the media layer, get libopus's standard mode from the cache on every frame they code, and
 * the sound they code is still right. */
#include "codecs/opus-modes.h"
#include "tests/media/goertzel.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#define FRAMES 200 /* 10 ms each */

/* libopus's entry point, as the program defines it (opus-modes.c). */
void *opus_custom_mode_create (gint32 fs, int frame_size, int *error);

static void
test_tone_through_cache (void)
{
  guint before = hd_opus_modes_served ();
  g_autofree char *desc = g_strdup_printf (
      "audiotestsrc num-buffers=%d samplesperbuffer=480 freq=440 volume=0.5 !"
      " audio/x-raw,rate=48000,channels=2 ! opusenc frame-size=10 bitrate=64000 ! opusdec !"
      " audioconvert ! audio/x-raw,format=F32LE,rate=48000,channels=1 !"
      " appsink name=out sync=false",
      FRAMES);
  g_autoptr (GError) e = NULL;
  GstElement *p = gst_parse_launch (desc, &e);
  g_assert_no_error (e);
  GstAppSink *out = GST_APP_SINK (gst_bin_get_by_name (GST_BIN (p), "out"));
  gst_element_set_state (p, GST_STATE_PLAYING);
  GArray *pcm = g_array_new (FALSE, FALSE, sizeof (float));
  for (GstSample *s; (s = gst_app_sink_try_pull_sample (out, 10 * GST_SECOND));
       gst_sample_unref (s)) {
    GstMapInfo map;
    GstBuffer *b = gst_sample_get_buffer (s);
    g_assert_true (gst_buffer_map (b, &map, GST_MAP_READ));
    g_array_append_vals (pcm, map.data, map.size / sizeof (float));
    gst_buffer_unmap (b, &map);
  }
  g_assert_true (gst_app_sink_is_eos (out));
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (out);
  gst_object_unref (p);

  /* every frame encoded and decoded: each asks for its coder's size, each size for the mode */
  guint served = hd_opus_modes_served () - before;
  g_test_message ("%u mode lookups answered from the cache for %d frames", served, FRAMES);
  g_assert_cmpuint (served, >=, 2 * FRAMES);
  /* and the sound survived: the last second carries the tone (0.5 full scale: −6 dB), not
   * another frequency */
  g_assert_cmpuint (pcm->len, >=, 48000 + 4800);
  const float *last = &g_array_index (pcm, float, pcm->len - 48000);
  double tone = 10 * log10 (hd_goertzel (last, 48000, 440, 48000));
  double other = 10 * log10 (hd_goertzel (last, 48000, 660, 48000) + 1e-12);
  g_test_message ("440 Hz %.1f dB, 660 Hz %.1f dB", tone, other);
  g_assert_cmpfloat (fabs (tone - (-6.0)), <, 2.0);
  g_assert_cmpfloat (other, <, tone - 40);
  g_array_unref (pcm);
}

static void
test_standard_mode_is_one (void)
{
  int err = -1;
  void *a = opus_custom_mode_create (48000, 960, &err);
  g_assert_nonnull (a);
  g_assert_cmpint (err, ==, 0);
  err = -1;
  g_assert_true (opus_custom_mode_create (48000, 960, &err) == a);
  g_assert_cmpint (err, ==, 0);
  /* another frame size goes to libopus itself (2.5 ms frames: the same static table) */
  err = -1;
  g_assert_true (opus_custom_mode_create (48000, 120, &err) == a);
  g_assert_cmpint (err, ==, 0);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  /* first: the cache is filled by libopus's first lookup, made inside the pipeline */
  g_test_add_func ("/opus-modes/tone-through-the-cache", test_tone_through_cache);
  g_test_add_func ("/opus-modes/standard-mode-is-one", test_standard_mode_is_one);
  return g_test_run ();
}
