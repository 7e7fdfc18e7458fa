/* mixer.c — see mixer.h. Threading: webrtcbin's signals, promises and pad-added arrive on
 * GStreamer threads; they touch the pipeline under `lock` and hand anything meant for the
 * daemon to the main context as idle sources (to_main), holding a mixer reference. */
#define G_LOG_DOMAIN "hd-media"

#include "codecs/mixer-private.h"
#include "codecs/engine.h"
#include "codecs/overlay.h"
#include "codecs/text.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <nice/agent.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (hd_mixer_debug);
#define GST_CAT_DEFAULT hd_mixer_debug

/* clang-format off */
G_DEFINE_QUARK (hd-mixer-error-quark, hd_mixer_error)
/* clang-format on */

#define PT_OPUS 111
/* Room the compositor leaves for pictures beyond the jitter buffer (ms); the sound's is
 * configured (HdMixerConfig.mix_latency_ms): it is everyone's mouth-to-ear delay. */
#define VIDEO_MIX_LATENCY_MS 40
/* The text on the composite: the case number and time, and each tile's name and role. */
#define CAPTION_FONT "Sans 18"
#define LABEL_FONT "Sans 20"
#define LABEL_FONT_FAMILY "Sans"
/* Active speaker: readings every LEVEL_INTERVAL_MS; someone louder than SPEECH_DB who has been
 * the loudest by SWITCH_MARGIN_DB for SWITCH_READINGS readings in a row takes over. Coughs and
 * short interjections do not flip the picture. */
#define LEVEL_INTERVAL_MS 100
#define SPEECH_DB -45.0
#define SWITCH_MARGIN_DB 6.0
#define SWITCH_READINGS 4

static const char *layout_names[] = { "grid", "speaker", "pinned" };

const char *
hd_layout_name (HdLayout layout)
{
  return layout >= 0 && layout < (int)G_N_ELEMENTS (layout_names) ? layout_names[layout] : "grid";
}

int
hd_layout_parse (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (layout_names); i++)
    if (!g_strcmp0 (name, layout_names[i]))
      return (int)i;
  return -1;
}

static HdMixer *
mixer_ref (HdMixer *m)
{
  g_atomic_int_inc (&m->refs);
  return m;
}

static void
mixer_unref (HdMixer *m)
{
  if (!g_atomic_int_dec_and_test (&m->refs))
    return;
  g_hash_table_unref (m->peers);
  g_ptr_array_unref (m->feeds);
  g_ptr_array_unref (m->spent);
  g_mutex_clear (&m->lock);
  g_ptr_array_unref (m->calls);
  g_mutex_clear (&m->calls_lock);
  g_main_context_unref (m->main);
  g_free (m->hid);
  g_free (m->stun);
  g_free (m->turn);
  g_strfreev (m->local_addresses);
  g_free (m->public_address);
  g_free (m->pinned);
  g_free (m->speaker);
  g_free (m->candidate);
  g_free (m);
}

/* ---------------------------------------------------------------- main-context hand-off */

typedef struct {
  HdMixer *mixer;
  GSource *source;
  int kind; /* 0 sdp, 1 candidate, 2 state, 3 layout (a picture's size changed) */
  char *pid, *text;
  int num;
} Call;

static void
call_free (Call *c)
{
  mixer_unref (c->mixer);
  g_free (c->pid);
  g_free (c->text);
  g_free (c);
}

static void layout (HdMixer *m);

static gboolean
call_run (gpointer data)
{
  Call *c = data;
  HdMixer *m = c->mixer;
  g_mutex_lock (&m->calls_lock);
  if (g_ptr_array_remove_fast (m->calls, c->source))
    g_source_unref (c->source);
  g_mutex_unlock (&m->calls_lock);
  if (m->closed)
    return G_SOURCE_REMOVE;
  if (c->kind == 0 && m->cb.on_local_sdp)
    m->cb.on_local_sdp (c->pid, c->text, m->user);
  else if (c->kind == 1 && m->cb.on_local_candidate)
    m->cb.on_local_candidate (c->pid, c->text, c->num, m->user);
  else if (c->kind == 2 && m->cb.on_state)
    m->cb.on_state (c->pid, (HdPeerState)c->num, c->text, m->user);
  else if (c->kind == 3) {
    g_mutex_lock (&m->lock);
    layout (m);
    g_mutex_unlock (&m->lock);
  }
  return G_SOURCE_REMOVE;
}

static void
to_main (HdMixer *m, int kind, const char *pid, const char *text, int num)
{
  Call *c = g_new0 (Call, 1);
  c->mixer = mixer_ref (m);
  c->kind = kind;
  c->pid = g_strdup (pid);
  c->text = g_strdup (text);
  c->num = num;
  /* An idle source, never g_main_context_invoke: from a thread that is not the main one, that
   * runs the callback right there whenever nobody runs the main context — before the main loop
   * starts and after it ends (shutdown) — and hearing code would run on a GStreamer thread.
   * In order: idle sources of one priority are dispatched in the order they were attached. */
  c->source = g_idle_source_new ();
  g_source_set_priority (c->source, G_PRIORITY_DEFAULT);
  g_source_set_callback (c->source, call_run, c, (GDestroyNotify)call_free);
  g_mutex_lock (&m->calls_lock);
  g_ptr_array_add (m->calls, c->source); /* the list's reference */
  g_source_attach (c->source, m->main);
  g_mutex_unlock (&m->calls_lock);
}

/* Main thread, once no GStreamer thread runs: the hand-offs still waiting are dropped (each
 * frees its call and its mixer reference now, not never: after the main loop ended, nobody
 * would dispatch them). */
static void
drop_calls (HdMixer *m)
{
  g_mutex_lock (&m->calls_lock);
  GPtrArray *calls = g_steal_pointer (&m->calls);
  m->calls = g_ptr_array_new ();
  g_mutex_unlock (&m->calls_lock);
  for (guint i = 0; i < calls->len; i++) {
    g_source_destroy (calls->pdata[i]);
    g_source_unref (calls->pdata[i]);
  }
  g_ptr_array_unref (calls);
}

/* ---------------------------------------------------------------- helpers */

/* A text for the composite that the installed fonts cannot all draw (boxes on the record) is
 * said in the log, with what to install. Main thread: Pango's default font map is the
 * thread's own. */
static void
check_fonts (const HdMixer *m, const char *what, const char *text, const char *font)
{
  int w, h, unknown = 0;
  if (text && *text)
    hd_text_measure (text, font, &w, &h, &unknown);
  if (unknown)
    g_warning ("hearing %s: %d characters of the %s \"%s\" have no installed font and show as "
               "boxes on the composite (a CJK font: Debian's fonts-wqy-microhei)",
               m->hid, unknown, what, text);
}

GstElement *
hd_mixer_make (Peer *p, const char *factory, const char *first_prop, ...)
{
  GstElement *e = gst_element_factory_make (factory, NULL);
  if (!e)
    g_error ("GStreamer element %s is missing", factory); /* checked at start-up */
  if (first_prop) {
    va_list ap;
    va_start (ap, first_prop);
    g_object_set_valist (G_OBJECT (e), first_prop, ap);
    va_end (ap);
  }
  if (p) {
    gst_bin_add (GST_BIN (p->mixer->pipeline), e);
    g_ptr_array_add (p->elements, gst_object_ref (e));
  }
  return e;
}

static int
by_join_order (gconstpointer a, gconstpointer b)
{
  const Peer *x = *(Peer *const *)a, *y = *(Peer *const *)b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A picture's size is known or changed (its caps, on its streaming thread): the labels placed
 * again, on the main thread (under the mixer's lock there, never here: taking a participant
 * down holds it while it waits for this thread). The caps are on the pad upstream already. */
static GstPadProbeReturn
picture_sized (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_CAPS)
    to_main (data, 3, NULL, NULL, 0);
  return GST_PAD_PROBE_OK;
}

/* A tile's label: its name and role at the bottom left of its picture, as large as a 27-pixel
 * text on a 640×360 picture scaled to the tile's (what textoverlay drew on each participant's
 * picture before, docs/performance.md), smaller if the name would not fit across it. */
#define LABEL_PX 27
#define LABEL_REF_H 360

/* Where the compositor draws `p`'s picture in the box (x, y, w, h): its proportions kept
 * (sizing-policy keep-aspect-ratio), 16:9 until its caps are known. */
static void
picture_rect (Peer *p, int x, int y, int w, int h, int r[4])
{
  int vw = 16, vh = 9;
  GstCaps *caps = p->pic_pad ? gst_pad_get_current_caps (p->pic_pad) : NULL;
  if (caps) {
    GstStructure *st = gst_caps_get_structure (caps, 0);
    int cw = 0, ch = 0;
    if (gst_structure_get_int (st, "width", &cw) && gst_structure_get_int (st, "height", &ch)
        && cw > 0 && ch > 0) {
      vw = cw;
      vh = ch;
    }
    gst_caps_unref (caps);
  }
  int pw = w, ph = h;
  if ((gint64)vw * h > (gint64)vh * w) /* wider than the box: bars above and below */
    ph = (int)((gint64)vh * w / vw);
  else
    pw = (int)((gint64)vw * h / vh);
  r[0] = x + (w - pw) / 2;
  r[1] = y + (h - ph) / 2;
  r[2] = pw;
  r[3] = ph;
}

static void
place (Peer *p, int x, int y, int w, int h)
{
  g_object_set (p->comp_pad, "xpos", x, "ypos", y, "width", w, "height", h, "alpha",
                p->video_muted ? 0.0 : 1.0, NULL);
  int r[4];
  picture_rect (p, x, y, w, h, r);
  int pad = MAX (3, 25 * r[3] / LABEL_REF_H), room = MAX (1, r[2] - 2 * pad);
  int px = CLAMP (LABEL_PX * r[3] / LABEL_REF_H, 10, 40);
  if (!p->stamp || p->stamp_px != px || p->stamp_room != room) { /* drawn for this size only */
    hd_stamp_unref (p->stamp);
    p->stamp = hd_stamp_new (p->label, LABEL_FONT_FAMILY, px, 0);
    if (p->stamp && p->stamp->w > room) { /* a long name: smaller, and if need be "…" */
      int fit = MAX (10, px * room / p->stamp->w);
      hd_stamp_unref (p->stamp);
      p->stamp = hd_stamp_new (p->label, LABEL_FONT_FAMILY, fit, room);
    }
    p->stamp_px = px;
    p->stamp_room = room;
  }
  p->label_x = r[0] + pad;
  p->label_y = r[1] + r[3] - pad - (p->stamp ? p->stamp->h : 0);
  p->label_w = room; /* never over the picture's edge, however small the tile */
}

/* The tiles' labels to the overlay (a tile whose picture is off shows none). Under lock. */
static void
label_tiles (HdMixer *m, GPtrArray *tiles)
{
  guint n = tiles->len;
  g_autofree HdStamp **stamps = g_new0 (HdStamp *, n + 1);
  g_autofree int *x = g_new0 (int, n + 1), *y = g_new0 (int, n + 1), *w = g_new0 (int, n + 1);
  for (guint i = 0; i < n; i++) {
    Peer *p = tiles->pdata[i];
    stamps[i] = p->video_muted ? NULL : p->stamp;
    x[i] = p->label_x;
    y[i] = p->label_y;
    w[i] = p->label_w;
  }
  hd_overlay_set_labels (m->overlay, stamps, x, y, w, n);
}

/* Place every tile for the hearing's layout. Under lock. */
static void
layout (HdMixer *m)
{
  GPtrArray *tiles = g_ptr_array_new ();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, m->peers);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((Peer *)v)->comp_pad)
      g_ptr_array_add (tiles, v);
  g_ptr_array_sort (tiles, by_join_order);
  guint n = tiles->len;
  int W = m->cfg.width, H = m->cfg.height;
  /* Who is shown large: the pinned participant, or the active speaker (else the first). */
  const char *want = m->layout == HD_LAYOUT_PINNED    ? m->pinned
                     : m->layout == HD_LAYOUT_SPEAKER ? m->speaker
                                                      : NULL;
  Peer *big = NULL;
  for (guint i = 0; i < n && m->layout != HD_LAYOUT_GRID; i++)
    if (!g_strcmp0 (((Peer *)tiles->pdata[i])->pid, want))
      big = tiles->pdata[i];
  if (!big && m->layout == HD_LAYOUT_SPEAKER && n)
    big = tiles->pdata[0];
  if (big && n > 1) {
    /* one large on top (3/4 of the height), the others in a strip below */
    int strip = H / 4, k = MAX ((int)n - 1, 4), sw = W / k, i = 0;
    place (big, 0, 0, W, H - strip);
    for (guint t = 0; t < n; t++)
      if (tiles->pdata[t] != big)
        place (tiles->pdata[t], (i++) * sw + (W - MIN (k, (int)n - 1) * sw) / 2, H - strip, sw,
               strip);
  } else {
    guint cols = 1;
    while (cols * cols < n)
      cols++;
    guint rows = n ? (n + cols - 1) / cols : 1;
    int tw = W / cols, th = H / rows;
    for (guint i = 0; i < n; i++)
      place (tiles->pdata[i], (int)(i % cols) * tw, (int)(i / cols) * th, tw, th);
  }
  label_tiles (m, tiles);
  GST_INFO ("hearing %s: %s layout, %u tiles, large: %s", m->hid, hd_layout_name (m->layout), n,
            big ? big->pid : "-");
  g_ptr_array_unref (tiles);
}

void
hd_mixer_force_keyframe (HdMixer *m)
{
  GstPad *pad = gst_element_get_static_pad (m->vtee, "sink");
  gst_pad_push_event (pad,
                      gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
  gst_object_unref (pad);
}

void
hd_mixer_feed_add (HdMixer *m, Peer *from, Peer *to, GstElement *amix)
{
  Feed *f = g_new0 (Feed, 1);
  f->from = from;
  f->to = to;
  f->amix = amix;
  /* Straight from the source's tee into the mixer, in the source's thread: no queue (a thread
   * woken per 10 ms packet for each of n·(n-1) feeds, measured in docs/performance.md). The
   * mixer's pad is already active (the mixer is playing): downstream first, tee pad last. */
  f->mix_pad = gst_element_request_pad_simple (amix, "sink_%u");
  f->tee_pad = gst_element_request_pad_simple (from->atee, "src_%u");
  if (!to) /* the recording's: its failure must not stop this participant's sound */
    gst_pad_add_probe (f->tee_pad, GST_PAD_PROBE_TYPE_BUFFER, hd_recorder_fullmix_firewall, m,
                       NULL);
  gst_pad_link (f->tee_pad, f->mix_pad);
  g_ptr_array_add (m->feeds, f);
}

void
hd_mixer_feed_remove (HdMixer *m, Feed *f)
{
  /* The source's thread may be inside the mixer's pad right now (or waiting there for room).
   * In this order nothing can touch a released pad: unlinked, no new push reaches the mixer;
   * the tee pad released, the tee ignores what the push in flight returns (else a FLUSHING
   * would stop the source's whole branch); the mixer's pad deactivated, which wakes a push
   * waiting for room and returns only once no push is inside it (its stream lock); only then
   * is it released. Pushing threads never take the mixer's lock, so holding it here is safe. */
  gst_pad_unlink (f->tee_pad, f->mix_pad);
  gst_element_release_request_pad (f->from->atee, f->tee_pad);
  gst_object_unref (f->tee_pad);
  gst_pad_set_active (f->mix_pad, FALSE);
  gst_element_release_request_pad (f->amix, f->mix_pad);
  gst_object_unref (f->mix_pad);
  g_ptr_array_remove (m->feeds, f);
  g_free (f);
}

/* ---------------------------------------------------------------- DTLS certificate check */

/* TRUE if the DTLS certificate the peer presented matches its SDP fingerprint. */
static gboolean
verify_certificate (Peer *p, GstPad *pad)
{
  GstWebRTCRTPTransceiver *trans = NULL;
  GstWebRTCRTPReceiver *receiver = NULL;
  GstWebRTCDTLSTransport *dtls = NULL;
  char *pem = NULL;
  gboolean ok = FALSE;
  g_object_get (pad, "transceiver", &trans, NULL);
  if (trans)
    g_object_get (trans, "receiver", &receiver, NULL);
  if (receiver)
    g_object_get (receiver, "transport", &dtls, NULL);
  if (dtls)
    g_object_get (dtls, "remote-certificate", &pem, NULL);
  if (pem && p->fp_hash) {
    BIO *bio = BIO_new_mem_buf (pem, -1);
    X509 *cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
    g_autofree char *name = g_ascii_strup (p->fp_hash, -1);
    char *dash = strchr (name, '-');
    if (dash)
      memmove (dash, dash + 1, strlen (dash));
    const EVP_MD *md = EVP_get_digestbyname (name);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (cert && md && X509_digest (cert, md, digest, &n)) {
      GString *hex = g_string_new (NULL);
      for (unsigned int i = 0; i < n; i++)
        g_string_append_printf (hex, i ? ":%02X" : "%02X", digest[i]);
      ok = g_str_equal (hex->str, p->fp_value);
      g_string_free (hex, TRUE);
    }
    X509_free (cert);
    BIO_free (bio);
  }
  GST_INFO ("peer %s: DTLS certificate %s its SDP fingerprint", p->pid,
            ok ? "matches" : "does NOT match");
  g_free (pem);
  if (dtls)
    gst_object_unref (dtls);
  if (receiver)
    gst_object_unref (receiver);
  if (trans)
    gst_object_unref (trans);
  return ok;
}

/* ---------------------------------------------------------------- incoming media */

static void
link_chain (GstPad *src, GstElement *first)
{
  GstPad *sink = gst_element_get_static_pad (first, "sink");
  if (gst_pad_link (src, sink) != GST_PAD_LINK_OK)
    GST_WARNING ("cannot link %s to %s", GST_PAD_NAME (src), GST_ELEMENT_NAME (first));
  gst_object_unref (sink);
}

static void
sync_all (GstElement **els, int n)
{
  for (int i = n - 1; i >= 0; i--)
    gst_element_sync_state_with_parent (els[i]);
}

static void
on_pad_added (GstElement *webrtc, GstPad *pad, gpointer data)
{
  HdMixer *m = data;
  gboolean latency_changed = FALSE;
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  g_mutex_lock (&m->lock);
  Peer *p = NULL;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, m->peers);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((Peer *)v)->webrtc == webrtc)
      p = v;
  GstCaps *caps = gst_pad_get_current_caps (pad);
  const GstStructure *s = caps ? gst_caps_get_structure (caps, 0) : NULL;
  const char *media = s ? gst_structure_get_string (s, "media") : NULL;
  const char *enc = s ? gst_structure_get_string (s, "encoding-name") : NULL;
  if (!p) {
    /* a peer being removed: nothing to do, its webrtcbin is going away */
  } else if (p->rejected || (!p->verified && !(p->verified = verify_certificate (p, pad)))) {
    /* cut off: its media goes to a fakesink, never near a mixer */
    if (!p->rejected)
      to_main (m, 2, p->pid, "dtls_fingerprint_mismatch", HD_PEER_FAILED);
    p->rejected = TRUE;
    GstElement *sink = hd_mixer_make (p, "fakesink", "async", FALSE, "sync", FALSE, NULL);
    gst_element_sync_state_with_parent (sink);
    link_chain (pad, sink);
  } else if (p->sends && !g_strcmp0 (media, "audio") && !g_ascii_strcasecmp (enc ? enc : "", "OPUS")
             && !p->atee) {
    /* Depayloaders and decoders only for what was negotiated. The tee after the depayloader
     * hands the sound as received to the recorder. No queue first: webrtcbin's jitter buffer
     * pushes from a thread of its own, which decodes and feeds the mixers. */
    GstElement *e[] = {
      hd_mixer_make (p, "rtpopusdepay", NULL),
      hd_mixer_make (p, "tee", "allow-not-linked", TRUE, NULL), /* decodes in its thread */
      hd_mixer_make (p, "opusdec", NULL),
      hd_mixer_make (p, "audioconvert", NULL),
      hd_mixer_make (p, "audioresample", NULL),
      hd_mixer_make (p, "capsfilter", "caps",
                     gst_caps_from_string ("audio/x-raw,format=S16LE,rate=48000,channels=2"), NULL),
      hd_mixer_make (p, "volume", "mute", p->audio_muted, NULL),
      hd_mixer_make (p, "level", "interval", (guint64)LEVEL_INTERVAL_MS * GST_MSECOND,
                     "post-messages", TRUE, NULL),
      hd_mixer_make (p, "tee", "allow-not-linked", TRUE, NULL),
    };
    for (gsize i = 0; i + 1 < G_N_ELEMENTS (e); i++)
      gst_element_link (e[i], e[i + 1]);
    p->adepay_tee = e[1];
    p->avol = e[6];
    p->alevel = e[7];
    p->level_db = -120;
    p->atee = e[8];
    sync_all (e, G_N_ELEMENTS (e));
    link_chain (pad, e[0]);
    g_hash_table_iter_init (&it, m->peers);
    while (g_hash_table_iter_next (&it, NULL, &v))
      if (v != p && ((Peer *)v)->connected)
        hd_mixer_feed_add (m, p, v, ((Peer *)v)->amix);
    hd_recorder_peer_sound (m, p);
    latency_changed = TRUE;
  } else if (p->sends && !g_strcmp0 (media, "video") && !p->comp_pad
             && (!g_ascii_strcasecmp (enc ? enc : "", "VP8")
                 || !g_ascii_strcasecmp (enc ? enc : "", "H264"))) {
    gboolean vp8 = !g_ascii_strcasecmp (enc, "VP8");
    p->video_h264 = !vp8;
    GstElement *e[] = {
      /* No queue first: webrtcbin's jitter buffer pushes from a thread of its own, which
       * depayloads, decodes and draws into the compositor (a queue's hand-off per packet saved).
       * After a lost packet: no broken picture, and a keyframe asked of the sender (PLI). */
      hd_mixer_make (p, vp8 ? "rtpvp8depay" : "rtph264depay", "request-keyframe", TRUE,
                     "wait-for-keyframe", TRUE, NULL),
      hd_mixer_make (p, "tee", "allow-not-linked", TRUE, NULL), /* as received: recorded */
      hd_mixer_make (p, vp8 ? "identity" : "h264parse", NULL),  /* H.264: whole access units */
      hd_mixer_make (p, vp8 ? "vp8dec" : "openh264dec", NULL),
      /* passes I420 through; the label is drawn on the composite (codecs/overlay.h) */
      hd_mixer_make (p, "videoconvert", NULL),
    };
    for (gsize i = 0; i + 1 < G_N_ELEMENTS (e); i++)
      gst_element_link (e[i], e[i + 1]);
    p->vdepay_tee = e[1];
    p->comp_pad = gst_element_request_pad_simple (m->comp, "sink_%u");
    /* faces keep their proportions whatever the tile's shape */
    g_object_set (p->comp_pad, "zorder", 1u, "sizing-policy", 1 /* keep-aspect-ratio */, NULL);
    GstPad *last = gst_element_get_static_pad (e[G_N_ELEMENTS (e) - 1], "src");
    gst_pad_link (last, p->comp_pad);
    p->pic_pad = last; /* its caps: the picture's size, for the label (place) */
    gst_pad_add_probe (p->comp_pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, picture_sized, m, NULL);
    layout (m);
    sync_all (e, G_N_ELEMENTS (e));
    link_chain (pad, e[0]);
    hd_recorder_peer_picture (m, p);
    latency_changed = TRUE;
  } else {
    GstElement *sink = hd_mixer_make (p, "fakesink", "async", FALSE, "sync", FALSE, NULL);
    gst_element_sync_state_with_parent (sink);
    link_chain (pad, sink);
  }
  if (caps)
    gst_caps_unref (caps);
  g_mutex_unlock (&m->lock);
  /* A new live input: the mixers must know its latency or they drop its data as late. */
  if (latency_changed)
    gst_bin_recalculate_latency (GST_BIN (m->pipeline));
}

/* ---------------------------------------------------------------- negotiation */

typedef struct {
  HdMixer *mixer;
  char *pid;
} PeerRef;

static PeerRef *
peer_ref_new (HdMixer *m, const char *pid)
{
  PeerRef *r = g_new0 (PeerRef, 1);
  r->mixer = mixer_ref (m);
  r->pid = g_strdup (pid);
  return r;
}

static void
peer_ref_free (gpointer data)
{
  PeerRef *r = data;
  mixer_unref (r->mixer);
  g_free (r->pid);
  g_free (r);
}

static void
peer_ref_closure_free (gpointer data, GClosure *closure)
{
  peer_ref_free (data);
}

static void
on_offer_created (GstPromise *promise, gpointer data)
{
  PeerRef *r = data;
  GstWebRTCSessionDescription *offer = NULL;
  const GstStructure *reply = gst_promise_get_reply (promise);
  if (reply)
    gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  gst_promise_unref (promise);
  g_mutex_lock (&r->mixer->lock);
  Peer *p = g_hash_table_lookup (r->mixer->peers, r->pid);
  GstElement *webrtc = p ? gst_object_ref (p->webrtc) : NULL;
  g_mutex_unlock (&r->mixer->lock);
  if (offer && webrtc) {
    g_signal_emit_by_name (webrtc, "set-local-description", offer, NULL);
    char *text = gst_sdp_message_as_text (offer->sdp);
    to_main (r->mixer, 0, r->pid, text, 0);
    g_free (text);
  } else if (webrtc) {
    to_main (r->mixer, 2, r->pid, "offer_failed", HD_PEER_FAILED);
  }
  if (offer)
    gst_webrtc_session_description_free (offer);
  if (webrtc)
    gst_object_unref (webrtc);
  peer_ref_free (r);
}

static void
on_negotiation_needed (GstElement *webrtc, gpointer data)
{
  PeerRef *r = data;
  GstPromise *promise
      = gst_promise_new_with_change_func (on_offer_created, peer_ref_new (r->mixer, r->pid), NULL);
  g_signal_emit_by_name (webrtc, "create-offer", NULL, promise);
}

char *
hd_candidate_with_address (const char *candidate, const char *address)
{
  g_auto (GStrv) t = g_strsplit (candidate, " ", -1);
  if (g_strv_length (t) < 8 || !g_str_has_prefix (t[0], "candidate:")
      || g_strcmp0 (t[6], "typ") != 0 || g_strcmp0 (t[7], "host") != 0)
    return NULL;
  guint64 prio = g_ascii_strtoull (t[3], NULL, 10);
  char *foundation = g_strdup_printf ("%sn", t[0]);
  g_free (t[0]);
  t[0] = foundation;
  g_free (t[3]);
  t[3] = g_strdup_printf ("%" G_GUINT64_FORMAT, prio ? prio - 1 : 0);
  g_free (t[4]);
  t[4] = g_strdup (address);
  return g_strjoinv (" ", t);
}

static void
on_ice_candidate (GstElement *webrtc, guint mline, const char *candidate, gpointer data)
{
  PeerRef *r = data;
  to_main (r->mixer, 1, r->pid, candidate, (int)mline);
  if (r->mixer->public_address) {
    /* Behind 1:1 NAT the host address is private: offer the public one as well. */
    g_autofree char *pub = hd_candidate_with_address (candidate, r->mixer->public_address);
    if (pub)
      to_main (r->mixer, 1, r->pid, pub, (int)mline);
  }
}

/* The peer is connected (ICE and DTLS): webrtcbin now takes its mix, so the mix may take the
 * others' sound. webrtcbin holds whatever is pushed into it until the answer is applied, and
 * then until the DTLS key is set; a mix fed before would fill up and stop each sender's sound,
 * for everyone: a gap at every join, silence for as long as a device never answers or never
 * gets through (UDP blocked). */
static void
feed_mix (HdMixer *m, const char *pid, GstElement *webrtc)
{
  g_mutex_lock (&m->lock);
  Peer *p = g_hash_table_lookup (m->peers, pid);
  if (p && p->webrtc == webrtc && !p->connected && !m->closed) { /* (not a reconnect's old one) */
    p->connected = TRUE;
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init (&it, m->peers);
    while (g_hash_table_iter_next (&it, NULL, &v))
      if (v != p && ((Peer *)v)->atee)
        hd_mixer_feed_add (m, v, p, p->amix);
  }
  g_mutex_unlock (&m->lock);
}

/* DTLS is up: the others' sound goes into this peer's mix, and media to it can be decrypted from
 * now on, so ask the one encoder for a keyframe at once instead of waiting for the newcomer's
 * decoder to send a PLI. */
static void
on_connection_state (GstElement *webrtc, GParamSpec *ps, gpointer data)
{
  PeerRef *r = data;
  GstWebRTCPeerConnectionState st;
  g_object_get (webrtc, "connection-state", &st, NULL);
  if (st == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) {
    feed_mix (r->mixer, r->pid, webrtc);
    hd_mixer_force_keyframe (r->mixer);
  }
}

static void
on_ice_state (GstElement *webrtc, GParamSpec *ps, gpointer data)
{
  PeerRef *r = data;
  GstWebRTCICEConnectionState st;
  g_object_get (webrtc, "ice-connection-state", &st, NULL);
  if (st == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED
      || st == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED) {
    hd_mixer_force_keyframe (r->mixer); /* the newcomer decodes a picture at once */
    to_main (r->mixer, 2, r->pid, "connected", HD_PEER_CONNECTED);
  } else if (st == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED) {
    to_main (r->mixer, 2, r->pid, "ice_failed", HD_PEER_FAILED);
  }
}

/* ---------------------------------------------------------------- peers */

/* After a peer or a hearing is taken down: the streaming threads malloc from per-thread arenas,
 * and glibc returns an arena's free pages to the system only from its top; without this, a
 * daemon's resident memory grows with every hearing it has held (bench-media churn). */
static void
give_back_memory (void)
{
  gint64 t0 = g_get_monotonic_time ();
  malloc_trim (0);
  GST_INFO ("memory given back in %" G_GINT64_FORMAT " us", g_get_monotonic_time () - t0);
}

/* The daemon resends the composite's lost packets on request but asks nobody for theirs: its
 * jitter buffers hold 50 ms, less than a village link's round trip, so a request would only add
 * RTCP to that link. (webrtcbin 1.22 would set it per transceiver, but with BUNDLE it gives every
 * jitter buffer the setting of the last m-line, audio or not.) */
static void
on_new_jitterbuffer (GstElement *rtpbin, GstElement *jb, guint session, guint ssrc, gpointer data)
{
  g_object_set (jb, "do-retransmission", FALSE, NULL);
}

static void
peer_free (Peer *p)
{
  if (p->stats_pending)
    gst_promise_unref (p->stats_pending);
  g_ptr_array_unref (p->elements);
  g_free (p->pid);
  g_free (p->label);
  hd_stamp_unref (p->stamp);
  if (p->pic_pad)
    gst_object_unref (p->pic_pad);
  g_free (p->fp_hash);
  g_free (p->fp_value);
  g_free (p);
}

gboolean
hd_mixer_add_peer (HdMixer *m, const char *pid, const char *label, gboolean sends, GError **error)
{
  g_mutex_lock (&m->lock);
  if (g_hash_table_contains (m->peers, pid)) {
    g_mutex_unlock (&m->lock);
    hd_mixer_remove_peer (m, pid); /* a reconnect replaces the old peer */
    g_mutex_lock (&m->lock);
  }
  Peer *p = g_new0 (Peer, 1);
  p->mixer = m;
  p->pid = g_strdup (pid);
  p->label = g_strdup (label);
  check_fonts (m, "name", label, LABEL_FONT);
  p->sends = sends;
  p->seq = m->next_seq++;
  p->elements = g_ptr_array_new_with_free_func (gst_object_unref);
  p->webrtc = hd_mixer_make (p, "webrtcbin", "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE,
                             "latency", (guint)m->cfg.latency_ms, NULL);
  if (m->stun)
    g_object_set (p->webrtc, "stun-server", m->stun, NULL);
  if (m->turn)
    g_object_set (p->webrtc, "turn-server", m->turn, NULL);
  hd_engine_webrtcbin_defaults (p->webrtc);
  GstElement *rtpbin = gst_bin_get_by_name (GST_BIN (p->webrtc), "rtpbin");
  if (rtpbin) { /* runs after webrtcbin's own handler: this setting stands */
    g_signal_connect (rtpbin, "new-jitterbuffer", G_CALLBACK (on_new_jitterbuffer), NULL);
    gst_object_unref (rtpbin);
  }
  if (m->local_addresses) {
    /* [ice] interfaces: libnice gathers only on the addresses it is given */
    GObject *ice = NULL, *agent = NULL;
    g_object_get (p->webrtc, "ice-agent", &ice, NULL);
    if (ice)
      g_object_get (ice, "agent", &agent, NULL);
    for (char **a = m->local_addresses; agent && *a; a++) {
      NiceAddress addr;
      nice_address_init (&addr);
      if (nice_address_set_from_string (&addr, *a))
        nice_agent_add_local_address (NICE_AGENT (agent), &addr);
    }
    g_clear_object (&agent);
    g_clear_object (&ice);
  }
  if (m->cfg.port_min > 0) {
    GObject *ice = NULL;
    g_object_get (p->webrtc, "ice-agent", &ice, NULL);
    if (ice)
      g_object_set (ice, "min-rtp-port", (guint)m->cfg.port_min, "max-rtp-port",
                    (guint)m->cfg.port_max, NULL);
    g_clear_object (&ice);
  }
  g_signal_connect_data (p->webrtc, "on-negotiation-needed", G_CALLBACK (on_negotiation_needed),
                         peer_ref_new (m, pid), peer_ref_closure_free, 0);
  g_signal_connect_data (p->webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate),
                         peer_ref_new (m, pid), peer_ref_closure_free, 0);
  g_signal_connect_data (p->webrtc, "notify::ice-connection-state", G_CALLBACK (on_ice_state),
                         peer_ref_new (m, pid), peer_ref_closure_free, 0);
  g_signal_connect_data (p->webrtc, "notify::connection-state", G_CALLBACK (on_connection_state),
                         peer_ref_new (m, pid), peer_ref_closure_free, 0);
  g_signal_connect (p->webrtc, "pad-added", G_CALLBACK (on_pad_added), m);

  /* sound to this peer: everyone else's (feeds) over a live silence, so it always runs */
  GstElement *a[] = {
    /* 10 ms blocks: the mixer cannot send a moment before the silence under it exists (the
     * default 1024 samples held every mix back 21 ms) */
    hd_mixer_make (p, "audiotestsrc", "wave", 4 /* silence */, "is-live", TRUE, "samplesperbuffer",
                   480, NULL),
    /* Inputs come from the network through jitter buffers: give the aggregator room, or it
     * drops them as late (a participant silently missing from someone's mix). */
    hd_mixer_make (p, "audiomixer", "start-time-selection", 1 /* first */, "latency",
                   (guint64)m->cfg.mix_latency_ms * GST_MSECOND, NULL),
    hd_mixer_make (p, "audioconvert", NULL),
    hd_mixer_make (p, "audioresample", NULL),
    hd_mixer_make (p, "opusenc", "bitrate", 48000, "frame-size", 10 /* ms: latency */, NULL),
    hd_mixer_make (p, "rtpopuspay", "pt", PT_OPUS, NULL),
  };
  p->amix = a[1];
  for (gsize i = 0; i + 1 < G_N_ELEMENTS (a); i++)
    gst_element_link (a[i], a[i + 1]);
  gst_element_link_pads (a[5], "src", p->webrtc, "sink_0");
  /* the one composite encode */
  p->vqueue
      = hd_mixer_make (p, "queue", "max-size-time", (guint64)100 * GST_MSECOND, "max-size-buffers",
                       0, "max-size-bytes", 0, "leaky", 2 /* downstream */, NULL);
  gst_element_link_pads (p->vqueue, "src", p->webrtc, "sink_1");
  if (m->cfg.nack) {
    /* The composite resent on request (NACK, answered with RFC 4588 RTX): a packet a weak link
     * lost is sent again instead of the picture freezing until a keyframe, which, the composite
     * being encoded once, every participant would receive. */
    GstPad *vsink = gst_element_get_static_pad (p->webrtc, "sink_1");
    GObject *trans = NULL;
    if (vsink)
      g_object_get (vsink, "transceiver", &trans, NULL);
    if (trans)
      g_object_set (trans, "do-nack", TRUE, NULL);
    g_clear_object (&trans);
    g_clear_object (&vsink);
  }
  /* Downstream first: a live source pushing into an element that is not PLAYING yet gets
   * FLUSHING and stops for good (this participant would hear nothing, ever). */
  gst_element_sync_state_with_parent (p->webrtc);
  gst_element_sync_state_with_parent (p->vqueue);
  for (int i = G_N_ELEMENTS (a) - 1; i >= 0; i--)
    gst_element_sync_state_with_parent (a[i]);
  p->vtee_pad = gst_element_request_pad_simple (m->vtee, "src_%u");
  GstPad *qsink = gst_element_get_static_pad (p->vqueue, "sink");
  gst_pad_link (p->vtee_pad, qsink);
  gst_object_unref (qsink);

  g_hash_table_insert (m->peers, p->pid, p);
  /* the others' sound comes into its mix once it is connected (feed_mix) */
  g_mutex_unlock (&m->lock);
  return TRUE;
}

/* webrtcbin 1.22 gathers statistics on its own thread, reading its RTP sessions' tables of
 * sources under their lock, but a session going down empties that table without the lock
 * (rtp_session_reset, from its PAUSED→READY) and webrtcbin stops its thread only later, on its
 * way to NULL: statistics gathered while a peer is taken down walk a table being emptied — a
 * GLib critical "g_hash_table_foreach: assertion 'version == hash_table->version'" at best,
 * freed sources read at worst. Seen once, in the daemon, in a clean-clone CI run. So a peer's
 * statistics in flight (`stats`, taken) are waited for before it is taken down, and none are
 * asked for after it was taken out of the table. Main thread, without the lock. */
static void
wait_for_stats (GstPromise *stats)
{
  if (!stats)
    return;
  gst_promise_wait (stats); /* webrtcbin always answers: a closed one at once, with an error */
  gst_promise_unref (stats);
}

void
hd_mixer_remove_peer (HdMixer *m, const char *pid)
{
  g_mutex_lock (&m->lock);
  Peer *p = g_hash_table_lookup (m->peers, pid);
  if (!p) {
    g_mutex_unlock (&m->lock);
    return;
  }
  g_hash_table_steal (m->peers, pid);
  GstPromise *stats = g_steal_pointer (&p->stats_pending);
  hd_recorder_peer_removed (m, p);
  if (!g_strcmp0 (m->speaker, pid))
    g_clear_pointer (&m->speaker, g_free);
  if (!g_strcmp0 (m->candidate, pid))
    g_clear_pointer (&m->candidate, g_free);
  for (guint i = m->feeds->len; i-- > 0;) {
    Feed *f = m->feeds->pdata[i];
    if (f->from == p || f->to == p)
      hd_mixer_feed_remove (m, f);
  }
  GstPad *qsink = gst_element_get_static_pad (p->vqueue, "sink");
  gst_pad_unlink (p->vtee_pad, qsink);
  gst_object_unref (qsink);
  gst_element_release_request_pad (m->vtee, p->vtee_pad);
  gst_object_unref (p->vtee_pad);
  if (p->comp_pad) {
    gst_element_release_request_pad (m->comp, p->comp_pad);
    gst_object_unref (p->comp_pad);
    p->comp_pad = NULL;
  }
  layout (m);
  g_mutex_unlock (&m->lock);
  wait_for_stats (stats);
  /* State changes outside the lock: webrtcbin's threads may want it while they wind down. */
  for (guint i = 0; i < p->elements->len; i++)
    gst_element_set_state (p->elements->pdata[i], GST_STATE_NULL);
  for (guint i = 0; i < p->elements->len; i++)
    gst_bin_remove (GST_BIN (m->pipeline), p->elements->pdata[i]);
  GST_INFO ("hearing %s: peer %s removed, %u left", m->hid, pid, g_hash_table_size (m->peers));
  peer_free (p);
  give_back_memory ();
}

guint
hd_mixer_peer_count (HdMixer *m)
{
  g_mutex_lock (&m->lock);
  guint n = g_hash_table_size (m->peers);
  g_mutex_unlock (&m->lock);
  return n;
}

gboolean
hd_mixer_set_answer (HdMixer *m, const char *pid, const char *sdp, const HdSdpFingerprint *fp,
                     GError **error)
{
  GstSDPMessage *msg = NULL;
  if (gst_sdp_message_new_from_text (sdp, &msg) != GST_SDP_OK) {
    g_set_error_literal (error, HD_MIXER_ERROR, HD_MIXER_ERROR_BAD_INPUT, "unparseable SDP");
    return FALSE;
  }
  g_mutex_lock (&m->lock);
  Peer *p = g_hash_table_lookup (m->peers, pid);
  GstElement *webrtc = p ? gst_object_ref (p->webrtc) : NULL;
  if (p) {
    g_free (p->fp_hash);
    g_free (p->fp_value);
    p->fp_hash = g_strdup (fp->hash);
    p->fp_value = g_strdup (fp->value);
  }
  g_mutex_unlock (&m->lock);
  if (!webrtc) {
    gst_sdp_message_free (msg);
    g_set_error_literal (error, HD_MIXER_ERROR, HD_MIXER_ERROR_NO_PEER,
                         "no media offer is pending for this session");
    return FALSE;
  }
  GstWebRTCSessionDescription *answer
      = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, msg);
  g_signal_emit_by_name (webrtc, "set-remote-description", answer, NULL);
  gst_webrtc_session_description_free (answer);
  gst_object_unref (webrtc);
  return TRUE;
}

gboolean
hd_mixer_add_candidate (HdMixer *m, const char *pid, const char *candidate, int mline,
                        GError **error)
{
  g_mutex_lock (&m->lock);
  Peer *p = g_hash_table_lookup (m->peers, pid);
  GstElement *webrtc = p ? gst_object_ref (p->webrtc) : NULL;
  g_mutex_unlock (&m->lock);
  if (!webrtc) {
    g_set_error_literal (error, HD_MIXER_ERROR, HD_MIXER_ERROR_NO_PEER,
                         "no media offer is pending for this session");
    return FALSE;
  }
  if (*candidate) /* "" ends the peer's gathering: nothing to add */
    g_signal_emit_by_name (webrtc, "add-ice-candidate", (guint)mline, candidate);
  gst_object_unref (webrtc);
  return TRUE;
}

void
hd_mixer_set_muted (HdMixer *m, const char *pid, gboolean audio, gboolean video)
{
  g_mutex_lock (&m->lock);
  Peer *p = g_hash_table_lookup (m->peers, pid);
  if (p) {
    p->audio_muted = audio;
    p->video_muted = video;
    if (p->avol)
      g_object_set (p->avol, "mute", audio, NULL);
    if (p->comp_pad)
      layout (m);
  }
  g_mutex_unlock (&m->lock);
}

void
hd_mixer_set_turn_server (HdMixer *m, const char *uri)
{
  g_mutex_lock (&m->lock);
  g_free (m->turn);
  m->turn = uri && *uri ? g_strdup (uri) : NULL;
  g_mutex_unlock (&m->lock);
}

void
hd_mixer_set_layout (HdMixer *m, HdLayout mode, const char *pinned)
{
  g_mutex_lock (&m->lock);
  m->layout = mode;
  g_free (m->pinned);
  m->pinned = mode == HD_LAYOUT_PINNED ? g_strdup (pinned) : NULL;
  layout (m);
  g_mutex_unlock (&m->lock);
}

/* ---------------------------------------------------------------- the hearing's pipeline */

/* The loudest peer's RMS in dB from a level message, or -120. */
static double
level_rms_db (const GstStructure *s)
{
  double db = -120;
  const GValue *rms = gst_structure_get_value (s, "rms");
  /* level's "rms" is still a GValueArray in 1.22 */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GValueArray *a
      = rms && G_VALUE_HOLDS (rms, g_value_array_get_type ()) ? g_value_get_boxed (rms) : NULL;
  for (guint i = 0; a && i < a->n_values; i++)
    db = MAX (db, g_value_get_double (g_value_array_get_nth (a, i)));
  G_GNUC_END_IGNORE_DEPRECATIONS
  return db;
}

/* A loudness reading of one peer: pick the active speaker. Main thread. */
static void
on_level (HdMixer *m, GstObject *src, const GstStructure *s)
{
  char *changed = NULL;
  gboolean relayout = FALSE;
  g_mutex_lock (&m->lock);
  GHashTableIter it;
  gpointer v;
  Peer *loudest = NULL, *current = m->speaker ? g_hash_table_lookup (m->peers, m->speaker) : NULL;
  g_hash_table_iter_init (&it, m->peers);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    Peer *p = v;
    if (GST_OBJECT (p->alevel) == src)
      p->level_db = level_rms_db (s);
    if (p->alevel && (!loudest || p->level_db > loudest->level_db))
      loudest = p;
  }
  if (loudest && loudest != current && loudest->level_db > SPEECH_DB
      && (!current || loudest->level_db > current->level_db + SWITCH_MARGIN_DB)) {
    if (g_strcmp0 (m->candidate, loudest->pid)) {
      g_free (m->candidate);
      m->candidate = g_strdup (loudest->pid);
      m->candidate_hits = 0;
    }
    /* every peer posts a reading per interval: count intervals, not messages */
    if (GST_OBJECT (loudest->alevel) == src && ++m->candidate_hits >= SWITCH_READINGS) {
      g_free (m->speaker);
      m->speaker = g_strdup (loudest->pid);
      changed = g_strdup (m->speaker);
      relayout = m->layout == HD_LAYOUT_SPEAKER;
    }
  } else if (loudest == current) {
    g_clear_pointer (&m->candidate, g_free);
  }
  if (relayout)
    layout (m);
  g_mutex_unlock (&m->lock);
  if (changed && m->cb.on_speaker)
    m->cb.on_speaker (changed, m->user);
  g_free (changed);
}

static void
on_sync_error (GstBus *bus, GstMessage *msg, gpointer data)
{
  hd_recorder_on_sync_error (data, msg);
}

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer data)
{
  HdMixer *m = data;
  const GstStructure *s = gst_message_get_structure (msg);
  if (hd_recorder_on_message (m, msg))
    return G_SOURCE_CONTINUE;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && gst_structure_has_name (s, "level"))
    on_level (m, GST_MESSAGE_SRC (msg), s);
  else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) e = NULL;
    g_autofree char *dbg = NULL;
    gst_message_parse_error (msg, &e, &dbg);
    g_warning ("hearing %s: media error from %s: %s", m->hid, GST_OBJECT_NAME (msg->src),
               e->message);
  }
  return G_SOURCE_CONTINUE;
}

/* ---------------------------------------------------------------- link quality */

#define QUALITY_INTERVAL_S 2

typedef struct {
  guint64 bytes, received, lost;
  double rtt;
} Sums;

static gboolean
sum_stat (GQuark field, const GValue *value, gpointer data)
{
  Sums *s = data;
  if (!GST_VALUE_HOLDS_STRUCTURE (value))
    return TRUE;
  const GstStructure *st = gst_value_get_structure (value);
  GstWebRTCStatsType type = 0;
  if (!gst_structure_get_enum (st, "type", GST_TYPE_WEBRTC_STATS_TYPE, (gint *)&type))
    return TRUE;
  if (type == GST_WEBRTC_STATS_INBOUND_RTP) {
    guint64 b = 0, r = 0;
    gint64 l = 0;
    if (gst_structure_get_uint64 (st, "bytes-received", &b))
      s->bytes += b;
    if (gst_structure_get_uint64 (st, "packets-received", &r))
      s->received += r;
    if (gst_structure_get_int64 (st, "packets-lost", &l) && l > 0)
      s->lost += (guint64)l;
  } else if (type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP) {
    double rtt = -1;
    if (gst_structure_get_double (st, "round-trip-time", &rtt) && rtt > s->rtt)
      s->rtt = rtt;
  }
  return TRUE;
}

/* webrtcbin's statistics for one peer (its thread): the interval's rate, loss and round trip. */
static void
on_stats (GstPromise *promise, gpointer data)
{
  PeerRef *r = data;
  const GstStructure *reply = gst_promise_get_reply (promise);
  Sums s = { 0, 0, 0, -1 };
  if (reply)
    gst_structure_foreach (reply, sum_stat, &s);
  gint64 now = g_get_monotonic_time ();
  g_mutex_lock (&r->mixer->lock);
  Peer *p = g_hash_table_lookup (r->mixer->peers, r->pid);
  if (p && p->stats_pending == promise)
    g_clear_pointer (&p->stats_pending, gst_promise_unref);
  if (p && reply) {
    if (p->stats_at) {
      double dt = (now - p->stats_at) / 1e6;
      guint64 got = s.received - MIN (s.received, p->stats_received);
      guint64 lost = s.lost - MIN (s.lost, p->stats_lost);
      p->kbps = dt > 0 ? (s.bytes - MIN (s.bytes, p->stats_bytes)) * 8 / 1000.0 / dt : 0;
      p->loss_pct = got + lost ? 100.0 * lost / (got + lost) : 0;
      p->rtt_ms = s.rtt >= 0 ? s.rtt * 1000 : -1;
      p->have_quality = TRUE;
    }
    p->stats_at = now;
    p->stats_bytes = s.bytes;
    p->stats_received = s.received;
    p->stats_lost = s.lost;
  }
  g_mutex_unlock (&r->mixer->lock);
  gst_promise_unref (promise);
  peer_ref_free (r);
}

static gboolean
quality_tick (gpointer data)
{
  HdMixer *m = data;
  GArray *q = g_array_new (FALSE, FALSE, sizeof (HdPeerQuality));
  GPtrArray *ask = g_ptr_array_new ();
  g_mutex_lock (&m->lock);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, m->peers);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    Peer *p = v;
    if (p->have_quality) {
      HdPeerQuality e = { g_strdup (p->pid), p->loss_pct, p->rtt_ms, p->kbps };
      g_array_append_val (q, e);
    }
    if (p->webrtc && !p->rejected && !p->stats_pending) { /* not while the last are gathered */
      GstPromise *promise
          = gst_promise_new_with_change_func (on_stats, peer_ref_new (m, p->pid), NULL);
      p->stats_pending = gst_promise_ref (promise);
      g_ptr_array_add (ask, gst_object_ref (p->webrtc));
      g_ptr_array_add (ask, promise);
    }
  }
  g_mutex_unlock (&m->lock);
  for (guint i = 0; i + 1 < ask->len; i += 2) {
    g_signal_emit_by_name (ask->pdata[i], "get-stats", NULL, ask->pdata[i + 1]);
    gst_object_unref (ask->pdata[i]);
  }
  g_ptr_array_unref (ask);
  if (q->len && m->cb.on_quality)
    m->cb.on_quality ((const HdPeerQuality *)q->data, q->len, m->user);
  for (guint i = 0; i < q->len; i++)
    g_free ((char *)g_array_index (q, HdPeerQuality, i).pid);
  g_array_unref (q);
  return G_SOURCE_CONTINUE;
}

/* Each composite frame, on the compositor's thread: its text (codecs/overlay.h). */
static GstPadProbeReturn
draw_text (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  HdMixer *m = data;
  GstBuffer *buf = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  GST_PAD_PROBE_INFO_DATA (info) = buf;
  GstVideoFrame frame;
  if (gst_video_frame_map (&frame, &m->composite_info, buf, GST_MAP_READWRITE)) {
    hd_overlay_draw (m->overlay, &frame);
    gst_video_frame_unmap (&frame);
  }
  return GST_PAD_PROBE_OK;
}

HdMixer *
hd_mixer_new (const char *hid, const char *caption, const HdMixerConfig *cfg,
              const HdMixerCallbacks *cb, gpointer user, GError **error)
{
  if (!hd_mixer_debug)
    GST_DEBUG_CATEGORY_INIT (hd_mixer_debug, "hd-mixer", 0, "hearingd hearing mixer");
  HdMixer *m = g_new0 (HdMixer, 1);
  m->refs = 1;
  g_mutex_init (&m->lock);
  g_mutex_init (&m->calls_lock);
  m->calls = g_ptr_array_new ();
  m->main = g_main_context_ref_thread_default ();
  m->hid = g_strdup (hid);
  m->cfg = *cfg;
  m->h264 = !g_strcmp0 (cfg->video_codec, "h264");
  m->cfg.video_codec = NULL;
  m->stun = cfg->stun_server && *cfg->stun_server ? g_strdup (cfg->stun_server) : NULL;
  m->public_address
      = cfg->public_address && *cfg->public_address ? g_strdup (cfg->public_address) : NULL;
  m->local_addresses = cfg->local_addresses ? g_strdupv ((char **)cfg->local_addresses) : NULL;
  m->cfg.stun_server = NULL;
  m->cfg.public_address = NULL; /* the copies above are the ones kept */
  m->cfg.local_addresses = NULL;
  m->cb = *cb;
  m->user = user;
  m->peers = g_hash_table_new (g_str_hash, g_str_equal);
  m->feeds = g_ptr_array_new ();
  if (caption)
    check_fonts (m, "case number", caption, CAPTION_FONT);
  m->spent = g_ptr_array_new ();
  m->pipeline = gst_pipeline_new (hid);
  /* The compositor's clock: a live source it never draws (alpha 0, below), so it runs with
   * nobody in the hearing; tiny, because its frames are made and handed over all the same. The
   * output's size comes from the caps after the compositor. */
  g_autofree char *caps
      = g_strdup_printf ("video/x-raw,format=I420,width=16,height=16,framerate=%d/1", cfg->fps);
  g_autofree char *i420 = g_strdup_printf ("video/x-raw,format=I420,width=%d,height=%d,"
                                           "framerate=%d/1",
                                           cfg->width, cfg->height, cfg->fps);
  GstElement *e[] = {
    hd_mixer_make (NULL, "videotestsrc", "pattern", 2 /* black */, "is-live", TRUE, NULL),
    hd_mixer_make (NULL, "capsfilter", "caps", gst_caps_from_string (caps), NULL),
    hd_mixer_make (NULL, "compositor", "background", 1 /* black */, "latency",
                   (guint64)VIDEO_MIX_LATENCY_MS * GST_MSECOND, NULL),
    /* I420 straight out of the compositor: what the overlays and the encoder take, with no
     * conversion (AYUV and two videoconverts cost as much again as the encode, measured) */
    hd_mixer_make (NULL, "capsfilter", "caps", gst_caps_from_string (i420), NULL),
  };
  /* the one encode: VP8 realtime, or H.264 (OpenH264: constrained baseline, packetization
   * mode 1, what browsers and hardware decoders take) with its parameter sets before every
   * keyframe for late joiners */
  /* The encoded frames are tapped (etee) before the payloader: the recording takes the
   * composite there, 30 frames a second, not depayloading ~150 RTP packets a second again. */
  m->etee = hd_mixer_make (NULL, "tee", "allow-not-linked", TRUE, NULL);
  GstElement *enc[4];
  gsize nenc = 0;
  if (m->h264) {
    enc[nenc++] = hd_mixer_make (NULL, "openh264enc", "bitrate", (guint)cfg->video_bitrate,
                                 "gop-size", 300u, "complexity", 0 /* low */, "rate-control",
                                 1 /* bitrate */, "multi-thread", 2u, NULL);
    enc[nenc++] = hd_mixer_make (NULL, "h264parse", NULL);
    enc[nenc++] = m->etee;
    enc[nenc++] = hd_mixer_make (NULL, "rtph264pay", "pt", PT_H264, "config-interval", -1,
                                 "aggregate-mode", 1 /* zero-latency */, NULL);
  } else {
    enc[nenc++] = hd_mixer_make (NULL, "vp8enc", "deadline", (gint64)1, "cpu-used", -6, "end-usage",
                                 1 /* cbr */, "target-bitrate", cfg->video_bitrate,
                                 "keyframe-max-dist", 300, "lag-in-frames", 0, "error-resilient", 1,
                                 /* one thread: libvpx's VP8 row threads wait for each other by
                                  * spinning, 2.6x the CPU of one thread for the same frames
                                  * (measured, 720p30); one frame takes ~4 ms on one core */
                                 "threads", 1, NULL);
    enc[nenc++] = m->etee;
    enc[nenc++]
        = hd_mixer_make (NULL, "rtpvp8pay", "pt", PT_VP8, "picture-id-mode", 2 /* 15-bit */, NULL);
  }
  m->vtee = hd_mixer_make (NULL, "tee", "allow-not-linked", TRUE, NULL);
  GstElement *chain[G_N_ELEMENTS (e) + G_N_ELEMENTS (enc) + 1];
  gsize n = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (e); i++)
    chain[n++] = e[i];
  for (gsize i = 0; i < nenc; i++)
    chain[n++] = enc[i];
  chain[n++] = m->vtee;
  gboolean ok = TRUE;
  for (gsize i = 0; i < n; i++)
    gst_bin_add (GST_BIN (m->pipeline), chain[i]);
  for (gsize i = 0; i + 1 < n; i++)
    ok = ok && gst_element_link (chain[i], chain[i + 1]);
  m->comp = e[2];
  /* the case number, the clock and the tiles' labels, blended into each composite frame */
  m->overlay = hd_overlay_new (caption, CAPTION_FONT);
  gst_video_info_set_format (&m->composite_info, GST_VIDEO_FORMAT_I420, cfg->width, cfg->height);
  GstPad *drawn = gst_element_get_static_pad (e[3], "src");
  gst_pad_add_probe (drawn, GST_PAD_PROBE_TYPE_BUFFER, draw_text, m, NULL);
  gst_object_unref (drawn);
  GstPad *bg = gst_element_get_static_pad (e[1], "src"), *bg_peer = gst_pad_get_peer (bg);
  if (bg_peer) { /* never blended: the compositor skips a pad of alpha 0 entirely */
    g_object_set (bg_peer, "alpha", 0.0, NULL);
    gst_object_unref (bg_peer);
  }
  gst_object_unref (bg);
  m->quality_timer = g_timeout_add_seconds (QUALITY_INTERVAL_S, quality_tick, m);
  GstBus *bus = gst_pipeline_get_bus (GST_PIPELINE (m->pipeline));
  gst_bus_add_watch (bus, on_bus, m);
  /* an error is seen in the thread that raised it, before its flow return travels upstream */
  gst_bus_enable_sync_message_emission (bus);
  g_signal_connect (bus, "sync-message::error", G_CALLBACK (on_sync_error), m);
  gst_object_unref (bus);
  if (!ok || gst_element_set_state (m->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, HD_MIXER_ERROR, HD_MIXER_ERROR_FAILED,
                 "hearing %s: the media pipeline did not start", hid);
    hd_mixer_free (m);
    return NULL;
  }
  return m;
}

void
hd_mixer_free (HdMixer *m)
{
  if (!m)
    return;
  m->closed = TRUE;
  if (m->quality_timer)
    g_source_remove (m->quality_timer);
  GstBus *bus = gst_pipeline_get_bus (GST_PIPELINE (m->pipeline));
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  GPtrArray *stats = g_ptr_array_new (); /* as for a peer taken down, for all of them */
  g_mutex_lock (&m->lock);
  GHashTableIter pi;
  gpointer pv;
  g_hash_table_iter_init (&pi, m->peers);
  while (g_hash_table_iter_next (&pi, NULL, &pv))
    if (((Peer *)pv)->stats_pending)
      g_ptr_array_add (stats, g_steal_pointer (&((Peer *)pv)->stats_pending));
  g_mutex_unlock (&m->lock);
  for (guint i = 0; i < stats->len; i++)
    wait_for_stats (stats->pdata[i]);
  g_ptr_array_unref (stats);
  gst_element_set_state (m->pipeline, GST_STATE_NULL);
  drop_calls (m);       /* the pipeline's threads are gone: no more come */
  hd_overlay_free (g_steal_pointer (&m->overlay));
  hd_recorder_free (m); /* after the pipeline stopped: its tracks' files are closed */
  g_mutex_lock (&m->lock);
  while (m->feeds->len) {
    Feed *f = g_ptr_array_steal_index (m->feeds, 0);
    gst_object_unref (f->tee_pad);
    gst_object_unref (f->mix_pad);
    g_free (f);
  }
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, m->peers);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    Peer *p = v;
    gst_object_unref (p->vtee_pad);
    if (p->comp_pad)
      gst_object_unref (p->comp_pad);
    peer_free (p);
  }
  g_hash_table_remove_all (m->peers);
  g_mutex_unlock (&m->lock);
  gst_object_unref (m->pipeline);
  mixer_unref (m);
  give_back_memory ();
}
