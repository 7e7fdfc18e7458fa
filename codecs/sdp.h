/* sdp.h — checks on a peer's SDP before it reaches webrtcbin, with GstSDP. hearingd only speaks
 * DTLS-SRTP: every media section must use UDP/TLS/RTP/SAVPF (or SAVP), carry a DTLS fingerprint
 * (at media or session level), and no SDES a=crypto key. The fingerprint is returned so the
 * daemon can check the peer's DTLS certificate against it (webrtcbin 1.22 does not).
 * Pure functions; any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HD_SDP_ERROR (hd_sdp_error_quark ())
GQuark hd_sdp_error_quark (void);

typedef enum {
  HD_SDP_ERROR_INVALID,          /* sdp_invalid: GstSDP cannot parse it, or no media */
  HD_SDP_ERROR_NO_FINGERPRINT,   /* sdp_no_fingerprint */
  HD_SDP_ERROR_CRYPTO,           /* sdp_crypto_forbidden: SDES keys (a=crypto) */
  HD_SDP_ERROR_INSECURE_PROFILE, /* sdp_insecure_profile: RTP/AVP, RTP/AVPF, … */
  HD_SDP_ERROR_FINGERPRINTS_DIFFER, /* sdp_fingerprint_mismatch: sections disagree */
} HdSdpError;

/* The protocol error code of an HD_SDP_ERROR; static. */
const char *hd_sdp_error_code (int code);

typedef struct {
  char *hash;   /* lowercase hash function name, e.g. "sha-256" */
  char *value;  /* uppercase hex with colons, as in the SDP */
} HdSdpFingerprint;

void hd_sdp_fingerprint_clear (HdSdpFingerprint *fp);

/* Check `sdp` (`len` bytes). On success fills `fp` (caller clears) with the one fingerprint
 * all media sections share. */
gboolean hd_sdp_check (const char *sdp, gsize len, HdSdpFingerprint *fp, GError **error);

G_END_DECLS
