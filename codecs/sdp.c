/* sdp.c — see sdp.h. */
#define G_LOG_DOMAIN "hd-media"

#include "codecs/sdp.h"

#include <gst/sdp/sdp.h>
#include <string.h>

G_DEFINE_QUARK (hd-sdp-error-quark, hd_sdp_error)

const char *
hd_sdp_error_code (int code)
{
  switch (code) {
  case HD_SDP_ERROR_NO_FINGERPRINT: return "sdp_no_fingerprint";
  case HD_SDP_ERROR_CRYPTO: return "sdp_crypto_forbidden";
  case HD_SDP_ERROR_INSECURE_PROFILE: return "sdp_insecure_profile";
  case HD_SDP_ERROR_FINGERPRINTS_DIFFER: return "sdp_fingerprint_mismatch";
  default: return "sdp_invalid";
  }
}

void
hd_sdp_fingerprint_clear (HdSdpFingerprint *fp)
{
  g_clear_pointer (&fp->hash, g_free);
  g_clear_pointer (&fp->value, g_free);
}

/* Parse "sha-256 AB:CD:…" into `fp`; FALSE if it is not that shape. */
static gboolean
parse_fingerprint (const char *attr, HdSdpFingerprint *fp)
{
  const char *sp = attr ? strchr (attr, ' ') : NULL;
  if (!sp || sp == attr)
    return FALSE;
  g_autofree char *hash = g_ascii_strdown (attr, sp - attr);
  const char *v = sp + 1;
  gsize n = strlen (v);
  if (n < 2 || n % 3 != 2)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (i % 3 == 2 ? v[i] != ':' : !g_ascii_isxdigit (v[i]))
      return FALSE;
  static const char *known[] = { "sha-1", "sha-224", "sha-256", "sha-384", "sha-512" };
  gboolean ok = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    ok |= g_str_equal (hash, known[i]);
  if (!ok)
    return FALSE;
  fp->hash = g_steal_pointer (&hash);
  fp->value = g_ascii_strup (v, -1);
  return TRUE;
}

gboolean
hd_sdp_check (const char *sdp, gsize len, HdSdpFingerprint *fp, GError **error)
{
  GstSDPMessage *msg = NULL;
  gboolean ok = FALSE;
  HdSdpFingerprint session = { 0 };
  memset (fp, 0, sizeof *fp);

  /* `sdp` need not be NUL-terminated: look only at its `len` bytes. */
  if (len < 3 || len > G_MAXINT || memcmp (sdp, "v=0", 3) != 0 || memchr (sdp, '\0', len) ||
      !g_utf8_validate_len (sdp, len, NULL) || gst_sdp_message_new (&msg) != GST_SDP_OK ||
      gst_sdp_message_parse_buffer ((const guint8 *) sdp, (guint) len, msg) != GST_SDP_OK ||
      gst_sdp_message_medias_len (msg) == 0) {
    g_set_error_literal (error, HD_SDP_ERROR, HD_SDP_ERROR_INVALID,
                         "not an SDP offer or answer with media (RFC 8866)");
    goto out;
  }
  if (gst_sdp_message_get_attribute_val (msg, "crypto")) {
    g_set_error_literal (error, HD_SDP_ERROR, HD_SDP_ERROR_CRYPTO,
                         "SDES keys (a=crypto) are refused; use DTLS-SRTP");
    goto out;
  }
  const char *sfp = gst_sdp_message_get_attribute_val (msg, "fingerprint");
  if (sfp && !parse_fingerprint (sfp, &session)) {
    g_set_error_literal (error, HD_SDP_ERROR, HD_SDP_ERROR_NO_FINGERPRINT,
                         "the session's a=fingerprint is not 'HASH HEX:HEX:…'");
    goto out;
  }
  for (guint i = 0; i < gst_sdp_message_medias_len (msg); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (msg, i);
    const char *proto = gst_sdp_media_get_proto (m);
    if (gst_sdp_media_get_port (m) == 0 && !gst_sdp_media_get_attribute_val (m, "bundle-only"))
      continue; /* a rejected section carries nothing */
    if (g_strcmp0 (proto, "UDP/TLS/RTP/SAVPF") != 0 && g_strcmp0 (proto, "UDP/TLS/RTP/SAVP") != 0) {
      g_set_error (error, HD_SDP_ERROR, HD_SDP_ERROR_INSECURE_PROFILE,
                   "media section %u uses %.32s; only UDP/TLS/RTP/SAVPF is accepted", i,
                   proto ? proto : "no profile");
      goto out;
    }
    if (gst_sdp_media_get_attribute_val (m, "crypto")) {
      g_set_error_literal (error, HD_SDP_ERROR, HD_SDP_ERROR_CRYPTO,
                           "SDES keys (a=crypto) are refused; use DTLS-SRTP");
      goto out;
    }
    HdSdpFingerprint here = { 0 };
    const char *mfp = gst_sdp_media_get_attribute_val (m, "fingerprint");
    gboolean have = FALSE;
    if (mfp) {
      have = parse_fingerprint (mfp, &here);
    } else if (session.hash) {
      here.hash = g_strdup (session.hash);
      here.value = g_strdup (session.value);
      have = TRUE;
    }
    if (!have) {
      hd_sdp_fingerprint_clear (&here);
      g_set_error (error, HD_SDP_ERROR, HD_SDP_ERROR_NO_FINGERPRINT,
                   "media section %u has no usable a=fingerprint", i);
      goto out;
    }
    if (fp->hash && (!g_str_equal (fp->hash, here.hash) || !g_str_equal (fp->value, here.value))) {
      hd_sdp_fingerprint_clear (&here);
      g_set_error_literal (error, HD_SDP_ERROR, HD_SDP_ERROR_FINGERPRINTS_DIFFER,
                           "media sections carry different DTLS fingerprints");
      goto out;
    }
    if (!fp->hash)
      *fp = here;
    else
      hd_sdp_fingerprint_clear (&here);
  }
  if (!fp->hash) {
    g_set_error_literal (error, HD_SDP_ERROR, HD_SDP_ERROR_INVALID, "no active media section");
    goto out;
  }
  ok = TRUE;
out:
  if (!ok)
    hd_sdp_fingerprint_clear (fp);
  hd_sdp_fingerprint_clear (&session);
  if (msg)
    gst_sdp_message_free (msg);
  return ok;
}
