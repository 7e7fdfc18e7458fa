/* hd-test-client — a hearing participant for tests and benchmarks: joins with a token over the
 * hearing.v1 WebSocket, answers the daemon's WebRTC offer with webrtcbin, sends a solid-colour
 * picture and a sine tone, and reports as JSON what it receives: decoded composite frames, how
 * much of the picture each colour fills (median over the 1.5 s before --measure-at, or before
 * half a second ahead of leaving), and the power at given frequencies in the last second of
 * sound before that instant (Goertzel, 100 ms blocks: `power_db` their mean, `power_min_db` the
 * quietest block, where a voice that broke up shows). Usage:
 *   hd-test-client --url ws://127.0.0.1:PORT/ws --token T [--color ff0000] [--freq 440]
 *                  [--listen 440,660,880] [--colors ff0000,00ff00] [--seconds 6]
 *                  [--measure-at REAL_TIME_US] [--mute-at S] [--no-video] [--no-audio]
 *                  [--no-answer] [--no-ice] [--ports MIN-MAX] [--tcp-only] [--pre-encoded]
 * It also reports how many composite keyframes it received (`keyframes`), the frames decoded in
 * each wall-clock second (`frames_per_s`), the picture's longest pause in the measured 2 s, and
 * what its jitter
 * buffer made of the composite's packets (`video_rtp`: pushed, lost for good, retransmissions
 * asked for and received in time).
 * HD_TEST_CLIENT_DEBUG=1 logs the offer, the incoming streams and, every 15 frames, the colours
 * seen.
 * Only the addresses it is given are contacted. */
#include "codecs/engine.h"
#include "tests/media/goertzel.h"
#include "signaling/client.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define RATE 48000
#define BLOCK 4800 /* 100 ms Goertzel blocks */

static char *opt_url, *opt_token, *opt_color = "ff0000", *opt_listen = "", *opt_colors = "";
static int opt_freq = 440, opt_seconds = 6;
static double opt_mute_at = -1;
static gint64 opt_measure_at;
static double opt_volume = 0.4;
static char *opt_ports;
static gboolean opt_tcp_only; /* a firewall that lets no UDP through: ICE over TCP only */
static gboolean opt_pre_encoded; /* send a loop encoded before joining (VP8 only; see Loop) */
static int opt_audio_frame_ms = 10; /* Opus frames sent: 10 ms (tests: latency), 20 as browsers */
static gboolean opt_nack;        /* ask for lost picture packets again, and resend (RTX) */
static char **opt_keep;          /* message types whose last one goes into the report's "kept" */
static char **opt_send;
/* "S:JSON": send JSON S seconds after joining */ /* g_get_real_time () µs; 0: half a second
                                                     before the end */
static gboolean opt_no_video, opt_no_audio, opt_forge, opt_no_decode, opt_no_answer, opt_no_ice;
static char *opt_size = "320x240"; /* picture sent, WIDTHxHEIGHT */
static int opt_latency = 50;       /* jitter buffer, ms */
static double opt_beep_every;      /* > 0: the tone sounds 300 ms every so many seconds */
static int opt_onsets;             /* > 0: note when this frequency starts being heard */
static GstElement *tone_volume;    /* the sender's volume, for beeps */
static GArray *beeps, *onsets;     /* g_get_real_time () µs of each beep sent / onset heard */
static gboolean onset_on;

static GstElement *pipe_, *webrtc;
static GAsyncQueue *outbox; /* char* messages for the WebSocket */
static GMutex lock;
static gint64 t0, first_frame_at;
static int frames;
static gint keyframes;      /* atomic: composite keyframes received */
static GPtrArray *jitterbuffers; /* rtpjitterbuffer, each with its ssrc (under lock) */
static GArray *jitter_ssrcs;
static guint video_ssrc;         /* the composite's (under lock) */
static guint offered_video_ssrc; /* the composite's, from the offer's a=ssrc (--nack) */
static gint answers;             /* atomic: answers sent (from webrtcbin's thread) */
static GArray *frame_times; /* gint64 */
static double *color_frac;  /* per --colors entry, of the last frame */
static guint32 *colors;
static int ncolors;
static int *freqs;
static int nfreqs;
#define WINDOW 10                    /* blocks: the sound of the last second */
static double (*power_ring)[WINDOW]; /* per frequency */
static int power_blocks;
/* Per --colors entry, its share of each frame decoded in the window (end - 2 s, end - 0.5 s];
 * the report gives the median, so one late tile in one frame (a busy machine) changes nothing
 * while a colour that is really there or really gone is reported as such. */
static GArray **color_window;
static guint64 audio_samples; /* mono samples decoded */
static gint64 window_from, window_until;
static float block[BLOCK];
static int block_len;
static int audio_pt = 111, video_pt = 96;
static gboolean h264;             /* the offer's video is H.264 (else VP8) */
static char video_codec[16] = ""; /* what the received video turned out to be */

static void
send_json (json_t *j)
{
  char *s = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  g_async_queue_push (outbox, g_strdup (s));
  free (s);
}

/* ---------------------------------------------------------------- what we receive */

/* A composite frame arrived at `now`. Under lock. */
static void
count_frame (gint64 now)
{
  if (!frames)
    first_frame_at = now;
  frames++;
  g_array_append_val (frame_times, now);
}

/* --no-decode: count the composite's frames as they arrive (a benchmark's cheap client) */
static GstFlowReturn
on_frame (GstAppSink *sink, gpointer data)
{
  GstSample *s = gst_app_sink_pull_sample (sink);
  g_mutex_lock (&lock);
  count_frame (g_get_monotonic_time ());
  g_mutex_unlock (&lock);
  gst_sample_unref (s);
  return GST_FLOW_OK;
}

static GstFlowReturn
on_video (GstAppSink *sink, gpointer data)
{
  GstSample *s = gst_app_sink_pull_sample (sink);
  GstBuffer *b = gst_sample_get_buffer (s);
  GstMapInfo map;
  if (gst_buffer_map (b, &map, GST_MAP_READ)) {
    g_mutex_lock (&lock);
    gint64 now = g_get_monotonic_time ();
    count_frame (now);
    gsize px = map.size / 3;
    for (int c = 0; c < ncolors; c++) {
      int r = (colors[c] >> 16) & 0xff, g = (colors[c] >> 8) & 0xff, bl = colors[c] & 0xff;
      gsize hit = 0;
      for (gsize i = 0; i < px; i++) {
        const guint8 *p = map.data + 3 * i;
        if (abs (p[0] - r) < 60 && abs (p[1] - g) < 60 && abs (p[2] - bl) < 60)
          hit++;
      }
      color_frac[c] = px ? (double)hit / px : 0;
      if (now > window_from && now <= window_until)
        g_array_append_val (color_window[c], color_frac[c]);
    }
    if (g_getenv ("HD_TEST_CLIENT_DEBUG") && frames % 15 == 0) {
      GString *l = g_string_new (NULL);
      for (int c = 0; c < ncolors; c++)
        g_string_append_printf (l, " %06x=%.2f", colors[c], color_frac[c]);
      fprintf (stderr, "hd-test-client %s t=%.1f frame %d:%s pts=%.2f\n", opt_color,
               (now - t0) / 1e6, frames, l->str, GST_BUFFER_PTS (b) / 1e9);
      g_string_free (l, TRUE);
    }
    g_mutex_unlock (&lock);
    gst_buffer_unmap (b, &map);
  }
  gst_sample_unref (s);
  return GST_FLOW_OK;
}

static json_t *
times_json (GArray *t)
{
  json_t *a = json_array ();
  for (guint i = 0; i < t->len; i++)
    json_array_append_new (a, json_integer (g_array_index (t, gint64, i)));
  return a;
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double
median (GArray *v)
{
  if (!v->len)
    return 0;
  g_array_sort (v, cmp_double);
  return g_array_index (v, double, v->len / 2);
}

static GstFlowReturn
on_audio (GstAppSink *sink, gpointer data)
{
  GstSample *s = gst_app_sink_pull_sample (sink);
  GstBuffer *b = gst_sample_get_buffer (s);
  GstMapInfo map;
  if (gst_buffer_map (b, &map, GST_MAP_READ)) {
    const float *x = (const float *)map.data;
    gsize n = map.size / sizeof (float);
    g_mutex_lock (&lock);
    audio_samples += n;
    if (opt_onsets > 0 && n >= 240) {
      /* per buffer (20 ms of Opus): the tone's power, with hysteresis between -40 and -20 dB */
      double db = 10 * log10 (hd_goertzel (x, n, opt_onsets, RATE) + 1e-12);
      if (!onset_on && db > -20) {
        gint64 now = g_get_real_time ();
        g_array_append_val (onsets, now);
        onset_on = TRUE;
      } else if (onset_on && db < -40)
        onset_on = FALSE;
    }
    for (gsize i = 0; i < n; i++) {
      block[block_len++] = x[i];
      if (block_len == BLOCK) {
        for (int f = 0; f < nfreqs; f++)
          if (g_get_monotonic_time () <= window_until)
            power_ring[f][power_blocks % WINDOW] = hd_goertzel (block, BLOCK, freqs[f], RATE);
        power_blocks++;
        block_len = 0;
      }
    }
    g_mutex_unlock (&lock);
    gst_buffer_unmap (b, &map);
  }
  gst_sample_unref (s);
  return GST_FLOW_OK;
}

static GstPadProbeReturn
count_keyframe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  if (GST_BUFFER_FLAG_IS_SET (GST_PAD_PROBE_INFO_BUFFER (info), GST_BUFFER_FLAG_DELTA_UNIT))
    return GST_PAD_PROBE_OK;
  g_atomic_int_inc (&keyframes);
  return GST_PAD_PROBE_OK;
}

static void
add_chain (GstPad *src, const char *desc, GCallback cb)
{
  GError *e = NULL;
  GstElement *bin = gst_parse_bin_from_description (desc, TRUE, &e);
  if (!bin)
    g_error ("%s", e->message);
  gst_bin_add (GST_BIN (pipe_), bin);
  GstElement *depay = gst_bin_get_by_name (GST_BIN (bin), "depay");
  if (depay) { /* the composite's keyframes: how often the shared encoder was made to send one */
    GstPad *out = gst_element_get_static_pad (depay, "src");
    gst_pad_add_probe (out, GST_PAD_PROBE_TYPE_BUFFER, count_keyframe, NULL, NULL);
    gst_object_unref (out);
    gst_object_unref (depay);
  }
  GstElement *sink = gst_bin_get_by_name (GST_BIN (bin), "out");
  if (sink) {
    GstAppSinkCallbacks cbs = { 0 };
    cbs.new_sample = (GstFlowReturn (*) (GstAppSink *, gpointer))cb;
    gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cbs, NULL, NULL);
    gst_object_unref (sink);
  }
  gst_element_sync_state_with_parent (bin);
  GstPad *sinkpad = gst_element_get_static_pad (bin, "sink");
  gst_pad_link (src, sinkpad);
  gst_object_unref (sinkpad);
}

/* --nack: RTCP often enough that a request for a lost packet goes out while it can still be
 * answered in time. GStreamer's RTP session follows RFC 4585: one early RTCP packet per regular
 * interval, and the interval follows the session's bandwidth (64 kbit/s when unknown: ~0.35 s
 * with this session's reports). Saying 20 Mbit/s brings it to a few tens of milliseconds, as a
 * browser, which sends its NACKs at once, behaves. */
static void
on_element_added (GstBin *bin, GstBin *sub, GstElement *e, gpointer data)
{
  GstElementFactory *f = gst_element_get_factory (e);
  if (f && !g_strcmp0 (GST_OBJECT_NAME (f), "rtpsession"))
    g_object_set (e, "bandwidth", 2.5e6 /* bytes/s */, NULL);
}

static void
on_new_jitterbuffer (GstElement *rtpbin, GstElement *jb, guint session, guint ssrc, gpointer data)
{
  /* --nack asks again for the composite's packets only: webrtcbin 1.22 gives every jitter buffer
   * of a BUNDLE the setting of the last m-line (and there is no RTX for sound). This handler runs
   * after webrtcbin's. */
  g_object_set (jb, "do-retransmission", opt_nack && ssrc == offered_video_ssrc, NULL);
  g_mutex_lock (&lock);
  g_ptr_array_add (jitterbuffers, gst_object_ref (jb));
  g_array_append_val (jitter_ssrcs, ssrc);
  g_mutex_unlock (&lock);
}

/* The composite's packets as its jitter buffer saw them. Under lock. */
static json_t *
video_rtp_json (void)
{
  for (guint i = 0; i < jitterbuffers->len; i++) {
    if (g_array_index (jitter_ssrcs, guint, i) != video_ssrc)
      continue;
    GstStructure *st = NULL;
    g_object_get (g_ptr_array_index (jitterbuffers, i), "stats", &st, NULL);
    guint64 pushed = 0, lost = 0, asked = 0, recovered = 0;
    if (st) {
      gst_structure_get_uint64 (st, "num-pushed", &pushed);
      gst_structure_get_uint64 (st, "num-lost", &lost);
      gst_structure_get_uint64 (st, "rtx-count", &asked);
      gst_structure_get_uint64 (st, "rtx-success-count", &recovered);
      gst_structure_free (st);
    }
    return json_pack ("{s:I, s:I, s:I, s:I}", "pushed", (json_int_t)pushed, "lost",
                      (json_int_t)lost, "rtx_requests", (json_int_t)asked, "rtx_recovered",
                      (json_int_t)recovered);
  }
  return json_object ();
}

static void
on_pad_added (GstElement *w, GstPad *pad, gpointer data)
{
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  GstCaps *caps = gst_pad_get_current_caps (pad);
  const char *media = gst_structure_get_string (gst_caps_get_structure (caps, 0), "media");
  if (g_getenv ("HD_TEST_CLIENT_DEBUG")) {
    g_autofree char *cs = gst_caps_to_string (caps);
    fprintf (stderr, "hd-test-client %s: receiving %s\n", opt_color, cs);
  }
  const char *enc = gst_structure_get_string (gst_caps_get_structure (caps, 0), "encoding-name");
  if (!g_strcmp0 (media, "video")) {
    g_strlcpy (video_codec, enc ? enc : "?", sizeof video_codec);
    g_mutex_lock (&lock);
    gst_structure_get_uint (gst_caps_get_structure (caps, 0), "ssrc", &video_ssrc);
    g_mutex_unlock (&lock);
  }
  if (!g_strcmp0 (media, "video") && opt_no_decode)
    add_chain (pad, "queue ! rtpvp8depay name=depay ! appsink name=out sync=false",
               G_CALLBACK (on_frame));
  else if (!g_strcmp0 (media, "video") && !g_strcmp0 (enc, "H264"))
    add_chain (pad,
               "queue ! rtph264depay name=depay request-keyframe=true wait-for-keyframe=true ! "
               "h264parse ! "
               "openh264dec ! videoconvert ! videoscale ! "
               "video/x-raw,format=RGB,width=64,height=36 ! appsink name=out sync=false",
               G_CALLBACK (on_video));
  else if (!g_strcmp0 (media, "video"))
    add_chain (
        pad,
        "queue ! rtpvp8depay name=depay request-keyframe=true wait-for-keyframe=true ! vp8dec ! "
        "videoconvert ! videoscale ! "
        "video/x-raw,format=RGB,width=64,height=36 ! appsink name=out sync=false",
        G_CALLBACK (on_video));
  else if (!g_strcmp0 (media, "audio"))
    add_chain (pad,
               "queue ! rtpopusdepay ! opusdec ! audioconvert ! audioresample ! "
               "audio/x-raw,format=F32LE,channels=1,rate=48000 ! appsink name=out sync=false",
               G_CALLBACK (on_audio));
  else
    add_chain (pad, "fakesink", NULL);
  gst_caps_unref (caps);
}

/* ---------------------------------------------------------------- negotiation */

static void
on_ice_candidate (GstElement *w, guint mline, const char *cand, gpointer data)
{
  send_json (json_pack ("{s:s, s:s, s:i}", "type", "candidate", "candidate", cand, "sdpMLineIndex",
                        (int)mline));
}

static void
on_answer_created (GstPromise *promise, gpointer data)
{
  GstWebRTCSessionDescription *answer = NULL;
  gst_structure_get (gst_promise_get_reply (promise), "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                     &answer, NULL);
  gst_promise_unref (promise);
  if (!opt_no_ice) /* --no-ice: answered, but nothing gathered: a network that blocks UDP */
    g_signal_emit_by_name (webrtc, "set-local-description", answer, NULL);
  char *text = gst_sdp_message_as_text (answer->sdp);
  if (opt_forge) {
    /* Flip the first hex digit of every fingerprint: the certificate no longer matches. */
    for (char *p = strstr (text, "a=fingerprint:"); p; p = strstr (p + 1, "a=fingerprint:")) {
      char *hex = strchr (p + 14, ' ');
      if (hex)
        hex[1] = hex[1] == 'A' ? 'B' : 'A';
    }
  }
  send_json (json_pack ("{s:s, s:s}", "type", "answer", "sdp", text));
  g_atomic_int_inc (&answers);
  g_free (text);
  gst_webrtc_session_description_free (answer);
}

/* --pre-encoded: a benchmark's sender that costs its machine almost nothing. The picture (2 s,
 * a keyframe each second) and the tone (1 s: a whole number of cycles of any tone in whole
 * hertz, so the loop is seamless) are encoded once before joining and then sent again and again
 * at their own pace, stamped as they go out, so the cores measure the daemon. The daemon's
 * keyframe requests wait for the loop's next keyframe (≤ 1 s). */
typedef struct {
  GstElement *src;   /* appsrc */
  GPtrArray *frames; /* GstBuffer, in order */
  GstCaps *caps;
  gint64 period_us;
  GThread *thread;
} Loop;
static Loop loops[2]; /* sound, picture */
static gint loops_stop;

/* Before joining: `encode` (a bounded pipeline) into l->frames. */
static void
loop_encode (Loop *l, const char *encode, gint64 period_us)
{
  GError *e = NULL;
  g_autofree char *desc = g_strdup_printf ("%s ! appsink name=out sync=false", encode);
  GstElement *p = gst_parse_launch (desc, &e);
  if (!p)
    g_error ("pre-encoding: %s", e->message);
  GstAppSink *out = GST_APP_SINK (gst_bin_get_by_name (GST_BIN (p), "out"));
  gst_element_set_state (p, GST_STATE_PLAYING);
  l->frames = g_ptr_array_new_with_free_func ((GDestroyNotify)gst_buffer_unref);
  for (GstSample *s; (s = gst_app_sink_try_pull_sample (out, 10 * GST_SECOND));
       gst_sample_unref (s)) {
    if (!l->caps)
      l->caps = gst_caps_ref (gst_sample_get_caps (s));
    g_ptr_array_add (l->frames, gst_buffer_ref (gst_sample_get_buffer (s)));
  }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (out);
  gst_object_unref (p);
  if (!l->caps || !l->frames->len)
    g_error ("pre-encoding %s gave nothing", encode);
  l->period_us = period_us;
}

/* The sender's bin begins with an appsrc named "loop": it sends this loop. */
static void
loop_source (Loop *l, GstElement *bin)
{
  l->src = gst_bin_get_by_name (GST_BIN (bin), "loop");
  g_object_set (l->src, "caps", l->caps, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp",
                TRUE, NULL);
}

static gpointer
loop_send (gpointer data)
{
  Loop *l = data;
  gint64 next = g_get_monotonic_time ();
  for (guint i = 0; !g_atomic_int_get (&loops_stop); i++) {
    GstBuffer *b = gst_buffer_copy (g_ptr_array_index (l->frames, i % l->frames->len));
    GST_BUFFER_PTS (b) = GST_BUFFER_DTS (b) = GST_CLOCK_TIME_NONE; /* appsrc stamps it */
    gst_app_src_push_buffer (GST_APP_SRC (l->src), b);             /* not PLAYING yet: dropped */
    next += l->period_us;
    gint64 wait = next - g_get_monotonic_time ();
    if (wait > 0)
      g_usleep (wait);
  }
  return NULL;
}

/* The sender `bin` (whose first element, named "enc", is replaced by the loop) into sink_N. */
static void
add_sender (GstElement *bin, Loop *l, const char *sink)
{
  gst_bin_add (GST_BIN (pipe_), bin);
  gst_element_link_pads (bin, "src", webrtc, sink);
  gst_element_sync_state_with_parent (bin);
  if (l)
    l->thread = g_thread_new ("loop", loop_send, l);
}

static void
loops_end (void)
{
  g_atomic_int_set (&loops_stop, 1);
  for (gsize i = 0; i < G_N_ELEMENTS (loops); i++)
    if (loops[i].thread)
      g_thread_join (loops[i].thread);
  for (gsize i = 0; i < G_N_ELEMENTS (loops); i++)
    if (loops[i].frames) {
      g_ptr_array_unref (loops[i].frames);
      gst_caps_unref (loops[i].caps);
      g_clear_object (&loops[i].src);
    }
}

static GstElement *
sender_bin (const char *media, const char *desc)
{
  GError *e = NULL;
  GstElement *bin = gst_parse_bin_from_description (desc, TRUE, &e);
  if (!bin)
    g_error ("%s sender: %s", media, e->message);
  return bin;
}

/* --pre-encoded: the loop `l`, payloaded, into webrtcbin's `sink`. */
static void
add_loop_sender (Loop *l, const char *media, const char *pay, const char *encoding, int pt,
                 int clock_rate, const char *sink)
{
  g_autofree char *d = g_strdup_printf (
      "appsrc name=loop ! %s pt=%d ! capsfilter caps=\"application/x-rtp,media=%s,"
      "encoding-name=%s,payload=%d,clock-rate=%d\"",
      pay, pt, media, encoding, pt, clock_rate);
  GstElement *bin = sender_bin (media, d);
  loop_source (l, bin);
  add_sender (bin, l, sink);
}

static void
add_senders (void)
{
  /* The answerer requests sink_<mline> with the offer's payload types (DESIGN.md). */
  gboolean pre = opt_pre_encoded && !h264;
  if (!opt_no_audio && pre)
    add_loop_sender (&loops[0], "audio", "rtpopuspay", "OPUS", audio_pt, 48000, "sink_0");
  else if (!opt_no_audio) {
    g_autofree char *d = g_strdup_printf (
        "audiotestsrc is-live=true wave=sine freq=%d samplesperbuffer=480 ! volume name=vol "
        "volume=%.3f ! audioconvert ! audioresample ! opusenc frame-size=%d ! rtpopuspay pt=%d ! "
        "capsfilter caps=\"application/x-rtp,media=audio,encoding-name=OPUS,payload=%d,"
        "clock-rate=48000\"",
        opt_freq, opt_beep_every > 0 ? 0.0 : opt_volume, opt_audio_frame_ms, audio_pt, audio_pt);
    GstElement *bin = sender_bin ("audio", d);
    tone_volume = gst_bin_get_by_name (GST_BIN (bin), "vol");
    add_sender (bin, NULL, "sink_0");
  }
  if (!opt_no_video && pre)
    add_loop_sender (&loops[1], "video", "rtpvp8pay", "VP8", video_pt, 90000, "sink_1");
  else if (!opt_no_video) {
    int width = 320, height = 240;
    sscanf (opt_size, "%dx%d", &width, &height);
    g_autofree char *d = g_strdup_printf (
        "videotestsrc is-live=true pattern=solid-color foreground-color=0xff%s ! "
        "video/x-raw,width=%d,height=%d,framerate=30/1 ! videoconvert ! "
        "%s pt=%d ! capsfilter caps=\"application/x-rtp,media=video,encoding-name=%s,"
        "payload=%d,clock-rate=90000\"",
        opt_color, width, height,
        h264 ? "openh264enc complexity=low gop-size=60 ! h264parse ! rtph264pay "
               "config-interval=-1 aggregate-mode=zero-latency"
             : "vp8enc deadline=1 cpu-used=-6 keyframe-max-dist=60 ! rtpvp8pay",
        video_pt, h264 ? "H264" : "VP8", video_pt);
    add_sender (sender_bin ("video", d), NULL, "sink_1");
  }
}

static void
on_remote_set (GstPromise *promise, gpointer data)
{
  gst_promise_unref (promise);
  add_senders ();
  if (opt_nack) { /* the video transceiver: the offer's second m-line */
    GObject *trans = NULL;
    g_signal_emit_by_name (webrtc, "get-transceiver", 1, &trans);
    if (trans)
      g_object_set (trans, "do-nack", TRUE, NULL);
    g_clear_object (&trans);
  }
  g_signal_emit_by_name (webrtc, "create-answer", NULL,
                         gst_promise_new_with_change_func (on_answer_created, NULL, NULL));
}

static void
on_offer (const char *sdp)
{
  GstSDPMessage *msg;
  if (g_getenv ("HD_TEST_CLIENT_DEBUG"))
    fprintf (stderr, "hd-test-client %s: offer\n%s", opt_color, sdp);
  gst_sdp_message_new_from_text (sdp, &msg);
  for (guint i = 0; i < gst_sdp_message_medias_len (msg); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (msg, i);
    for (guint k = 0; k < gst_sdp_media_attributes_len (m); k++) {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (m, k);
      if (!g_strcmp0 (a->key, "ssrc") && a->value && !offered_video_ssrc
          && !g_strcmp0 (gst_sdp_media_get_media (m), "video"))
        offered_video_ssrc = (guint)strtoul (a->value, NULL, 10); /* the first: not RTX's */
      if (g_strcmp0 (a->key, "rtpmap") || !a->value)
        continue;
      if (strstr (a->value, "OPUS/") || strstr (a->value, "opus/"))
        audio_pt = atoi (a->value);
      if (strstr (a->value, "VP8/"))
        video_pt = atoi (a->value);
      if (strstr (a->value, "H264/")) {
        video_pt = atoi (a->value);
        h264 = TRUE;
      }
    }
  }
  GstWebRTCSessionDescription *offer
      = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, msg);
  g_signal_emit_by_name (webrtc, "set-remote-description", offer,
                         gst_promise_new_with_change_func (on_remote_set, NULL, NULL));
  gst_webrtc_session_description_free (offer);
}

/* ---------------------------------------------------------------- main */

static void
parse_list (const char *s, gboolean hex, int *n, void *out_ptr)
{
  g_auto (GStrv) parts = g_strsplit (s, ",", -1);
  *n = 0;
  guint32 **out = out_ptr;
  *out = g_new0 (guint32, g_strv_length (parts) + 1);
  for (char **p = parts; *p; p++)
    if (**p)
      (*out)[(*n)++] = (guint32)strtoul (*p, NULL, hex ? 16 : 10);
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &opt_url, "ws://HOST:PORT/ws", NULL },
    { "token", 0, 0, G_OPTION_ARG_STRING, &opt_token, "join token", NULL },
    { "color", 0, 0, G_OPTION_ARG_STRING, &opt_color, "RRGGBB to send", NULL },
    { "freq", 0, 0, G_OPTION_ARG_INT, &opt_freq, "tone to send (Hz)", NULL },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &opt_listen, "frequencies to measure", NULL },
    { "colors", 0, 0, G_OPTION_ARG_STRING, &opt_colors, "colours to look for", NULL },
    { "seconds", 0, 0, G_OPTION_ARG_INT, &opt_seconds, "how long to stay", NULL },
    { "latency", 0, 0, G_OPTION_ARG_INT, &opt_latency, "jitter buffer in ms (50)", NULL },
    { "no-decode", 0, 0, G_OPTION_ARG_NONE, &opt_no_decode,
      "count the composite's frames without decoding them (VP8)", NULL },
    { "size", 0, 0, G_OPTION_ARG_STRING, &opt_size, "picture sent, WIDTHxHEIGHT (320x240)", NULL },
    { "beep-every", 0, 0, G_OPTION_ARG_DOUBLE, &opt_beep_every,
      "sound the tone for 300 ms every S seconds (else continuously)", NULL },
    { "onsets", 0, 0, G_OPTION_ARG_INT, &opt_onsets,
      "note the times this frequency starts being heard", NULL },
    { "volume", 0, 0, G_OPTION_ARG_DOUBLE, &opt_volume, "tone amplitude (0-1, default 0.4)", NULL },
    { "keep", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_keep,
      "TYPE — report the last server message of this type (repeatable)", NULL },
    { "send", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_send,
      "S:JSON — send a message S seconds after joining (repeatable)", NULL },
    { "measure-at", 0, 0, G_OPTION_ARG_INT64, &opt_measure_at,
      "end of the measuring window, as g_get_real_time() microseconds", NULL },
    { "mute-at", 0, 0, G_OPTION_ARG_DOUBLE, &opt_mute_at, "send mute audio after S s", NULL },
    { "no-video", 0, 0, G_OPTION_ARG_NONE, &opt_no_video, "send no picture", NULL },
    { "no-audio", 0, 0, G_OPTION_ARG_NONE, &opt_no_audio, "send no sound", NULL },
    { "no-answer", 0, 0, G_OPTION_ARG_NONE, &opt_no_answer,
      "never answer the offer (stay joined, carry no media)", NULL },
    { "no-ice", 0, 0, G_OPTION_ARG_NONE, &opt_no_ice,
      "answer, but gather no candidates: never connect (UDP blocked)", NULL },
    { "ports", 0, 0, G_OPTION_ARG_STRING, &opt_ports,
      "MIN-MAX: the UDP ports to gather on (a test tells this participant's packets apart)", NULL },
    { "nack", 0, 0, G_OPTION_ARG_NONE, &opt_nack,
      "ask for lost picture packets again (NACK) and resend them (RTX)", NULL },
    { "pre-encoded", 0, 0, G_OPTION_ARG_NONE, &opt_pre_encoded,
      "send a picture and tone encoded once, in a loop (VP8; a benchmark's cheap sender)", NULL },
    { "audio-frame-ms", 0, 0, G_OPTION_ARG_INT, &opt_audio_frame_ms,
      "Opus frame length sent: 10 (default) or 20 ms (what browsers send)", NULL },
    { "tcp-only", 0, 0, G_OPTION_ARG_NONE, &opt_tcp_only,
      "no UDP at all (a firewall that blocks it): ICE over TCP only", NULL },
    { "forge-fingerprint", 0, 0, G_OPTION_ARG_NONE, &opt_forge,
      "announce a DTLS fingerprint that is not our certificate's (an attacker)", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) oc = g_option_context_new ("— hearingd test participant");
  g_option_context_add_main_entries (oc, entries, NULL);
  g_option_context_add_group (oc, gst_init_get_option_group ());
  if (!g_option_context_parse (oc, &argc, &argv, NULL) || !opt_url || !opt_token) {
    fprintf (stderr, "usage: hd-test-client --url URL --token TOKEN …\n");
    return 2;
  }
  if (opt_audio_frame_ms != 10 && opt_audio_frame_ms != 20) {
    fprintf (stderr, "hd-test-client: --audio-frame-ms is 10 or 20\n");
    return 2;
  }
  hd_client_quiet ();
  parse_list (opt_colors, TRUE, &ncolors, &colors);
  parse_list (opt_listen, FALSE, &nfreqs, &freqs);
  color_frac = g_new0 (double, ncolors + 1);
  color_window = g_new0 (GArray *, ncolors + 1);
  for (int c = 0; c < ncolors; c++)
    color_window[c] = g_array_new (FALSE, FALSE, sizeof (double));
  power_ring = g_malloc0 (sizeof *power_ring * (nfreqs + 1));
  frame_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  beeps = g_array_new (FALSE, FALSE, sizeof (gint64));
  onsets = g_array_new (FALSE, FALSE, sizeof (gint64));
  outbox = g_async_queue_new_full (g_free);

  /* The first DTLS set-up in a process costs 110-550 ms (certificate generation): pay it now,
   * as a browser has long done before its user clicks a join link. */
  gst_object_unref (gst_element_factory_make ("dtlsdec", NULL));
  pipe_ = gst_pipeline_new ("client");
  webrtc = gst_element_factory_make ("webrtcbin", NULL);
  jitterbuffers = g_ptr_array_new_with_free_func (gst_object_unref);
  if (opt_nack)
    g_signal_connect (webrtc, "deep-element-added", G_CALLBACK (on_element_added), NULL);
  jitter_ssrcs = g_array_new (FALSE, FALSE, sizeof (guint));
  GstElement *rtpbin = gst_bin_get_by_name (GST_BIN (webrtc), "rtpbin");
  if (rtpbin) {
    g_signal_connect (rtpbin, "new-jitterbuffer", G_CALLBACK (on_new_jitterbuffer), NULL);
    gst_object_unref (rtpbin);
  }
  g_object_set (webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency",
                (guint)opt_latency, NULL);
  gst_bin_add (GST_BIN (pipe_), webrtc);
  hd_engine_webrtcbin_defaults (webrtc); /* no UPnP router search from the tests either */
  if (opt_tcp_only) {
    GObject *ice = NULL;
    g_object_get (webrtc, "ice-agent", &ice, NULL);
    GObject *agent = NULL;
    g_object_get (ice, "agent", &agent, NULL);
    g_object_set (agent, "ice-udp", FALSE, "ice-tcp", TRUE, NULL);
    g_object_unref (agent);
    g_object_unref (ice);
  }
  guint port_min = 0, port_max = 0;
  if (opt_ports && sscanf (opt_ports, "%u-%u", &port_min, &port_max) == 2) {
    GObject *ice = NULL;
    g_object_get (webrtc, "ice-agent", &ice, NULL);
    g_object_set (ice, "min-rtp-port", port_min, "max-rtp-port", port_max, NULL);
    /* UDP only: a TCP pair, when ICE picks it, would carry the media past the test's rules */
    g_object_set (ice, "ice-tcp", FALSE, NULL);
    g_object_unref (ice);
  }
  g_signal_connect (webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate), NULL);
  g_signal_connect (webrtc, "pad-added", G_CALLBACK (on_pad_added), NULL);
  if (opt_pre_encoded) {
    g_autofree char *tone = g_strdup_printf (
        "audiotestsrc num-buffers=100 wave=sine freq=%d samplesperbuffer=480 volume=%.3f ! "
        "audioconvert ! audioresample ! opusenc frame-size=%d",
        opt_freq, opt_volume, opt_audio_frame_ms);
    int width = 320, height = 240;
    sscanf (opt_size, "%dx%d", &width, &height);
    g_autofree char *picture = g_strdup_printf (
        "videotestsrc num-buffers=60 pattern=solid-color foreground-color=0xff%s ! "
        "video/x-raw,width=%d,height=%d,framerate=30/1 ! videoconvert ! "
        "vp8enc deadline=1 cpu-used=-6 keyframe-max-dist=30",
        opt_color, width, height);
    loop_encode (&loops[0], tone, 10000);
    loop_encode (&loops[1], picture, G_USEC_PER_SEC / 30);
  }
  gst_element_set_state (pipe_, GST_STATE_PLAYING);

  g_autoptr (GUri) uri = g_uri_parse (opt_url, G_URI_FLAGS_NONE, NULL);
  HdWsContext *ctx = hd_ws_context_new (TRUE);
  HdWsClient *ws = hd_ws_connect (ctx, g_uri_get_host (uri), g_uri_get_port (uri),
                                  g_str_equal (g_uri_get_scheme (uri), "wss"), g_uri_get_path (uri),
                                  "hearing.v1");
  if (!hd_ws_wait_open (ctx, ws, 5000)) {
    fprintf (stderr, "hd-test-client: cannot connect to %s\n", opt_url);
    return 1;
  }
  send_json (json_pack ("{s:s, s:s}", "type", "join", "token", opt_token));
  t0 = g_get_monotonic_time ();
  gint64 offer_at = 0, end = t0 + (gint64)opt_seconds * G_USEC_PER_SEC;
  g_mutex_lock (&lock);
  /* What is reported is measured in a window ending at --measure-at (a wall-clock time the test
   * gives every client of a hearing alike, while all of them are present) or half a second
   * before this client leaves: the picture's colours over 1.5 s, the sound's over its last 1 s. */
  window_until
      = opt_measure_at ? t0 + (opt_measure_at - g_get_real_time ()) : end - G_USEC_PER_SEC / 2;
  window_from = window_until - 3 * G_USEC_PER_SEC / 2;
  g_mutex_unlock (&lock);
  gboolean muted = FALSE, welcomed = FALSE;
  int offers = 0;
  guint sent = 0, nsend = opt_send ? g_strv_length (opt_send) : 0;
  json_t *speakers = json_array (), *layouts = json_array ();
  json_t *errors = json_array ();
  json_t *kept = json_object ();
  while (g_get_monotonic_time () < end && !hd_ws_is_closed (ws)) {
    char *out;
    while ((out = g_async_queue_try_pop (outbox))) {
      hd_ws_send_text (ws, out);
      g_free (out);
    }
    hd_ws_context_service (ctx, 5);
    char *in;
    while ((in = hd_ws_pop (ws))) {
      json_t *j = json_loads (in, 0, NULL);
      const char *type = json_string_value (json_object_get (j, "type"));
      if (type && opt_keep && g_strv_contains ((const char *const *)opt_keep, type))
        json_object_set (kept, type, j);
      if (!g_strcmp0 (type, "welcome")) {
        welcomed = TRUE;
        /* the layout in force when it joined: the first of `layouts` */
        json_t *mode = json_object_get (json_object_get (j, "layout"), "mode");
        if (json_is_string (mode))
          json_array_append (layouts, mode);
      } else if (!g_strcmp0 (type, "offer")) {
        offer_at = g_get_monotonic_time ();
        offers++;
        if (!opt_no_answer) /* --no-answer: a device that hangs after joining */
          on_offer (json_string_value (json_object_get (j, "sdp")));
      } else if (!g_strcmp0 (type, "candidate")) {
        const char *c = json_string_value (json_object_get (j, "candidate"));
        if (c && *c)
          g_signal_emit_by_name (webrtc, "add-ice-candidate",
                                 (guint)json_integer_value (json_object_get (j, "sdpMLineIndex")),
                                 c);
      } else if (!g_strcmp0 (type, "error"))
        json_array_append (errors, json_object_get (j, "code"));
      else if (!g_strcmp0 (type, "speaker"))
        json_array_append (speakers, json_object_get (j, "participant"));
      else if (!g_strcmp0 (type, "layout"))
        json_array_append (layouts, json_object_get (j, "mode"));
      json_decref (j);
      g_free (in);
    }
    if (opt_beep_every > 0 && tone_volume) {
      /* a 300 ms beep every --beep-every seconds from 2 s on; the sound leaves the source
       * within one 10 ms buffer of the volume change */
      static gint64 next_beep, beep_off;
      gint64 now = g_get_monotonic_time ();
      if (!next_beep)
        next_beep = t0 + 2 * G_USEC_PER_SEC;
      if (now >= next_beep) {
        g_object_set (tone_volume, "volume", opt_volume, NULL);
        gint64 wall = g_get_real_time ();
        g_array_append_val (beeps, wall);
        beep_off = now + 300000;
        next_beep += (gint64)(opt_beep_every * G_USEC_PER_SEC);
      }
      if (beep_off && now >= beep_off) {
        g_object_set (tone_volume, "volume", 0.0, NULL);
        beep_off = 0;
      }
    }
    while (sent < nsend) { /* in the order given */
      const char *colon = strchr (opt_send[sent], ':');
      if (!colon
          || g_get_monotonic_time () < t0 + g_ascii_strtod (opt_send[sent], NULL) * G_USEC_PER_SEC)
        break;
      g_async_queue_push (outbox, g_strdup (colon + 1));
      sent++;
    }
    if (opt_mute_at >= 0 && !muted && g_get_monotonic_time () > t0 + opt_mute_at * G_USEC_PER_SEC) {
      send_json (json_pack ("{s:s, s:b}", "type", "mute", "audio", 1));
      muted = TRUE;
    }
  }

  g_mutex_lock (&lock);
  gint64 now = g_get_monotonic_time ();
  int recent = 0;
  gint64 longest_gap = 0, prev = now - 2 * G_USEC_PER_SEC; /* the picture's longest pause */
  for (guint i = 0; i < frame_times->len; i++) {
    gint64 t = g_array_index (frame_times, gint64, i);
    if (t <= now - 2 * G_USEC_PER_SEC)
      continue;
    recent++;
    longest_gap = MAX (longest_gap, t - prev);
    prev = t;
  }
  longest_gap = MAX (longest_gap, now - prev);
  json_t *cols = json_object (), *pw = json_object (), *pw_min = json_object ();
  for (int c = 0; c < ncolors; c++) {
    char k[8];
    g_snprintf (k, sizeof k, "%06x", colors[c]);
    json_object_set_new (cols, k, json_real (median (color_window[c])));
  }
  for (int f = 0; f < nfreqs; f++) {
    char k[16];
    g_snprintf (k, sizeof k, "%d", freqs[f]);
    double sum = 0, least = G_MAXDOUBLE;
    for (int b = 0; b < WINDOW; b++) {
      sum += power_ring[f][b];
      least = MIN (least, power_ring[f][b]);
    }
    json_object_set_new (pw, k, json_real (10 * log10 (sum / WINDOW + 1e-12)));
    /* the quietest 100 ms of that second: a voice that broke up shows here, not in the mean */
    json_object_set_new (pw_min, k, json_real (10 * log10 (least + 1e-12)));
  }
  json_t *report = json_pack (
      "{s:o, s:o, s:s, s:o, s:o, s:f, s:i, s:b, s:i, s:f, s:f, s:f, s:o, s:o, s:o, s:b}", "beeps",
      times_json (beeps), "onsets", times_json (onsets), "video_codec", video_codec, "speakers",
      speakers, "layouts", layouts, "audio_seconds", audio_samples / (double)RATE, "offers", offers,
      "welcomed", welcomed, "frames", frames, "join_to_first_frame_ms",
      first_frame_at ? (first_frame_at - t0) / 1000.0 : -1.0, "fps_last_2s", recent / 2.0,
      "first_frame_ms", first_frame_at && offer_at ? (first_frame_at - offer_at) / 1000.0 : -1.0,
      "colors", cols, "power_db", pw, "errors", errors, "closed", hd_ws_is_closed (ws));
  json_object_set_new (report, "kept", kept);
  json_object_set_new (report, "power_min_db", pw_min);
  json_object_set_new (report, "answers", json_integer (g_atomic_int_get (&answers)));
  json_object_set_new (report, "keyframes", json_integer (g_atomic_int_get (&keyframes)));
  /* frames decoded in each wall-clock second: [[unix second, frames], …] */
  json_t *per_s = json_array ();
  gint64 mono_to_real = g_get_real_time () - g_get_monotonic_time ();
  for (guint i = 0; i < frame_times->len;) {
    gint64 sec = (g_array_index (frame_times, gint64, i) + mono_to_real) / G_USEC_PER_SEC;
    int n = 0;
    while (i < frame_times->len
           && (g_array_index (frame_times, gint64, i) + mono_to_real) / G_USEC_PER_SEC == sec) {
      n++;
      i++;
    }
    json_array_append_new (per_s, json_pack ("[I, i]", (json_int_t)sec, n));
  }
  json_object_set_new (report, "frames_per_s", per_s);
  json_object_set_new (report, "longest_gap_ms_last_2s", json_real (longest_gap / 1000.0));
  json_object_set_new (report, "video_rtp", video_rtp_json ());
  g_mutex_unlock (&lock);
  char *s = json_dumps (report, JSON_COMPACT);
  puts (s);
  free (s);
  json_decref (report);
  fflush (stdout);
  loops_end ();
  /* Paused first: the network sources stop pushing before the RTP sessions are reset on their
   * way to READY. Straight to NULL, a session emptied its table of sources while a packet just
   * received walked it (webrtcbin 1.22; a GLib critical "g_hash_table_foreach: assertion
   * 'version == hash_table->version'" now and then, after the report). */
  gst_element_set_state (pipe_, GST_STATE_PAUSED);
  gst_element_get_state (pipe_, NULL, NULL, 2 * GST_SECOND);
  gst_element_set_state (pipe_, GST_STATE_NULL);
  g_ptr_array_unref (jitterbuffers);
  g_array_unref (jitter_ssrcs);
  gst_object_unref (pipe_);
  hd_ws_context_free (ctx);
  g_async_queue_unref (outbox);
  g_array_unref (frame_times);
  g_free (colors);
  g_free (freqs);
  g_free (color_frac);
  for (int c = 0; c < ncolors; c++)
    g_array_unref (color_window[c]);
  g_free (color_window);
  g_strfreev (opt_send);
  g_clear_object (&tone_volume);
  g_array_unref (beeps);
  g_array_unref (onsets);
  g_free (power_ring);
  return 0;
}
