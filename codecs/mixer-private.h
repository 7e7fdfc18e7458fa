/* mixer-private.h — the hearing pipeline's insides, shared by mixer.c and recorder.c only. */
#pragma once
#include "codecs/mixer.h"
#include "codecs/overlay.h"

#include <gst/gst.h>

G_BEGIN_DECLS

#define PT_VP8 96
#define PT_H264 102

typedef struct Peer Peer;

/* One mix-minus feed: source peer's decoded audio (its tee) → destination peer's audiomixer. */
typedef struct {
  Peer *from, *to;  /* `to` NULL: the recording's full mix */
  GstElement *amix; /* the audiomixer fed */
  GstPad *tee_pad, *mix_pad;
} Feed;

struct Peer {
  struct HdMixer *mixer;
  char *pid, *label;
  GstElement *webrtc;
  GstElement *amix;   /* this peer's mix-minus */
  GstElement *atee;   /* this peer's decoded sound, once it arrives */
  GstElement *avol;   /* mute: volume 0 */
  GstElement *vqueue; /* composite → this peer */
  GstPad *vtee_pad;
  GstPad *comp_pad; /* this peer's tile */
  GstPad *pic_pad;  /* what feeds the tile: its caps are the picture's size */
  HdStamp *stamp;   /* their label, drawn for the picture's size (stamp_px, stamp_room) */
  int stamp_px, stamp_room, label_x, label_y, label_w;
  GstElement *adepay_tee, *vdepay_tee; /* their media as received (decoded + recorded) */
  gboolean video_h264;                 /* they send H.264 (else VP8) */
  GstElement *alevel;  /* loudness of this peer's (post-mute) sound, for the active speaker */
  double level_db;     /* its last reading */
  GPtrArray *elements; /* everything of this peer's in the pipeline */
  char *fp_hash, *fp_value;
  gboolean verified, rejected, audio_muted, video_muted;
  gboolean sends; /* FALSE: an observer, never in the picture or the sound */
  /* connected (ICE and DTLS): webrtcbin takes its mix (until then it holds it, and a feed into
   * it would hold up the sender's sound for everyone): the others' sound goes into it */
  gboolean connected;
  guint seq;      /* join order: tiles keep their places as others come and go */
  /* link quality, from webrtcbin's statistics (under the lock) */
  guint64 stats_bytes, stats_received, stats_lost;
  gint64 stats_at;
  double loss_pct, rtt_ms, kbps;
  gboolean have_quality;
  /* webrtcbin's statistics being gathered (a reference, under the lock): the peer is not taken
   * down until they are (wait_for_stats) */
  GstPromise *stats_pending;
};

struct HdMixer {
  gint refs;
  gboolean closed;
  GMutex lock;
  GMainContext *main;
  /* hand-offs to the main context not dispatched yet (GSource*, each holding a mixer
   * reference): hd_mixer_free destroys them, so none outlives the mixer's owner (shutdown) */
  GMutex calls_lock;
  GPtrArray *calls;
  char *hid;
  HdMixerConfig cfg;
  char *stun;
  char *turn;
  char **local_addresses;
  char *public_address;
  HdMixerCallbacks cb;
  gpointer user;
  GstElement *pipeline, *comp;
  HdOverlay *overlay;          /* the composite's text */
  GstVideoInfo composite_info; /* its frames */
  GstElement *etee; /* the composite as encoded, before RTP: recorded */
  GstElement *vtee; /* the composite in RTP: to every peer */
  GHashTable *peers; /* pid -> Peer* */
  GPtrArray *feeds;  /* Feed* */
  guint next_seq;
  gboolean h264; /* the composite is H.264 (else VP8) */
  HdLayout layout;
  char *pinned;    /* pid shown large in HD_LAYOUT_PINNED */
  char *speaker;   /* pid of the active speaker, or NULL */
  char *candidate; /* who is about to become it */
  int candidate_hits;
  struct HdRecorder *rec; /* while recording */
  guint reap_source;      /* closing tracks are removed by this timeout */
  GPtrArray *spent;       /* finished recording tracks, freed with the pipeline */
  guint rec_runs;         /* recording runs so far (pause/resume) */
  gint fullmix_failed;    /* atomic: the composite track failed; its full mix takes nothing */
  guint quality_timer;    /* every 2 s: statistics asked for, the last ones reported */
};

/* An element of `p`'s (or, for NULL, the hearing's own, not yet added) with properties set. */
GstElement *hd_mixer_make (Peer *p, const char *factory, const char *first_prop, ...);
/* Ask the one composite encoder for a keyframe now. */
void hd_mixer_force_keyframe (HdMixer *m);
/* Link `from`'s decoded sound into `amix` (`to`'s mix-minus, or the recording's full mix for
 * `to` NULL). Under lock. */
void hd_mixer_feed_add (HdMixer *m, Peer *from, Peer *to, GstElement *amix);
void hd_mixer_feed_remove (HdMixer *m, Feed *f);

/* The recorder's hooks (recorder.c); all under the mixer's lock except on_message. */
void hd_recorder_peer_sound (HdMixer *m, Peer *p);   /* their sound is depayloaded and decoded */
void hd_recorder_peer_picture (HdMixer *m, Peer *p); /* their picture is depayloaded */
void hd_recorder_peer_removed (HdMixer *m, Peer *p);
gboolean hd_recorder_on_message (HdMixer *m, GstMessage *msg); /* main thread */
void hd_recorder_on_sync_error (HdMixer *m, GstMessage *msg);  /* any thread, no lock */
/* A pad probe on a feed into the recording's full mix (data: the mixer). */
GstPadProbeReturn hd_recorder_fullmix_firewall (GstPad *pad, GstPadProbeInfo *info, gpointer m);
void hd_recorder_free (HdMixer *m);

G_END_DECLS
