/* mixer.h — one hearing's media: a GstPipeline with one webrtcbin per participant (the daemon
 * offers), a compositor whose single VP8 encode goes to everyone, and a mix-minus audiomixer
 * per participant (everyone but themselves). A participant's media is mixed only after their
 * DTLS certificate matched the fingerprint of their SDP. Functions: main thread. Callbacks:
 * always on the main context. */
#pragma once

#include "codecs/sdp.h"

#include <glib.h>

G_BEGIN_DECLS

#define HD_MIXER_ERROR (hd_mixer_error_quark ())
GQuark hd_mixer_error_quark (void);

typedef enum {
  HD_MIXER_ERROR_FAILED,    /* media_failed: the pipeline refused */
  HD_MIXER_ERROR_NO_PEER,   /* no_offer: no such participant / no offer pending */
  HD_MIXER_ERROR_BAD_INPUT, /* sdp_invalid / bad_field: webrtcbin refused the description */
} HdMixerError;

typedef enum {
  HD_PEER_CONNECTED, /* ICE connected */
  HD_PEER_FAILED,    /* ICE failed, or the certificate did not match: cut off */
} HdPeerState;

/* A participant's link, as the daemon measures it (RTCP and what it receives). */
typedef struct {
  const char *pid;
  double loss_pct; /* packets of theirs lost, % over the last interval */
  double rtt_ms;   /* round trip to them from RTCP; -1 not known yet */
  double kbps;     /* what they send us, kbit/s over the last interval */
} HdPeerQuality;

/* How the composite is laid out. */
typedef enum {
  HD_LAYOUT_GRID,    /* everyone alike, in join order */
  HD_LAYOUT_SPEAKER, /* whoever speaks large, the others in a strip below */
  HD_LAYOUT_PINNED,  /* one chosen participant large, the others in a strip below */
} HdLayout;

/* "grid", "speaker", "pinned"; and back (-1 if unknown). */
const char *hd_layout_name (HdLayout layout);
int hd_layout_parse (const char *name);

typedef struct {
  void (*on_local_sdp) (const char *pid, const char *sdp, gpointer user);
  void (*on_local_candidate) (const char *pid, const char *candidate, int mline, gpointer user);
  void (*on_state) (const char *pid, HdPeerState state, const char *detail, gpointer user);
  /* The active speaker changed (NULL: nobody speaks). Optional. */
  void (*on_speaker) (const char *pid, gpointer user);
  /* A recording segment is closed: `file` is relative to the recording folder; `start_ms` its
   * offset from the recording's start, on the timebase all tracks share. Optional. */
  void (*on_segment) (const char *track, const char *file, gint64 start_ms, gint64 duration_ms,
                      gpointer user);
  /* hd_mixer_record_stop() has finished: every track's last segment was reported. Optional. */
  void (*on_recording_stopped) (gpointer user);
  /* A track could not be written (disk full, I/O error): it has stopped taking media (nobody
   * else is held up by it); the caller decides what happens to the recording. Optional. */
  void (*on_recording_failed) (const char *track, const char *reason, gpointer user);
  /* Every 2 s: each connected participant's link. Optional. */
  void (*on_quality) (const HdPeerQuality *q, guint n, gpointer user);
} HdMixerCallbacks;

typedef struct {
  int latency_ms;             /* jitter buffer */
  int mix_latency_ms;         /* the mix-minus's wait for late sound */
  const char *stun_server;    /* stun://host:port or NULL */
  int width, height, fps;     /* composite */
  int video_bitrate;          /* bits/s */
  const char *video_codec;    /* "vp8" (default) or "h264": the composite's codec */
  int port_min, port_max;     /* UDP ports for ICE (0, 0: any) */
  const char *public_address; /* IPv4 to advertise besides host candidates (1:1 NAT), or NULL */
  const char *const *local_addresses; /* gather only on these IPv4 addresses; NULL: all */
  gboolean nack;                      /* picture packets resent on request (NACK, RTX) */
  int track_queue_kb; /* a recording track's queue, while the storage stalls (0: 32 MiB) */
} HdMixerConfig;

/* `candidate` ("candidate:… ADDRESS PORT typ host …") with its address replaced by `address`,
 * its foundation made distinct and its priority one lower; NULL if it is not a host candidate.
 * Caller frees. */
char *hd_candidate_with_address (const char *candidate, const char *address);

typedef struct HdMixer HdMixer;

/* Build and start the hearing's pipeline. `caption` (the case number) is burnt into the
 * composite with a wall-clock time. Caller owns. */
HdMixer *hd_mixer_new (const char *hearing_id, const char *caption, const HdMixerConfig *cfg,
                       const HdMixerCallbacks *cb, gpointer user, GError **error);
void hd_mixer_free (HdMixer *mixer);
/* TURN relay for the peers added from now on: turn(s)://USER:PASS@HOST:PORT (escaped), or NULL.
 * (Time-limited TURN REST credentials are renewed by calling this before each add.) */
void hd_mixer_set_turn_server (HdMixer *mixer, const char *uri);

/* Add a participant: creates their webrtcbin and starts the offer (on_local_sdp). */
/* `sends`: the participant's picture and sound are mixed (FALSE for observers, who only
 * receive). */
gboolean hd_mixer_add_peer (HdMixer *mixer, const char *pid, const char *label, gboolean sends,
                            GError **error);
/* The participant's answer, already checked by hd_sdp_check (its fingerprint in `fp`). */
gboolean hd_mixer_set_answer (HdMixer *mixer, const char *pid, const char *sdp,
                              const HdSdpFingerprint *fp, GError **error);
gboolean hd_mixer_add_candidate (HdMixer *mixer, const char *pid, const char *candidate, int mline,
                                 GError **error);
/* Mute is enforced in the mix: a muted participant's sound reaches nobody. */
void hd_mixer_set_muted (HdMixer *mixer, const char *pid, gboolean audio, gboolean video);
void hd_mixer_remove_peer (HdMixer *mixer, const char *pid);
/* Record into `dir` (created) in segments of `segment_ms`: the track "composite" (the
 * composite as sent, not re-encoded, with everyone's sound mixed). Segments are reported with
 * on_segment as they close. Participants who join later are in the mix from when their sound
 * arrives. */
gboolean hd_mixer_record_start (HdMixer *mixer, const char *dir, int segment_ms, GError **error);
/* Finish the open segments (reported) and stop; on_recording_stopped follows. */
void hd_mixer_record_stop (HdMixer *mixer);
gboolean hd_mixer_recording (HdMixer *mixer);
/* Stopped but still finishing its last segments (on_recording_stopped has not come yet). */
gboolean hd_mixer_record_stopping (HdMixer *mixer);
/* Milliseconds since the recording started, on its timebase (0 when not recording). */
gint64 hd_mixer_record_offset_ms (HdMixer *mixer);
/* Lay the composite out. `pinned`: the participant shown large in HD_LAYOUT_PINNED (ignored
 * otherwise); if they are not (or no longer) in the picture, the grid is shown. */
void hd_mixer_set_layout (HdMixer *mixer, HdLayout layout, const char *pinned);
guint hd_mixer_peer_count (HdMixer *mixer);

G_END_DECLS
