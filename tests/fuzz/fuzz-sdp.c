/* libFuzzer harness: the SDP checks (codecs/sdp.c) on GstSDP. */
#include "codecs/sdp.h"

#include <gst/gst.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean init;
  if (!init) {
    gst_init (NULL, NULL);
    init = TRUE;
  }
  HdSdpFingerprint fp;
  GError *e = NULL;
  if (hd_sdp_check ((const char *) data, size, &fp, &e)) {
    if (!fp.hash || !fp.value)
      __builtin_trap (); /* success always yields the fingerprint */
    hd_sdp_fingerprint_clear (&fp);
  } else if (!e || e->domain != HD_SDP_ERROR) {
    __builtin_trap ();
  }
  g_clear_error (&e);
  return 0;
}
