/* engine.h — the media engine: GStreamer initialisation, the check that every plugin the
 * media path needs is present, and the DTLS warm-up (the first DTLS set-up in a process costs
 * 110–550 ms; paying it at start-up keeps it off the first join). Main thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char **missing;          /* element factories not found (NULL-terminated; owned) */
  double dtls_warmup_ms;   /* time the warm-up took; < 0 if dtlsdec is missing */
} HdEngineReport;

/* Initialise GStreamer and check the plugins the media path needs (with `video_codec` "h264",
 * OpenH264 and the H.264 RTP elements too). Returns FALSE only if
 * GStreamer itself cannot start. */
gboolean hd_engine_init (const char *video_codec, HdEngineReport *report, GError **error);
void hd_engine_report_clear (HdEngineReport *report);
/* Settings every webrtcbin of ours gets, the daemon's and the test client's alike: libnice's
 * UPnP router search (SSDP multicast to 239.255.255.250:1900) switched off. Any thread. */
void hd_engine_webrtcbin_defaults (gpointer webrtcbin);

/* The element factories the media path needs. Static. */
const char *const *hd_engine_required_elements (void);

G_END_DECLS
