/* test-engine.c — codecs/engine.c on this machine: every GStreamer element the media path needs
 * (with H.264) is installed. A machine that lacks one runs hearingd as signaling only, and every
 * media test would then fail far from the cause; this test names the missing elements. */
#include "codecs/engine.h"

#include <gst/gst.h>

static void
test_all_elements_present (void)
{
  HdEngineReport rep;
  g_autoptr (GError) e = NULL;
  g_assert_true (hd_engine_init ("h264", &rep, &e));
  g_assert_no_error (e);
  g_autofree char *missing = g_strjoinv (", ", rep.missing);
  if (rep.missing[0])
    g_test_message ("missing: %s (tools/install-deps installs the packages that hold them)",
                    missing);
  g_assert_cmpstr (missing, ==, "");
  /* the warm-up made a DTLS certificate */
  g_assert_cmpfloat (rep.dtls_warmup_ms, >=, 0);
  hd_engine_report_clear (&rep);
}

static void
test_missing_is_reported (void)
{
  /* the check looks the factories up for real: one that no plugin provides is not found */
  for (const char *const *f = hd_engine_required_elements (); *f; f++) {
    GstElementFactory *fac = gst_element_factory_find (*f);
    g_assert_nonnull (fac);
    gst_object_unref (fac);
  }
  g_assert_null (gst_element_factory_find ("hd-no-such-element"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/all-elements-present", test_all_elements_present);
  g_test_add_func ("/engine/lookup-is-real", test_missing_is_reported);
  return g_test_run ();
}
