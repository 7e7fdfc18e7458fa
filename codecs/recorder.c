/* recorder.c — recording a hearing's pipeline in segments (see mixer.h, hd_mixer_record_*):
 *  - "composite": the composite exactly as sent (the one encode, tapped before its payloader)
 *    with the full mix of everyone's sound (Opus);
 *  - "<pid>-audio", "<pid>-video": each participant's own media exactly as received (tapped
 *    after their depayloader, Peer.adepay_tee / vdepay_tee), never re-encoded.
 * Each track is a splitmuxsink (WebM; Matroska for H.264) cutting a file every segment_ms.
 * splitmuxsink's own keyframe requests do not work with RTP sources (DESIGN.md): a timer asks
 * the composite encoder and every participant (RTCP PLI, upstream force-key-unit) for a
 * keyframe twice a segment. All tracks share the pipeline's running time; a segment's
 * start is its first buffer's running time less the recording's start. Closed segments are
 * reported on the main thread (on_segment), for the daemon to fsync, hash and chain. */
#define G_LOG_DOMAIN "hd-media"

#include "codecs/mixer-private.h"

#include <gst/video/video.h>
#include <string.h>

/* A track's queue holds what splitmuxsink has not taken yet (it holds a GOP back while it
 * waits for the keyframe that ends a segment, and all that comes while the storage stalls): by
 * size ([archive] track_queue_kb), never by time. When it is full, the track has failed (see
 * on_overrun): it never holds up the participants' media. */
#define TRACK_QUEUE_KB_DEFAULT (32u << 10)

typedef struct {
  char *name; /* "composite", "<pid>-audio", "<pid>-video" */
  Peer *peer; /* NULL: the composite */
  gboolean video;
  GstElement *tee; /* where it taps the pipeline */
  GstPad *tee_pad;
  GPtrArray *elements; /* its own: queue, depayloader…, splitmuxsink */
  GstElement *sink;
  GstClockTime opened; /* running time the open fragment started at */
  gboolean closing;
  GstElement *silence; /* the composite's: the full mix's live silence, ended on close */
  char *dir;           /* the recording's folder, and the run's start: for late reports */
  GstClockTime base;
  GstClockTime last_ts; /* the gate: the last timestamp let through */
  gint early;           /* atomic: buffers the gate dropped as from before the start */
  gboolean keyframe_seen;
  gint failed; /* atomic: its writing failed; the tee's data for it is dropped from then on */
  gint overran;       /* atomic: its queue filled up (the storage took nothing for that long) */
  gboolean composite; /* set once at creation: read from any thread (peer is not) */
  gboolean failure_reported;
} Track;

/* Each element of a track knows it (for an error raised deep inside its splitmuxsink). */
static GQuark
track_quark (void)
{
  static GQuark q;
  if (!q)
    q = g_quark_from_static_string ("hd-recorder-track");
  return q;
}

typedef struct HdRecorder {
  char *dir;
  guint segment_ms;
  GPtrArray *tracks;   /* Track* */
  GstElement *fullmix; /* everyone's sound, for the composite track */
  GPtrArray *mix_elements;
  GstClockTime base;  /* running time the recording started at */
  guint run;          /* this run's number in the hearing (after pauses): in file names */
  GHashTable *opened; /* track name -> times opened in this run (a participant who rejoins) */
  guint timer;
  gboolean stopping; /* tracks are finishing their last fragments */
} HdRecorder;

static GstClockTime
running_time (HdMixer *m)
{
  GstClock *clock = gst_element_get_clock (m->pipeline);
  if (!clock)
    return 0;
  GstClockTime now = gst_clock_get_time (clock) - gst_element_get_base_time (m->pipeline);
  gst_object_unref (clock);
  return now;
}

static GstElement *
add (Track *t, HdMixer *m, GstElement *e)
{
  /* named "rec…": their streaming threads say so (bench/bench-recording counts their CPU) */
  static gint counter;
  g_autofree char *name = g_strdup_printf ("rec%d", g_atomic_int_add (&counter, 1));
  gst_object_set_name (GST_OBJECT (e), name);
  g_object_set_qdata (G_OBJECT (e), track_quark (), t);
  gst_bin_add (GST_BIN (m->pipeline), e);
  g_ptr_array_add (t->elements, gst_object_ref (e));
  return e;
}

/* Where a track's files go: <folder>/<prefix>NNNNN.<ext>. */
typedef struct {
  char *folder, *prefix;
  const char *ext;
} Location;

static void
location_free (gpointer data, GClosure *closure)
{
  Location *l = data;
  g_free (l->folder);
  g_free (l->prefix);
  g_free (l);
}

/* splitmuxsink's next file name, on its streaming thread, where making the track's folder may
 * wait for the storage as the writing does: not on the main thread, which serves everyone's
 * signaling (a participant joining while the archive's storage stalls). */
static gchar *
next_location (GstElement *sink, guint fragment, gpointer data)
{
  Location *l = data;
  g_mkdir_with_parents (l->folder, 0750); /* a failure shows as the file's */
  return g_strdup_printf ("%s/%s%05u.%s", l->folder, l->prefix, fragment, l->ext);
}

/* A splitmuxsink writing <dir>/<track>/<run>-<part>-NNNNN.webm: every run of the recording (it
 * pauses and resumes), and every time a track starts again within a run (a participant who
 * leaves and rejoins), writes files of its own, never over another's. */
static GstElement *
make_sink (HdRecorder *r, const char *track, gboolean h264)
{
  Location *l = g_new0 (Location, 1);
  l->folder = g_build_filename (r->dir, track, NULL);
  guint part = GPOINTER_TO_UINT (g_hash_table_lookup (r->opened, track));
  g_hash_table_replace (r->opened, g_strdup (track), GUINT_TO_POINTER (part + 1));
  l->prefix = g_strdup_printf ("%02u-%02u-", r->run, part);
  l->ext = h264 ? "mkv" : "webm";
  /* unbuffered: what the muxer has written is in the kernel, and survives a SIGKILL */
  GstElement *file = hd_mixer_make (NULL, "filesink", "buffer-mode", 2 /* unbuffered */, NULL);
  GstElement *sink = hd_mixer_make (NULL, "splitmuxsink", "max-size-time",
                                    (guint64)r->segment_ms * GST_MSECOND, "send-keyframe-requests",
                                    FALSE, "muxer-factory", h264 ? "matroskamux" : "webmmux",
                                    "async-finalize", FALSE, "sink", file, NULL);
  g_signal_connect_data (sink, "format-location", G_CALLBACK (next_location), l, location_free, 0);
  return sink;
}

/* The gate before a track's splitmuxsink, which stops for good ("Timestamping error on input
 * streams") at a buffer without a timestamp, one before its segment's start, or one whose
 * timestamp goes backwards; what comes out of a jitter buffer has each now and then (a late
 * packet, a resync). Such a buffer cannot be placed on the timebase anyway: it is dropped. A
 * missing DTS is the PTS. A video track starts at a keyframe: a file that begins with
 * differences from a picture it does not hold decodes as nothing.
 * Nothing from before the recording started (or resumed) is let into a participant's track
 * (before_start, also on the full mix): a chain that lagged behind (a participant's sound held
 * up behind a busy machine) would otherwise hand a new track what was said during a recess or
 * off the record, and the track would last longer than the session. The composite's picture is
 * the daemon's own, drawn for its time; its first keyframe, asked for at the start, carries the
 * compositor's output time, up to its latency and a frame earlier, so it is not held to this. */
#define BEFORE_START_SLACK_MS 100

static gboolean
before_start (Track *t, GstClockTime rt)
{
  if (rt + BEFORE_START_SLACK_MS * GST_MSECOND >= t->base)
    return FALSE;
  g_atomic_int_inc (&t->early);
  return TRUE;
}

static GstClockTime
buffer_running_time (GstPad *pad, GstClockTime ts)
{
  GstClockTime rt = GST_CLOCK_TIME_NONE;
  GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (ev) {
    const GstSegment *seg = NULL;
    gst_event_parse_segment (ev, &seg);
    if (seg->format == GST_FORMAT_TIME)
      rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME, ts);
    gst_event_unref (ev);
  }
  return rt;
}

static GstPadProbeReturn
gate (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Track *t = data;
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
  if (!GST_BUFFER_PTS_IS_VALID (b))
    return GST_PAD_PROBE_DROP;
  GstClockTime ts = GST_BUFFER_DTS_IS_VALID (b) ? GST_BUFFER_DTS (b) : GST_BUFFER_PTS (b);
  GstClockTime rt = buffer_running_time (pad, ts);
  if (!GST_CLOCK_TIME_IS_VALID (rt) || (GST_CLOCK_TIME_IS_VALID (t->last_ts) && ts < t->last_ts)
      || (!t->composite && before_start (t, rt)))
    return GST_PAD_PROBE_DROP;
  if (t->video && !t->keyframe_seen) {
    if (GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_DELTA_UNIT))
      return GST_PAD_PROBE_DROP;
    t->keyframe_seen = TRUE;
  }
  t->last_ts = ts;
  if (!GST_BUFFER_DTS_IS_VALID (b)) {
    b = gst_buffer_make_writable (b);
    GST_BUFFER_DTS (b) = GST_BUFFER_PTS (b);
    GST_PAD_PROBE_INFO_DATA (info) = b;
  }
  return GST_PAD_PROBE_OK;
}

/* The firewall between a track and the hearing: once the track failed (its file could not be
 * written), what the tee has for it is dropped here, so that its error never travels upstream
 * into the encoder, the mixers or a participant's decoder. */
static GstPadProbeReturn
firewall (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Track *t = data;
  return g_atomic_int_get (&t->failed) ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

/* The track an object belongs to (it, or an element it is inside), or NULL. */
static Track *
track_of (GstObject *o)
{
  Track *t = NULL;
  gst_object_ref (o);
  while (o && !t) {
    t = g_object_get_qdata (G_OBJECT (o), track_quark ());
    GstObject *parent = gst_object_get_parent (o);
    gst_object_unref (o);
    o = parent;
  }
  if (o)
    gst_object_unref (o);
  return t;
}

void
hd_recorder_on_sync_error (HdMixer *m, GstMessage *msg)
{
  Track *t = track_of (GST_MESSAGE_SRC (msg));
  if (t)
    g_atomic_int_set (&t->failed, 1);
  if (t && t->composite) /* the composite: the full mix it records goes down with it */
    g_atomic_int_set (&m->fullmix_failed, 1);
}

GstPadProbeReturn
hd_recorder_fullmix_firewall (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  HdMixer *m = data;
  return g_atomic_int_get (&m->fullmix_failed) ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

/* The full mix as it leaves its encoder: a new mixer starts at its first input's time, which may
 * be a lagging participant's sound from before the start (see gate). */
static GstPadProbeReturn
fullmix_gate (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
  GstClockTime rt = buffer_running_time (pad, GST_BUFFER_PTS (b));
  return GST_CLOCK_TIME_IS_VALID (rt) && before_start (data, rt) ? GST_PAD_PROBE_DROP
                                                                 : GST_PAD_PROBE_OK;
}

/* A track's queue is full: the storage has taken nothing for as long as it holds (a network
 * share that stopped answering). Waiting for room would hold up whatever feeds it — for the
 * composite, the encoder of the picture everyone sees, and the full mix everyone's sound goes
 * into. So the track fails here, as on a write error: what comes is dropped from now on (the
 * queue leaks new buffers; the firewall drops them at the tee), what waits in the queue is
 * written when the storage answers, and the error goes to the main thread (on_error), which
 * writes the failure down, tells the judge and clerk, and pauses the recording until it can go
 * on. On the pushing thread, with the queue's lock released. */
static void
on_overrun (GstElement *queue, gpointer data)
{
  Track *t = data;
  g_object_set (queue, "leaky", 1 /* upstream: the newest is dropped */, NULL);
  if (!g_atomic_int_compare_and_exchange (&t->overran, 0, 1))
    return;
  guint bytes = 0;
  g_object_get (queue, "max-size-bytes", &bytes, NULL);
  GError *e
      = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE,
                     "the storage took nothing while %u KiB of it waited (it stalls)", bytes >> 10);
  /* the sync handler marks the track failed at once, in this thread (hd_recorder_on_sync_error) */
  gst_element_post_message (queue, gst_message_new_error (GST_OBJECT (queue), e, "queue full"));
  g_error_free (e);
}

/* A track's queue (see TRACK_QUEUE_KB_DEFAULT), one of its elements. */
static GstElement *
track_queue (Track *t, HdMixer *m)
{
  /* at most 1 GiB (the config's bound): in bytes it fits the queue's guint (4 GiB wrapped to 0,
   * which the queue takes as no limit at all) */
  guint kb = m->cfg.track_queue_kb > 0 ? (guint)m->cfg.track_queue_kb : TRACK_QUEUE_KB_DEFAULT;
  GstElement *q = add (t, m,
                       hd_mixer_make (NULL, "queue", "max-size-time", (guint64)0,
                                      "max-size-buffers", 0, "max-size-bytes", kb << 10, NULL));
  g_signal_connect (q, "overrun", G_CALLBACK (on_overrun), t);
  return q;
}

/* Link `src` (a new tee pad) into the track's first element; start downstream first. */
static void
attach (Track *t, GstElement *first)
{
  GstPad *qsrc = gst_element_get_static_pad (first, "src");
  gst_pad_add_probe (qsrc, GST_PAD_PROBE_TYPE_BUFFER, gate, t, NULL);
  gst_object_unref (qsrc);
  for (guint i = t->elements->len; i-- > 0;)
    gst_element_sync_state_with_parent (t->elements->pdata[i]);
  GstPad *sinkpad = gst_element_get_static_pad (first, "sink");
  t->tee_pad = gst_element_request_pad_simple (t->tee, "src_%u");
  gst_pad_add_probe (t->tee_pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     firewall, t, NULL);
  gst_pad_link (t->tee_pad, sinkpad);
  gst_object_unref (sinkpad);
}

static Track *
track_new (HdRecorder *r, const char *name, Peer *peer, gboolean video, GstElement *tee)
{
  Track *t = g_new0 (Track, 1);
  t->dir = g_strdup (r->dir);
  t->base = r->base;
  t->name = g_strdup (name);
  t->peer = peer;
  t->composite = peer == NULL;
  t->video = video;
  t->tee = tee;
  t->elements = g_ptr_array_new_with_free_func (gst_object_unref);
  t->opened = GST_CLOCK_TIME_NONE;
  t->last_ts = GST_CLOCK_TIME_NONE;
  return t;
}

/* A closing track's last fragment closes within milliseconds of its EOS (a video track may
 * first close the one before it, waiting for a keyframe): its fragments are reported as they
 * close, and the track goes after CLOSE_GRACE_MS. Then, if it was the last, the recorder. */
#define CLOSE_GRACE_MS 1500
static gboolean reap (gpointer data);

/* Stop a track: no more data from the tee, EOS into it so that its open fragment is finished
 * (reported closed like any other); its elements go when the fragment-closed message comes. */
static void
close_track (HdMixer *m, Track *t)
{
  if (t->closing)
    return;
  t->closing = TRUE;
  if (g_atomic_int_get (&t->early))
    GST_INFO ("track %s: %d buffers from before the recording's start left out", t->name,
              g_atomic_int_get (&t->early));
  GstPad *first = gst_element_get_static_pad (t->elements->pdata[0], "sink");
  gst_pad_unlink (t->tee_pad, first);
  gst_element_release_request_pad (t->tee, t->tee_pad);
  g_clear_object (&t->tee_pad);
  /* the track's queue is bounded by size only: EOS does not wait, even when it is full */
  gst_pad_send_event (first, gst_event_new_eos ());
  gst_object_unref (first);
  if (t->silence) /* the full mix ends too */
    gst_element_send_event (t->silence, gst_event_new_eos ());
  /* one reap for all the tracks closing now, CLOSE_GRACE_MS after the last of them */
  if (m->reap_source)
    g_source_remove (m->reap_source);
  m->reap_source = g_timeout_add (CLOSE_GRACE_MS, reap, m);
}

static void
track_free (HdMixer *m, Track *t)
{
  for (guint i = 0; i < t->elements->len; i++)
    gst_element_set_state (t->elements->pdata[i], GST_STATE_NULL);
  for (guint i = 0; i < t->elements->len; i++)
    gst_bin_remove (GST_BIN (m->pipeline), t->elements->pdata[i]);
  g_ptr_array_unref (t->elements);
  if (t->tee_pad) {
    gst_element_release_request_pad (t->tee, t->tee_pad);
    gst_object_unref (t->tee_pad);
  }
  g_free (t->name);
  g_free (t->dir);
  g_free (t);
}

/* Keyframes twice a segment: the one encoder, and every participant (PLI). */
static gboolean
keyframe_tick (gpointer data)
{
  HdMixer *m = data;
  hd_mixer_force_keyframe (m);
  g_mutex_lock (&m->lock);
  for (guint i = 0; m->rec && i < m->rec->tracks->len; i++) {
    Track *t = m->rec->tracks->pdata[i];
    if (t->video && t->peer && !t->closing) {
      GstPad *sinkpad = gst_element_get_static_pad (t->elements->pdata[0], "sink");
      gst_pad_push_event (
          sinkpad, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
      gst_object_unref (sinkpad);
    }
  }
  g_mutex_unlock (&m->lock);
  return G_SOURCE_CONTINUE;
}

/* Under lock: record `p`'s sound or picture as received, from its depayloader's tee on. */
static void
peer_track (HdMixer *m, Peer *p, gboolean video)
{
  HdRecorder *r = m->rec;
  GstElement *tee = video ? p->vdepay_tee : p->adepay_tee;
  if (!r || r->stopping || !tee || p->rejected)
    return;
  for (guint i = 0; i < r->tracks->len; i++) {
    Track *t = r->tracks->pdata[i];
    if (t->peer == p && t->video == video && !t->closing)
      return;
  }
  g_autofree char *name = g_strdup_printf ("%s-%s", p->pid, video ? "video" : "audio");
  Track *t = track_new (r, name, p, video, tee);
  GstElement *q = track_queue (t, m);
  GstElement *last = q;
  gboolean h264 = video && p->video_h264;
  if (h264) { /* whole access units, with the stream's headers, for Matroska */
    last = add (t, m, hd_mixer_make (NULL, "h264parse", NULL));
    gst_element_link (q, last);
  }
  t->sink = add (t, m, make_sink (r, name, h264));
  gst_element_link_pads (last, "src", t->sink, video ? "video" : "audio_%u");
  attach (t, q);
  g_ptr_array_add (r->tracks, t);
  if (video) /* its first segment starts at a keyframe: ask for one now */
    gst_element_send_event (
        q, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}

gboolean
hd_mixer_record_start (HdMixer *m, const char *dir, int segment_ms, GError **error)
{
  g_mutex_lock (&m->lock);
  if (m->rec) {
    g_mutex_unlock (&m->lock);
    return TRUE;
  }
  if (g_mkdir_with_parents (dir, 0750) != 0) {
    g_mutex_unlock (&m->lock);
    g_set_error (error, HD_MIXER_ERROR, HD_MIXER_ERROR_FAILED, "cannot create %s", dir);
    return FALSE;
  }
  HdRecorder *r = g_new0 (HdRecorder, 1);
  r->dir = g_strdup (dir);
  r->segment_ms = (guint)MAX (segment_ms, 500);
  r->tracks = g_ptr_array_new ();
  r->opened = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  r->mix_elements = g_ptr_array_new_with_free_func (gst_object_unref);
  r->base = running_time (m);
  r->run = m->rec_runs++;
  g_atomic_int_set (&m->fullmix_failed, 0);
  m->rec = r;

  /* the composite as sent, and everyone's sound mixed (a live silence keeps it running) */
  Track *t = track_new (r, "composite", NULL, TRUE, m->etee);
  GstElement *q = track_queue (t, m);
  /* H.264: the encoder's parser hands the payloader either stream format; Matroska wants avc */
  GstElement *parse = m->h264 ? add (t, m, hd_mixer_make (NULL, "h264parse", NULL)) : NULL;
  t->sink = add (t, m, make_sink (r, "composite", m->h264));
  if (parse)
    gst_element_link (q, parse);
  gst_element_link_pads (parse ? parse : q, "src", t->sink, "video");
  GstElement *a[] = {
    add (t, m,
         hd_mixer_make (NULL, "audiotestsrc", "wave", 4 /* silence */, "is-live", TRUE, NULL)),
    add (t, m,
         hd_mixer_make (NULL, "audiomixer", "start-time-selection", 1 /* first */, "latency",
                        (guint64)40 * GST_MSECOND, NULL)),
    add (t, m, hd_mixer_make (NULL, "audioconvert", NULL)),
    /* 60 ms frames: nobody listens to the record live, and each frame is a buffer that
     * crosses two threads and splitmuxsink's bookkeeping (20 ms frames: three times as many) */
    add (t, m, hd_mixer_make (NULL, "opusenc", "bitrate", 64000, "frame-size", 60, NULL)),
    /* like every track's: when the storage stalls (a write that waits), splitmuxsink stops
     * taking; without this queue the full mix stopped at once, its feeds filled up, and every
     * participant's sound stopped for everyone (/media/storage-that-stalls) */
    track_queue (t, m),
  };
  for (gsize i = 0; i + 1 < G_N_ELEMENTS (a); i++)
    gst_element_link (a[i], a[i + 1]);
  gst_element_link_pads (a[4], "src", t->sink, "audio_%u");
  GstPad *mixed = gst_element_get_static_pad (a[3], "src");
  gst_pad_add_probe (mixed, GST_PAD_PROBE_TYPE_BUFFER, fullmix_gate, t, NULL);
  gst_object_unref (mixed);
  r->fullmix = a[1];
  t->silence = a[0];
  attach (t, q);
  g_ptr_array_add (r->tracks, t);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, m->peers);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    Peer *p = v;
    if (p->atee)
      hd_mixer_feed_add (m, p, NULL, r->fullmix);
    peer_track (m, p, FALSE);
    peer_track (m, p, TRUE);
  }
  /* Keyframes twice a segment: splitmuxsink holds back the picture since the last keyframe (it
   * decides where a segment ends only when the next one comes), so what a SIGKILL loses is at
   * most half a segment of picture beyond the open segment's written part. */
  r->timer = g_timeout_add_full (G_PRIORITY_DEFAULT, MAX (r->segment_ms / 2, 250), keyframe_tick, m,
                                 NULL);
  g_mutex_unlock (&m->lock);
  gst_bin_recalculate_latency (GST_BIN (m->pipeline));
  hd_mixer_force_keyframe (m);
  GST_INFO ("hearing %s: recording into %s", m->hid, dir);
  return TRUE;
}

gboolean
hd_mixer_recording (HdMixer *m)
{
  return m->rec != NULL;
}

gboolean
hd_mixer_record_stopping (HdMixer *m)
{
  return m->rec && m->rec->stopping;
}

gint64
hd_mixer_record_offset_ms (HdMixer *m)
{
  return m->rec ? (gint64)((running_time (m) - m->rec->base) / GST_MSECOND) : 0;
}

/* Under lock: the recorder leaves; its tracks finish their open fragments first. */
static void
stop (HdMixer *m)
{
  HdRecorder *r = m->rec;
  if (!r)
    return;
  if (r->stopping)
    return;
  r->stopping = TRUE;
  g_source_remove (r->timer);
  r->timer = 0;
  for (guint i = m->feeds->len; i-- > 0;) {
    Feed *f = m->feeds->pdata[i];
    if (!f->to && f->amix == r->fullmix)
      hd_mixer_feed_remove (m, f);
  }
  for (guint i = 0; i < r->tracks->len; i++)
    close_track (m, r->tracks->pdata[i]);
}

void
hd_mixer_record_stop (HdMixer *m)
{
  g_mutex_lock (&m->lock);
  stop (m);
  g_mutex_unlock (&m->lock);
}

void
hd_recorder_peer_sound (HdMixer *m, Peer *p)
{
  if (m->rec && !m->rec->stopping) {
    hd_mixer_feed_add (m, p, NULL, m->rec->fullmix);
    peer_track (m, p, FALSE);
  }
}

void
hd_recorder_peer_picture (HdMixer *m, Peer *p)
{
  peer_track (m, p, TRUE);
}

void
hd_recorder_peer_removed (HdMixer *m, Peer *p)
{
  for (guint i = 0; m->rec && i < m->rec->tracks->len; i++) {
    Track *t = m->rec->tracks->pdata[i];
    if (t->peer == p) {
      close_track (m, t);
      t->peer = NULL; /* its elements are the track's own; the peer may go */
    }
  }
  for (guint i = m->feeds->len; i-- > 0;) {
    Feed *f = m->feeds->pdata[i];
    if (f->from == p && !f->to)
      hd_mixer_feed_remove (m, f);
  }
}

/* A track's error, on the main thread: reported once; the track already takes nothing more. */
static gboolean
on_error (HdMixer *m, GstMessage *msg)
{
  g_mutex_lock (&m->lock);
  Track *t = track_of (GST_MESSAGE_SRC (msg));
  char *name = NULL;
  if (t && !t->failure_reported) {
    t->failure_reported = TRUE;
    name = g_strdup (t->name);
  }
  g_mutex_unlock (&m->lock);
  if (!t)
    return FALSE;
  g_autoptr (GError) e = NULL;
  gst_message_parse_error (msg, &e, NULL);
  if (name) {
    g_warning ("hearing %s: recording track %s failed: %s", m->hid, name, e->message);
    if (m->cb.on_recording_failed)
      m->cb.on_recording_failed (name, e->message, m->user);
  }
  g_free (name);
  return TRUE;
}

/* splitmuxsink's fragment messages: note where a fragment opened, report it when closed. A
 * track's errors: see on_error. */
gboolean
hd_recorder_on_message (HdMixer *m, GstMessage *msg)
{
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    return on_error (m, msg);
  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT)
    return FALSE;
  const GstStructure *s = gst_message_get_structure (msg);
  gboolean opened = gst_structure_has_name (s, "splitmuxsink-fragment-opened");
  gboolean closed = gst_structure_has_name (s, "splitmuxsink-fragment-closed");
  if (!opened && !closed)
    return FALSE;
  g_mutex_lock (&m->lock);
  HdRecorder *r = m->rec;
  Track *t = NULL;
  for (guint i = 0; r && i < r->tracks->len; i++)
    if (GST_OBJECT (((Track *)r->tracks->pdata[i])->sink) == GST_MESSAGE_SRC (msg))
      t = r->tracks->pdata[i];
  for (guint i = 0; !t && i < m->spent->len; i++) /* a stopped track's last word */
    if (GST_OBJECT (((Track *)m->spent->pdata[i])->sink) == GST_MESSAGE_SRC (msg))
      t = m->spent->pdata[i];
  GstClockTime rt = GST_CLOCK_TIME_NONE;
  gst_structure_get_clock_time (s, "running-time", &rt);
  char *track = NULL, *file = NULL;
  gint64 start_ms = 0, duration_ms = 0;
  if (t && opened) {
    t->opened = rt;
  } else if (t && closed) {
    const char *location = gst_structure_get_string (s, "location");
    gsize n = strlen (t->dir);
    if (location && g_str_has_prefix (location, t->dir) && location[n] == '/') {
      track = g_strdup (t->name);
      file = g_strdup (location + n + 1);
      GstClockTime from = GST_CLOCK_TIME_IS_VALID (t->opened) ? t->opened : t->base;
      start_ms = from > t->base ? (gint64)((from - t->base) / GST_MSECOND) : 0;
      duration_ms
          = GST_CLOCK_TIME_IS_VALID (rt) && rt > from ? (gint64)((rt - from) / GST_MSECOND) : 0;
    }
  }
  g_mutex_unlock (&m->lock);
  if (track && m->cb.on_segment)
    m->cb.on_segment (track, file, start_ms, duration_ms, m->user);
  g_free (track);
  g_free (file);
  return TRUE;
}

static gboolean
reap (gpointer data)
{
  HdMixer *m = data;
  g_mutex_lock (&m->lock);
  m->reap_source = 0;
  HdRecorder *r = m->rec;
  GPtrArray *gone = g_ptr_array_new ();
  for (guint i = r ? r->tracks->len : 0; i-- > 0;) {
    Track *t = r->tracks->pdata[i];
    if (t->closing) {
      g_ptr_array_add (gone, t);
      g_ptr_array_remove_index (r->tracks, i);
    }
  }
  gboolean finished = r && r->stopping && r->tracks->len == 0;
  if (finished)
    m->rec = NULL;
  g_mutex_unlock (&m->lock);
  /* A finished track's elements stay in the pipeline, unlinked and idle, until it stops: setting
   * a splitmuxsink that has just finalized to NULL from here raced its own file closing (seen:
   * a file descriptor closed twice, the HTTP server's socket among them). */
  for (guint i = 0; i < gone->len; i++)
    g_ptr_array_add (m->spent, gone->pdata[i]);
  g_ptr_array_unref (gone);
  if (finished) {
    g_ptr_array_unref (r->mix_elements);
    g_ptr_array_unref (r->tracks);
    g_hash_table_unref (r->opened);
    g_free (r->dir);
    g_free (r);
    if (m->cb.on_recording_stopped)
      m->cb.on_recording_stopped (m->user);
  }
  return G_SOURCE_REMOVE;
}

void
hd_recorder_free (HdMixer *m)
{
  /* the pipeline is stopped: the spent tracks go with it */
  for (guint i = 0; i < m->spent->len; i++)
    track_free (m, m->spent->pdata[i]);
  g_ptr_array_set_size (m->spent, 0);
  if (m->reap_source)
    g_source_remove (m->reap_source);
  m->reap_source = 0;
  HdRecorder *r = m->rec;
  if (!r)
    return;
  m->rec = NULL;
  if (r->timer)
    g_source_remove (r->timer);
  for (guint i = 0; i < r->tracks->len; i++)
    track_free (m, r->tracks->pdata[i]);
  g_ptr_array_unref (r->tracks);
  g_ptr_array_unref (r->mix_elements);
  g_hash_table_unref (r->opened);
  g_free (r->dir);
  g_free (r);
}
