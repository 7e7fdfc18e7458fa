/* Unit tests of the SDP checks: DTLS-SRTP only, fingerprint required, SDES refused. */
#include "codecs/mixer.h"
#include "codecs/sdp.h"

#include <gst/gst.h>
#include <string.h>

#define FP "sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08"

/* A Chromium-style answer: BUNDLE, audio + video, fingerprint per media section. */
static const char *good =
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Zx1q\r\na=ice-pwd:ybN3uNcz3ZJm8zFh7VxlSf2B\r\na=fingerprint:" FP "\r\n"
    "a=setup:active\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Zx1q\r\na=ice-pwd:ybN3uNcz3ZJm8zFh7VxlSf2B\r\na=fingerprint:" FP "\r\n"
    "a=setup:active\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n";

static char *
edit (const char *from, const char *to)
{
  g_auto (GStrv) parts = g_strsplit (good, from, -1);
  return g_strjoinv (to, parts);
}

static void
expect (const char *sdp, int code)
{
  HdSdpFingerprint fp;
  g_autoptr (GError) e = NULL;
  gboolean ok = hd_sdp_check (sdp, strlen (sdp), &fp, &e);
  if (code < 0) {
    g_assert_no_error (e);
    g_assert_true (ok);
    g_assert_cmpstr (fp.hash, ==, "sha-256");
    g_assert_true (g_str_has_prefix (fp.value, "6B:8B:F0"));
    hd_sdp_fingerprint_clear (&fp);
    return;
  }
  g_assert_false (ok);
  g_assert_error (e, HD_SDP_ERROR, code);
  g_assert_null (fp.hash);
  g_assert_true (g_str_has_prefix (hd_sdp_error_code (code), "sdp_"));
}

static void
test_sdp (void)
{
  expect (good, -1);
  /* fingerprint at session level only */
  g_autofree char *no_media_fp = edit ("a=fingerprint:" FP "\r\na=setup", "a=setup");
  expect (no_media_fp, HD_SDP_ERROR_NO_FINGERPRINT);
  g_autofree char *session_fp = g_strconcat (
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:" FP "\r\n",
      strstr (no_media_fp, "a=group"), NULL);
  expect (session_fp, -1);
  /* SDES, plain RTP profiles */
  g_autofree char *crypto = edit ("a=mid:1\r\n", "a=mid:1\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n");
  expect (crypto, HD_SDP_ERROR_CRYPTO);
  g_autofree char *avpf = edit ("m=video 9 UDP/TLS/RTP/SAVPF", "m=video 9 RTP/AVPF");
  expect (avpf, HD_SDP_ERROR_INSECURE_PROFILE);
  g_autofree char *avp = edit ("UDP/TLS/RTP/SAVPF", "RTP/AVP");
  expect (avp, HD_SDP_ERROR_INSECURE_PROFILE);
  /* two different certificates in one answer */
  g_autofree char *differ = g_strdup (good);
  char *second = strstr (strstr (differ, "m=video"), "6B:8B");
  second[0] = '7';
  expect (differ, HD_SDP_ERROR_FINGERPRINTS_DIFFER);
  /* malformed fingerprints and garbage */
  g_autofree char *badfp = edit (FP, "sha-256 not-hex");
  expect (badfp, HD_SDP_ERROR_NO_FINGERPRINT);
  g_autofree char *md5 = edit ("sha-256 6B", "md5 6B");
  expect (md5, HD_SDP_ERROR_NO_FINGERPRINT);
  expect ("hello", HD_SDP_ERROR_INVALID);
  expect ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", HD_SDP_ERROR_INVALID);
  HdSdpFingerprint fp;
  g_assert_false (hd_sdp_check ("v=0\0m=audio", 11, &fp, NULL));
  /* a rejected (port 0) section needs no fingerprint */
  g_autofree char *rejected = g_strconcat (good, "m=application 0 RTP/AVP 0\r\n", NULL);
  expect (rejected, -1);
}

static void
test_public_address (void)
{
  g_autofree char *c = hd_candidate_with_address (
      "candidate:1 1 UDP 2015363327 10.0.0.5 41002 typ host", "203.0.113.7");
  g_assert_cmpstr (c, ==, "candidate:1n 1 UDP 2015363326 203.0.113.7 41002 typ host");
  g_autofree char *tcp = hd_candidate_with_address (
      "candidate:2 1 TCP 1015021823 10.0.0.5 9 typ host tcptype active", "203.0.113.7");
  g_assert_cmpstr (tcp, ==, "candidate:2n 1 TCP 1015021822 203.0.113.7 9 typ host tcptype active");
  g_assert_null (hd_candidate_with_address (
      "candidate:3 1 UDP 1677729535 198.51.100.1 50000 typ srflx raddr 10.0.0.5 rport 41002",
      "203.0.113.7"));
  g_assert_null (hd_candidate_with_address ("garbage", "203.0.113.7"));
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sdp/checks", test_sdp);
  g_test_add_func ("/sdp/public-address-candidate", test_public_address);
  return g_test_run ();
}
