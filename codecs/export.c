/* export.c — splitmuxsrc reads a source's segments as one stream (each file's timestamps follow
 * the last's); a muxer writes them all into one file. No decoder is involved: what was recorded
 * is what is exported. */
#define G_LOG_DOMAIN "hd-export"

#include "codecs/export.h"

#include <gst/gst.h>

/* An export that has not finished in this long is stuck (a 3-hour hearing remuxes in seconds). */
#define EXPORT_TIMEOUT_S 1800

typedef struct {
  const HdExportSource *src;
  GstPad *video, *audio; /* the muxer's pads for this source, requested before any data */
} Feed;

static GStrv
files_of (GstElement *splitmuxsrc, gpointer data)
{
  const Feed *f = data;
  return g_strdupv ((char **) f->src->files);
}

static void
on_pad (GstElement *splitmuxsrc, GstPad *pad, gpointer data)
{
  Feed *f = data;
  /* splitmuxsrc names its pads after the streams: video, audio_0, subtitle_0 */
  g_autofree char *name = gst_pad_get_name (pad);
  GstPad **to = g_str_has_prefix (name, "video") ? &f->video
                : g_str_has_prefix (name, "audio") ? &f->audio
                                                   : NULL;
  if (to && *to && !gst_pad_is_linked (*to)) {
    gst_pad_link (pad, *to);
  } else { /* not expected: drained, left out */
    GstElement *sink = gst_element_factory_make ("fakesink", NULL);
    GstElement *bin = GST_ELEMENT (gst_element_get_parent (splitmuxsrc));
    gst_bin_add (GST_BIN (bin), sink);
    gst_element_sync_state_with_parent (sink);
    GstPad *sp = gst_element_get_static_pad (sink, "sink");
    gst_pad_link (pad, sp);
    gst_object_unref (sp);
    gst_object_unref (bin);
    g_message ("export: a stream that was not expected (%s) is left out", name);
  }
}

gboolean
hd_export_remux (const HdExportSource *sources, guint n_sources, gboolean mkv, const char *out,
                 GError **error)
{
  GstElement *pipe = gst_pipeline_new ("export");
  GstElement *mux = gst_element_factory_make (mkv ? "matroskamux" : "webmmux", NULL);
  GstElement *sink = gst_element_factory_make ("filesink", NULL);
  if (!mux || !sink) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN, "no %s or filesink",
                 mkv ? "matroskamux" : "webmmux");
    gst_object_unref (pipe);
    return FALSE;
  }
  g_object_set (sink, "location", out, NULL);
  gst_bin_add_many (GST_BIN (pipe), mux, sink, NULL);
  gst_element_link (mux, sink);
  Feed *feeds = g_new0 (Feed, n_sources);
  for (guint i = 0; i < n_sources; i++) {
    feeds[i].src = &sources[i];
    if (!sources[i].files || !sources[i].files[0])
      continue;
    GstElement *s = gst_element_factory_make ("splitmuxsrc", NULL);
    gst_bin_add (GST_BIN (pipe), s);
    if (sources[i].video)
      feeds[i].video = gst_element_request_pad_simple (mux, "video_%u");
    if (sources[i].audio)
      feeds[i].audio = gst_element_request_pad_simple (mux, "audio_%u");
    g_signal_connect (s, "format-location", G_CALLBACK (files_of), &feeds[i]);
    g_signal_connect (s, "pad-added", G_CALLBACK (on_pad), &feeds[i]);
  }
  gboolean ok = gst_element_set_state (pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg = ok ? gst_bus_timed_pop_filtered (bus, EXPORT_TIMEOUT_S * GST_SECOND,
                                                     GST_MESSAGE_EOS | GST_MESSAGE_ERROR)
                       : NULL;
  if (!msg || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *ge = NULL;
    if (msg)
      gst_message_parse_error (msg, &ge, NULL);
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED, "export to %s failed: %s", out,
                 ge ? ge->message : ok ? "it did not finish in time" : "it could not start");
    g_clear_error (&ge);
    ok = FALSE;
  }
  if (msg)
    gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipe, GST_STATE_NULL);
  for (guint i = 0; i < n_sources; i++) {
    if (feeds[i].video) {
      gst_element_release_request_pad (mux, feeds[i].video);
      gst_object_unref (feeds[i].video);
    }
    if (feeds[i].audio) {
      gst_element_release_request_pad (mux, feeds[i].audio);
      gst_object_unref (feeds[i].audio);
    }
  }
  gst_object_unref (pipe);
  g_free (feeds);
  return ok;
}
