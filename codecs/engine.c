/* engine.c — see engine.h. */
#define G_LOG_DOMAIN "hd-media"

#include "codecs/engine.h"
#include "codecs/text.h"

#include <gst/gst.h>

GST_DEBUG_CATEGORY_STATIC (hd_engine_debug);
#define GST_CAT_DEFAULT hd_engine_debug

static const char *const required[] = {
  "webrtcbin",    "nicesrc",    "nicesink",     "dtlsdec",      "dtlsenc",
  "srtpenc",      "srtpdec",    "rtpvp8pay",    "rtpvp8depay",  "vp8enc",
  "vp8dec",       "rtpopuspay", "rtpopusdepay", "opusenc",      "opusdec",
  "compositor",   "audiomixer", "videoconvert", "audioconvert", "audioresample",
  "splitmuxsink", "webmmux",    "level",        "identity",     NULL,
};

/* [media] video_codec = h264 needs these as well. */
static const char *const required_h264[] = {
  "openh264enc", "openh264dec", "h264parse", "rtph264pay", "rtph264depay", NULL,
};

const char *const *
hd_engine_required_elements (void)
{
  return required;
}

void
hd_engine_webrtcbin_defaults (gpointer webrtcbin)
{
  GObject *ice = NULL, *agent = NULL;
  g_object_get (webrtcbin, "ice-agent", &ice, NULL);
  /* A court server maps no ports on anyone's router. */
  if (ice && g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent"))
    g_object_get (ice, "agent", &agent, NULL);
  if (agent && g_object_class_find_property (G_OBJECT_GET_CLASS (agent), "upnp"))
    g_object_set (agent, "upnp", FALSE, NULL);
  g_clear_object (&agent);
  g_clear_object (&ice);
}

gboolean
hd_engine_init (const char *video_codec, HdEngineReport *report, GError **error)
{
  report->missing = NULL;
  report->dtls_warmup_ms = -1;
  if (!gst_init_check (NULL, NULL, error))
    return FALSE;
  GST_DEBUG_CATEGORY_INIT (hd_engine_debug, "hd-engine", 0, "hearingd media engine");

  GPtrArray *missing = g_ptr_array_new ();
  for (int list = 0; list < 2; list++)
    for (const char *const *f = list ? required_h264 : required; *f; f++) {
      if (list && g_strcmp0 (video_codec, "h264"))
        break;
      GstElementFactory *fac = gst_element_factory_find (*f);
      if (!fac)
        g_ptr_array_add (missing, g_strdup (*f));
      else
        gst_object_unref (fac);
    }
  g_ptr_array_add (missing, NULL);
  report->missing = (char **) g_ptr_array_free (missing, FALSE);

  /* Fonts: the first text measured loads fontconfig's configuration and font list (checking a
   * hearing's text, codecs/text.h); done here, before the main loop runs. */
  gint64 f0 = g_get_monotonic_time ();
  int w, h;
  hd_text_measure ("(2026) 0", "Sans 18", &w, &h, NULL);
  GST_INFO ("fonts loaded in %.1f ms", (g_get_monotonic_time () - f0) / 1000.0);

  /* DTLS warm-up: dtlsdec generates the process's certificate on creation. */
  gint64 t0 = g_get_monotonic_time ();
  GstElement *dec = gst_element_factory_make ("dtlsdec", NULL);
  if (dec) {
    report->dtls_warmup_ms = (g_get_monotonic_time () - t0) / 1000.0;
    gst_object_unref (dec);
    GST_INFO ("DTLS warmed up in %.1f ms", report->dtls_warmup_ms);
  }
  return TRUE;
}

void
hd_engine_report_clear (HdEngineReport *report)
{
  g_strfreev (report->missing);
  report->missing = NULL;
}
