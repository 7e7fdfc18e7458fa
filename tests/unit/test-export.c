/* test-export.c — hd_export_remux: segments written by splitmuxsink (as the recorder writes
 * them) become one file that decodes whole: every frame, every second of the tone. */
#include "codecs/export.h"
#include "tests/media/goertzel.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <glib/gstdio.h>
#include <math.h>

static char *tmp;

/* Three 1 s segments of `what` ("av", "a", "v") into tmp/<name>/, returned in order. */
static GStrv
segments (const char *name, const char *what)
{
  g_autofree char *dir = g_build_filename (tmp, name, NULL);
  g_mkdir_with_parents (dir, 0700);
  g_autofree char *pattern = g_build_filename (dir, "00-00-%05d.webm", NULL);
  gboolean v = strchr (what, 'v') != NULL, a = strchr (what, 'a') != NULL;
  g_autofree char *desc = g_strdup_printf (
      "splitmuxsink name=s muxer-factory=webmmux max-size-time=1000000000 location=%s %s %s",
      pattern,
      v ? "videotestsrc num-buffers=90 pattern=solid-color foreground-color=0xffff0000 ! "
          "video/x-raw,width=160,height=120,framerate=30/1 ! vp8enc deadline=1 "
          "keyframe-max-dist=15 ! s.video"
        : "",
      a ? "audiotestsrc num-buffers=150 samplesperbuffer=960 freq=440 ! "
          "audio/x-raw,rate=48000,channels=1 ! opusenc ! s.audio_%u"
        : "");
  g_autoptr (GError) e = NULL;
  GstElement *p = gst_parse_launch (desc, &e);
  g_assert_no_error (e);
  gst_element_set_state (p, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *m = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
                                              GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (m);
  g_assert_cmpint (GST_MESSAGE_TYPE (m), ==, GST_MESSAGE_EOS);
  gst_message_unref (m);
  gst_object_unref (bus);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  GPtrArray *files = g_ptr_array_new ();
  for (int i = 0;; i++) {
    char *f = g_strdup_printf ("%s/00-00-%05d.webm", dir, i);
    if (!g_file_test (f, G_FILE_TEST_EXISTS)) {
      g_free (f);
      break;
    }
    g_ptr_array_add (files, f);
  }
  g_assert_cmpuint (files->len, >=, 3);
  g_ptr_array_add (files, NULL);
  return (GStrv) g_ptr_array_free (files, FALSE);
}

typedef struct {
  guint frames;
  GArray *pcm; /* float mono 48 kHz */
} Decoded;

/* Decode an exported file: count the pictures, collect the sound. */
static Decoded
decode (const char *file, gboolean video, gboolean audio)
{
  g_autofree char *desc = g_strdup_printf (
      "filesrc location=%s ! matroskademux name=d %s %s", file,
      video ? "d.video_0 ! queue ! vp8dec ! appsink name=v sync=false" : "",
      audio ? "d.audio_0 ! queue ! opusdec ! audioconvert ! audioresample ! "
              "audio/x-raw,format=F32LE,channels=1,rate=48000 ! appsink name=a sync=false"
            : "");
  g_autoptr (GError) e = NULL;
  GstElement *p = gst_parse_launch (desc, &e);
  g_assert_no_error (e);
  Decoded out = { 0, g_array_new (FALSE, FALSE, sizeof (float)) };
  GstElement *vs = gst_bin_get_by_name (GST_BIN (p), "v");
  GstElement *as = gst_bin_get_by_name (GST_BIN (p), "a");
  gst_element_set_state (p, GST_STATE_PLAYING);
  gboolean veos = !vs, aeos = !as;
  while (!veos || !aeos) {
    if (!veos) {
      GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (vs), 5 * GST_SECOND);
      if (s)
        out.frames++;
      else
        veos = TRUE;
      if (s)
        gst_sample_unref (s);
    }
    if (!aeos) {
      GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (as), 5 * GST_SECOND);
      if (s) {
        GstMapInfo mi;
        GstBuffer *b = gst_sample_get_buffer (s);
        gst_buffer_map (b, &mi, GST_MAP_READ);
        g_array_append_vals (out.pcm, mi.data, mi.size / sizeof (float));
        gst_buffer_unmap (b, &mi);
        gst_sample_unref (s);
      } else {
        aeos = TRUE;
      }
    }
  }
  gst_element_set_state (p, GST_STATE_NULL);
  g_clear_object (&vs);
  g_clear_object (&as);
  gst_object_unref (p);
  return out;
}

static double
tone_db (GArray *pcm, double f)
{
  return 10 * log10 (hd_goertzel ((const float *) pcm->data, pcm->len, f, 48000) + 1e-12);
}

/* One source holding picture and sound (the composite): all 90 frames, 3 s of the tone. */
static void
test_composite (void)
{
  g_auto (GStrv) files = segments ("composite", "av");
  HdExportSource src = { (const char *const *) files, TRUE, TRUE };
  g_autofree char *out = g_build_filename (tmp, "composite.webm", NULL);
  g_autoptr (GError) e = NULL;
  g_assert_true (hd_export_remux (&src, 1, FALSE, out, &e));
  g_assert_no_error (e);
  Decoded d = decode (out, TRUE, TRUE);
  g_test_message ("composite export: %u frames, %.2f s of sound, 440 Hz %.1f dB", d.frames,
                  d.pcm->len / 48000.0, tone_db (d.pcm, 440));
  g_assert_cmpuint (d.frames, ==, 90);
  g_assert_cmpfloat (fabs (d.pcm->len / 48000.0 - 3.0), <, 0.1);
  g_assert_cmpfloat (tone_db (d.pcm, 440), >, -20);
  g_assert_cmpfloat (tone_db (d.pcm, 660), <, tone_db (d.pcm, 440) - 30);
  g_array_unref (d.pcm);
}

/* A participant: their picture's segments and their sound's, joined into one file. */
static void
test_two_sources (void)
{
  g_auto (GStrv) v = segments ("p-video", "v");
  g_auto (GStrv) a = segments ("p-audio", "a");
  HdExportSource src[] = { { (const char *const *) a, FALSE, TRUE },
                           { (const char *const *) v, TRUE, FALSE } };
  g_autofree char *out = g_build_filename (tmp, "participant.webm", NULL);
  g_autoptr (GError) e = NULL;
  g_assert_true (hd_export_remux (src, 2, FALSE, out, &e));
  Decoded d = decode (out, TRUE, TRUE);
  g_assert_cmpuint (d.frames, ==, 90);
  g_assert_cmpfloat (fabs (d.pcm->len / 48000.0 - 3.0), <, 0.1);
  g_assert_cmpfloat (tone_db (d.pcm, 440), >, -20);
  g_array_unref (d.pcm);
}

/* A segment that is not there, or not media: an error naming the export, nothing hangs. */
static void
test_bad_input (void)
{
  g_autofree char *junk = g_build_filename (tmp, "junk.webm", NULL);
  g_assert_true (g_file_set_contents (junk, "not a webm file at all", -1, NULL));
  g_autofree char *missing = g_build_filename (tmp, "missing.webm", NULL);
  g_autofree char *out = g_build_filename (tmp, "bad.webm", NULL);
  const char *const *lists[] = { (const char *const[]){ missing, NULL },
                                 (const char *const[]){ junk, NULL } };
  for (gsize i = 0; i < G_N_ELEMENTS (lists); i++) {
    HdExportSource src = { lists[i], TRUE, TRUE };
    g_autoptr (GError) e = NULL;
    g_assert_false (hd_export_remux (&src, 1, FALSE, out, &e));
    g_assert_nonnull (e);
    g_test_message ("%s", e->message);
    g_assert_nonnull (strstr (e->message, "export"));
  }
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("hd-export-XXXXXX", NULL);
  g_test_add_func ("/export/composite", test_composite);
  g_test_add_func ("/export/two-sources", test_two_sources);
  g_test_add_func ("/export/bad-input", test_bad_input);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
  if (system (cmd) != 0)
    g_warning ("could not remove %s", tmp);
  g_free (tmp);
  gst_deinit ();
  return rc;
}
