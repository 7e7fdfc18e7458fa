/* hearingd.c — the daemon's main: configuration, state dir, keys, store, media engine, the
 * signaling server on the GLib main loop, and graceful shutdown on SIGTERM/SIGINT. It is the
 * glue between the signaling server and the hearing core. */
#define G_LOG_DOMAIN "hd-main"

#include "codecs/engine.h"
#include "codecs/mixer.h"
#include "codecs/sdp.h"
#include "config/config.h"
#include "codecs/export.h"
#include "daemon/api.h"
#include "daemon/archive.h"
#include "daemon/audit.h"
#include "daemon/auth.h"
#include "daemon/hearing.h"
#include "daemon/recwriter.h"
#include "daemon/store.h"
#include "daemon/tls.h"
#include "daemon/util.h"
#include "signaling/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <locale.h>
#include <malloc.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct {
  HdConfig *cfg;
  GMainLoop *loop;
  HdStore *store;
  HdSigner *signer;
  HdCore *core;
  HdApi api;
  HdServer *server;
  gboolean stopping;
  gint64 stop_deadline;
  GHashTable *hearings; /* hid -> Hearing*: hearings with media running */
  char **ice_addresses; /* [ice] interfaces resolved to IPv4 addresses, or NULL: all */
  char *archive_dir;    /* [archive] dir, or <state_dir>/archive */
} Daemon;

/* ---------------------------------------------------------------- logging */

static HdLogLevel log_level = HD_LOG_INFO;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n, gpointer user)
{
  const char *domain = "hearingd", *message = "";
  for (gsize i = 0; i < n; i++) {
    if (!g_strcmp0 (fields[i].key, "GLIB_DOMAIN"))
      domain = fields[i].value;
    else if (!g_strcmp0 (fields[i].key, "MESSAGE"))
      message = fields[i].value;
  }
  const char *name;
  HdLogLevel l;
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    name = "ERROR", l = HD_LOG_ERROR;
  else if (level & G_LOG_LEVEL_WARNING)
    name = "WARN", l = HD_LOG_WARNING;
  else if (level & G_LOG_LEVEL_MESSAGE)
    name = "NOTE", l = HD_LOG_INFO;
  else if (level & G_LOG_LEVEL_INFO)
    name = "INFO", l = HD_LOG_INFO;
  else
    name = "DEBUG", l = HD_LOG_DEBUG;
  if (l > log_level)
    return G_LOG_WRITER_HANDLED;
  g_autofree char *ts = hd_time_iso (g_get_real_time ());
  fprintf (stderr, "%s %-5s %s: %s\n", ts, name, domain, message);
  return G_LOG_WRITER_HANDLED;
}

static G_GNUC_NORETURN void die (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

static void
die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "hearingd: error: ");
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  fflush (NULL);
  /* Fatal: skip atexit work (a leak check of what start-up had built is noise). */
  _exit (1);
}

/* ---------------------------------------------------------------- glue: signaling <-> core */

static void
io_send (gpointer conn, char *text, gpointer user)
{
  hd_sig_conn_send_take (conn, text);
}

static void
io_send_latest (gpointer conn, const char *kind, char *text, gpointer user)
{
  hd_sig_conn_send_latest (conn, kind, text);
}

static void
io_close (gpointer conn, int code, const char *reason, gpointer user)
{
  hd_sig_conn_close (conn, code, reason);
}

static void
io_joined (gpointer conn, gpointer user)
{
  hd_sig_conn_set_joined (conn);
}

static void
sig_message (HdSigConn *conn, const HdMsg *msg, gpointer user)
{
  Daemon *d = user;
  hd_core_message (d->core, conn, msg);
}

static void
sig_closed (HdSigConn *conn, gpointer user)
{
  Daemon *d = user;
  hd_core_closed (d->core, conn);
}

/* ---------------------------------------------------------------- glue: core <-> media */

/* One hearing's mixer, its recording, and what their callbacks need to find sessions. */
typedef struct {
  Daemon *d;
  char *hid, *case_number, *court;
  HdMixer *mixer;
  HdRecWriter *archive;        /* the recording of this session (open from in_session to closed),
                                  written on its own thread */
  gboolean created;            /* its folder and first manifest are on disk */
  gboolean closing;            /* its closing is queued: waiting for on_closed */
  char *start_who, *start_why; /* the start event, for when the folder is created */
  gboolean sizing;             /* the archive's free space being looked up (rec_sized) */
  gint64 rec_ms, rec_bytes;    /* its figures as last reported by the writer */
  guint rec_segments;
  gboolean recording;        /* the mixer is recording (not paused) */
  gboolean finish_after;     /* close the archive once the mixer's recording has stopped */
  const char *finish_status; /* "closed", or "interrupted" by a shutdown */
  gboolean resume_after;     /* the session reopened while the last segments were finishing */
  gint64 elapsed_ms;         /* recording time before the current run (pauses excluded) */
  gint64 stop_offset_ms;     /* the recording's clock when the current run was stopped */
  GHashTable *names;         /* participants' names, case-folded, for the catalogue */
  GHashTable *present;       /* pid -> json {name, role}: who is in the hearing's media now */
  gboolean off_record;       /* the judge or clerk paused the recording (until resumed, or the
                                session opens again) */
  const char *who;           /* who the next start/stop event is by (a participant id), or NULL */
  char *resume_who, *resume_why; /* for a resume that waits for the last segments (resume_after) */
  gboolean in_session;           /* the hearing's state is in_session */
  guint retry_source;            /* after a storage failure: tries to record again */
  gboolean retry_sizing;         /* …and looks up the archive's free space for it (retry_sized) */
} Hearing;

static void
hearing_free (Hearing *h)
{
  if (h->retry_source)
    g_source_remove (h->retry_source);
  hd_mixer_free (h->mixer);
  hd_recwriter_free (h->archive); /* what is queued is written first */
  g_hash_table_unref (h->names);
  g_hash_table_unref (h->present);
  g_free (h->resume_who);
  g_free (h->resume_why);
  g_free (h->start_who);
  g_free (h->start_why);
  g_free (h->hid);
  g_free (h->case_number);
  g_free (h->court);
  g_free (h);
}

static void
mx_local_sdp (const char *pid, const char *sdp, gpointer user)
{
  Hearing *h = user;
  gpointer conn = hd_core_find_conn (h->d->core, h->hid, pid);
  if (conn)
    hd_core_send (h->d->core, conn, hd_protocol_offer (sdp));
}

static void
mx_local_candidate (const char *pid, const char *candidate, int mline, gpointer user)
{
  Hearing *h = user;
  gpointer conn = hd_core_find_conn (h->d->core, h->hid, pid);
  if (conn)
    hd_core_send (h->d->core, conn, hd_protocol_candidate (candidate, mline));
}

static void
mx_state (const char *pid, HdPeerState state, const char *detail, gpointer user)
{
  Hearing *h = user;
  if (state != HD_PEER_FAILED)
    return;
  /* Cut off: no media of theirs is mixed; the session is told why. */
  g_warning ("hearing %s: participant %s cut off from media: %s", h->hid, pid, detail);
  hd_mixer_remove_peer (h->mixer, pid);
  gpointer conn = hd_core_find_conn (h->d->core, h->hid, pid);
  if (conn) {
    hd_core_send (h->d->core, conn,
                  hd_protocol_error (detail,
                                     g_str_equal (detail, "dtls_fingerprint_mismatch")
                                         ? "your DTLS certificate does not match the "
                                           "fingerprint in your answer"
                                         : "the media connection failed",
                                     NULL));
    if (g_str_equal (detail, "dtls_fingerprint_mismatch"))
      hd_sig_conn_close (conn, 1008, "certificate mismatch");
  }
  hd_core_audit (h->d->core, pid, "media.cutoff", h->hid, json_pack ("{s:s}", "reason", detail));
}

static void
mx_speaker (const char *pid, gpointer user)
{
  Hearing *h = user;
  hd_core_speaker (h->d->core, h->hid, pid);
}

static void mx_segment (const char *track, const char *file, gint64 start_ms, gint64 duration_ms,
                        gpointer user);
static void mx_recording_stopped (gpointer user);
static void mx_recording_failed (const char *track, const char *reason, gpointer user);
static void mx_quality (const HdPeerQuality *q, guint n, gpointer user);

static const HdMixerCallbacks mixer_cb = { .on_local_sdp = mx_local_sdp,
                                           .on_local_candidate = mx_local_candidate,
                                           .on_state = mx_state,
                                           .on_speaker = mx_speaker,
                                           .on_segment = mx_segment,
                                           .on_recording_stopped = mx_recording_stopped,
                                           .on_recording_failed = mx_recording_failed,
                                           .on_quality = mx_quality };

/* webrtcbin's turn-server URI for the daemon's own side: turn(s)://USER:PASS@HOST:PORT, with
 * fresh TURN REST credentials when a shared secret is configured; NULL without TURN. */
static char *
daemon_turn_uri (Daemon *d)
{
  json_t *servers = hd_core_ice_servers (d->core, "hearingd", hd_time_now ());
  char *uri = NULL;
  for (size_t i = 0; i < json_array_size (servers) && !uri; i++) {
    json_t *s = json_array_get (servers, i);
    const char *url = json_string_value (json_array_get (json_object_get (s, "urls"), 0));
    const char *user = json_string_value (json_object_get (s, "username"));
    const char *cred = json_string_value (json_object_get (s, "credential"));
    gboolean tls = g_str_has_prefix (url, "turns:");
    if (!user || !(tls || g_str_has_prefix (url, "turn:")))
      continue;
    g_autofree char *u = g_uri_escape_string (user, NULL, FALSE);
    g_autofree char *c = g_uri_escape_string (cred ? cred : "", NULL, FALSE);
    uri = g_strdup_printf ("%s://%s:%s@%s", tls ? "turns" : "turn", u, c, url + (tls ? 6 : 5));
  }
  json_decref (servers);
  return uri;
}

/* [ice] interfaces ("eth0,10.0.0.5") as IPv4 addresses; NULL for all interfaces. */
static char **
resolve_interfaces (const char *list, GError **error)
{
  if (!list || !*list)
    return NULL;
  struct ifaddrs *ifs = NULL;
  if (getifaddrs (&ifs) != 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "getifaddrs: %s",
                 g_strerror (errno));
    return NULL;
  }
  GPtrArray *out = g_ptr_array_new ();
  g_auto (GStrv) names = g_strsplit (list, ",", -1);
  for (char **n = names; *n; n++) {
    g_autoptr (GInetAddress) lit = g_inet_address_new_from_string (*n);
    if (lit) {
      g_ptr_array_add (out, g_strdup (*n));
      continue;
    }
    gboolean found = FALSE;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
      if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && g_str_equal (i->ifa_name, *n)) {
        char buf[INET_ADDRSTRLEN];
        inet_ntop (AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, sizeof buf);
        g_ptr_array_add (out, g_strdup (buf));
        found = TRUE;
      }
    if (!found) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "[ice] interfaces: no interface \"%s\" with an IPv4 address", *n);
      freeifaddrs (ifs);
      g_ptr_array_free (out, TRUE);
      return NULL;
    }
  }
  freeifaddrs (ifs);
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (out, FALSE);
}

/* The hearing's mixer, made on first need (a join, or the session opening). */
static Hearing *
hearing_ensure (Daemon *d, const char *hid, const char *case_number, const char *court)
{
  Hearing *h = g_hash_table_lookup (d->hearings, hid);
  if (h || !d->cfg->media_enabled)
    return h;
  h = g_new0 (Hearing, 1);
  h->d = d;
  h->hid = g_strdup (hid);
  h->case_number = g_strdup (case_number);
  h->court = g_strdup (court ? court : "");
  h->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  h->present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)json_decref);
  g_autofree char *stun
      = *d->cfg->stun_server ? g_strdup_printf ("stun://%s", d->cfg->stun_server + 5) : NULL;
  HdMixerConfig mc = { .latency_ms = d->cfg->jitter_latency_ms,
                       .mix_latency_ms = d->cfg->mix_latency_ms,
                       .stun_server = stun,
                       .width = d->cfg->composite_width,
                       .height = d->cfg->composite_height,
                       .fps = d->cfg->composite_fps,
                       .video_bitrate = d->cfg->video_bitrate,
                       .video_codec = d->cfg->video_codec,
                       .port_min = d->cfg->ice_port_min,
                       .port_max = d->cfg->ice_port_max,
                       .public_address = d->cfg->ice_public_address,
                       .nack = d->cfg->video_retransmission,
                       .track_queue_kb = d->cfg->track_queue_kb,
                       .local_addresses = (const char *const *)d->ice_addresses };
  g_autoptr (GError) e = NULL;
  h->mixer = hd_mixer_new (hid, case_number, &mc, &mixer_cb, h, &e);
  if (!h->mixer) {
    g_warning ("%s", e->message);
    g_hash_table_unref (h->names);
    g_hash_table_unref (h->present);
    g_free (h->hid);
    g_free (h->case_number);
    g_free (h->court);
    g_free (h);
    return NULL;
  }
  g_hash_table_insert (d->hearings, h->hid, h);
  return h;
}

/* A hearing with nobody connected and nothing being recorded needs no pipeline. */
static void
hearing_maybe_free (Hearing *h)
{
  if (hd_mixer_peer_count (h->mixer) == 0 && !h->recording && !h->finish_after && !h->archive
      && !h->sizing)
    g_hash_table_remove (h->d->hearings, h->hid);
}

/* ---------------------------------------------------------------- recording */

static void
tell_record_keepers (Hearing *h, const char *code, const char *reason)
{
  /* the judge and the clerk hear about recording failures; everyone else carries on */
  hd_core_notify_role (h->d->core, h->hid, "judge", hd_protocol_error (code, reason, NULL));
  hd_core_notify_role (h->d->core, h->hid, "clerk", hd_protocol_error (code, reason, NULL));
}

static void
catalogue_update (Hearing *h, const char *status, const char *ended_at)
{
  GString *names = g_string_new (NULL);
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, h->names);
  while (g_hash_table_iter_next (&it, &k, NULL))
    g_string_append_printf (names, "%s\n", (char *)k);
  g_autoptr (GError) e = NULL;
  if (!hd_store_recording_update (h->d->store, hd_recwriter_id (h->archive), status, ended_at,
                                  h->rec_ms, h->rec_bytes, h->rec_segments, names->str, &e))
    g_warning ("recording %s: %s", hd_recwriter_id (h->archive), e->message);
  g_string_free (names, TRUE);
}

/* The recording's own clock: time recorded so far, across pauses. */
static gint64
offset_ms (Hearing *h)
{
  return h->elapsed_ms + (h->recording ? hd_mixer_record_offset_ms (h->mixer) : 0);
}

static guint64
free_mb (const char *dir)
{
  g_autoptr (GFile) f = g_file_new_for_path (dir);
  g_autoptr (GFileInfo) info
      = g_file_query_filesystem_info (f, G_FILE_ATTRIBUTE_FILESYSTEM_FREE, NULL, NULL);
  return info ? g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE) >> 20
              : G_MAXUINT64;
}

static const HdRecWriterCallbacks writer_cb;

/* Worker thread: the archive's folder made if need be, and its free space (MiB). */
static void
archive_free_mb (GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
  g_mkdir_with_parents (data, 0750);
  gint64 *mb = g_new (gint64, 1);
  *mb = (gint64)MIN (free_mb (data), (guint64)G_MAXINT64);
  g_task_return_pointer (task, mb, g_free);
}

typedef struct {
  Daemon *d;
  char *hid;
} Sizing;

/* The archive's free space at `dir`, looked up on a worker (a share that stops answering
 * blocks even statvfs); `done` runs on the main thread and finds the hearing with sized(). */
static void
size_archive (Hearing *h, const char *dir, GAsyncReadyCallback done)
{
  Sizing *z = g_new (Sizing, 1);
  z->d = h->d;
  z->hid = g_strdup (h->hid);
  GTask *task = g_task_new (NULL, NULL, done, z);
  g_task_set_task_data (task, g_strdup (dir), g_free);
  g_task_run_in_thread (task, archive_free_mb);
  g_object_unref (task);
}

/* In size_archive's `done`: the hearing, found again by its id (NULL if it is gone), and the
 * free MiB in *mb. */
static Hearing *
sized (gpointer user, GAsyncResult *res, gint64 *mb)
{
  Sizing *z = user;
  gint64 *v = g_task_propagate_pointer (G_TASK (res), NULL);
  *mb = v ? *v : G_MAXINT64;
  g_free (v);
  Hearing *h = g_hash_table_lookup (z->d->hearings, z->hid);
  g_free (z->hid);
  g_free (z);
  return h;
}

/* The archive's free space is known: a new recording, refused below the reserve. The hearing is
 * found again by its id (it is kept while `sizing`, but the daemon may be stopping). */
static void
rec_sized (GObject *source, GAsyncResult *res, gpointer user)
{
  gint64 mb;
  Hearing *h = sized (user, res, &mb);
  if (!h || !h->sizing)
    return;
  Daemon *d = h->d;
  h->sizing = FALSE;
  g_autofree char *who = g_steal_pointer (&h->start_who);
  g_autofree char *why = g_steal_pointer (&h->start_why);
  if (!h->in_session || h->off_record || h->closing || d->stopping) {
    hearing_maybe_free (h); /* not wanted any more */
    return;
  }
  if (mb < (gint64)d->cfg->min_free_mb) {
    g_autofree char *why_not = g_strdup_printf ("not recording: %" G_GINT64_FORMAT
                                                " MiB free in the archive, below the reserve of "
                                                "%d MiB",
                                                mb, d->cfg->min_free_mb);
    g_warning ("hearing %s: %s", h->hid, why_not);
    tell_record_keepers (h, "recording_refused", why_not);
    hd_core_audit (d->core, "system", "recording.refuse", h->hid,
                   json_pack ("{s:s}", "reason", why_not));
    hearing_maybe_free (h); /* everyone may have left meanwhile */
    return;
  }
  g_autofree char *rid = hd_random_id ("r-", 8);
  g_autofree char *dir = g_build_filename (d->archive_dir, h->hid, rid, NULL);
  json_t *hearing = json_pack ("{s:s, s:s, s:s}", "id", h->hid, "case_number", h->case_number,
                               "court", h->court);
  h->archive
      = hd_recwriter_new (dir, rid, hearing, d->signer, d->cfg->checkpoint_every, &writer_cb, h);
  json_decref (hearing);
  h->created = FALSE;
  h->rec_ms = h->rec_bytes = 0;
  h->rec_segments = 0;
  /* those already there when it starts are on the record from its first moment */
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, h->present);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    hd_recwriter_participant (h->archive, k, json_string_value (json_object_get (v, "name")),
                              json_string_value (json_object_get (v, "role")));
    hd_recwriter_event (h->archive, "join", 0, k, "present when the recording started");
  }
  h->start_who = g_steal_pointer (&who);
  h->start_why = g_steal_pointer (&why);
}

/* The session is open: record (a new recording, or resume the paused one). A new recording's
 * folder is made on its writer's thread first; the mixer starts recording into it once it is
 * there (wr_created). */
static void
rec_start (Hearing *h, const char *why)
{
  Daemon *d = h->d;
  if (h->recording && hd_mixer_record_stopping (h->mixer)) {
    h->resume_after = TRUE; /* once the last segments are out */
    g_free (h->resume_who);
    g_free (h->resume_why);
    h->resume_who = g_strdup (h->who);
    h->resume_why = g_strdup (why);
    h->finish_after = FALSE;
    return;
  }
  if (h->recording || h->closing)
    return;
  if ((h->archive && !h->created) || h->sizing) { /* still being made: it starts with this reason */
    g_free (h->start_who);
    g_free (h->start_why);
    h->start_who = g_strdup (h->who);
    h->start_why = g_strdup (why);
    return;
  }
  if (!h->archive) {
    /* a new recording: the free space first, looked up off the main thread (a share that stops
     * answering blocks even that), then the folder, made on the writer's thread */
    h->sizing = TRUE;
    g_free (h->start_who);
    g_free (h->start_why);
    h->start_who = g_strdup (h->who);
    h->start_why = g_strdup (why);
    size_archive (h, d->archive_dir, rec_sized);
    return;
  }
  /* files a failed write left unfinished are listed as partial before anything new is written */
  hd_recwriter_adopt_strays (h->archive);
  g_autoptr (GError) e = NULL;
  if (!hd_mixer_record_start (h->mixer, hd_recwriter_dir (h->archive),
                              d->cfg->segment_seconds * 1000, &e)) {
    hd_recwriter_event (h->archive, "failure", 0, NULL, e->message);
    tell_record_keepers (h, "recording_failed", e->message);
    return;
  }
  h->recording = TRUE;
  hd_recwriter_start_event (h->archive, offset_ms (h), h->who, why);
}

/* The recording's folder and first manifest are on disk (or could not be made): into the
 * catalogue, and the mixer starts recording, if the session still wants it. */
static void
wr_created (const char *error, gpointer user)
{
  Hearing *h = user;
  Daemon *d = h->d;
  const char *rid = hd_recwriter_id (h->archive);
  g_autoptr (GError) e = NULL;
  g_autofree char *now = hd_time_iso (g_get_real_time ());
  if (!error
      && !hd_store_recording_add (d->store, rid, h->hid, h->case_number, h->court,
                                  hd_recwriter_dir (h->archive), now, &e))
    error = e->message;
  if (error) {
    g_warning ("hearing %s: cannot start recording: %s", h->hid, error);
    tell_record_keepers (h, "recording_failed", error);
    g_clear_pointer (&h->archive, hd_recwriter_free);
    h->closing = FALSE;
    h->finish_after = FALSE;
    hearing_maybe_free (h);
    return;
  }
  h->created = TRUE;
  hd_core_audit (d->core, "system", "recording.start", h->hid,
                 json_pack ("{s:s}", "recording", rid));
  if (h->closing)
    return; /* closed before it could start: its stop event and closing are queued */
  g_autofree char *who = g_steal_pointer (&h->start_who);
  g_autofree char *why = g_steal_pointer (&h->start_why);
  if (h->in_session && !h->off_record && !d->stopping) {
    h->who = who;
    rec_start (h, why);
    h->who = NULL;
  }
}

static void
rec_finish (Hearing *h)
{
  const char *status = h->finish_status ? h->finish_status : "closed";
  if (h->retry_source) {
    g_source_remove (h->retry_source);
    h->retry_source = 0;
  }
  h->closing = TRUE;
  h->finish_after = FALSE;
  hd_recwriter_close (h->archive, status); /* wr_closed follows */
}

/* The recording is closed and signed: into the catalogue, and the hearing may go. */
static void
wr_closed (const char *status, const char *error, gint64 duration_ms, gint64 bytes, guint segments,
           gpointer user)
{
  Hearing *h = user;
  g_autofree char *now = hd_time_iso (g_get_real_time ());
  h->rec_ms = duration_ms;
  h->rec_bytes = bytes;
  h->rec_segments = segments;
  if (error)
    tell_record_keepers (h, "recording_failed", error);
  if (h->created) {
    catalogue_update (h, status, now);
    hd_core_audit (h->d->core, "system", "recording.close", h->hid,
                   json_pack ("{s:s, s:I}", "recording", hd_recwriter_id (h->archive), "segments",
                              (json_int_t)segments));
  }
  g_clear_pointer (&h->archive, hd_recwriter_free);
  h->closing = FALSE;
  hearing_maybe_free (h);
}

/* Recess or close: the open segments are finished; the recording pauses (or ends). */
static void
rec_stop (Hearing *h, const char *event, const char *why, gboolean finish)
{
  if (!h->archive || h->closing)
    return;
  if (h->recording) {
    hd_recwriter_event (h->archive, event, offset_ms (h), h->who, why);
    h->finish_after = finish;
    h->resume_after = FALSE;
    h->stop_offset_ms = offset_ms (h);
    hd_mixer_record_stop (h->mixer); /* on_recording_stopped follows */
  } else if (finish) {
    hd_recwriter_event (h->archive, event, offset_ms (h), NULL, why);
    rec_finish (h);
  }
}

static void
mx_segment (const char *track, const char *file, gint64 start_ms, gint64 duration_ms, gpointer user)
{
  Hearing *h = user;
  if (!h->archive)
    return;
  /* on the recording's clock; wr_progress or wr_segment_failed follows */
  hd_recwriter_segment (h->archive, track, file, start_ms + h->elapsed_ms, duration_ms);
}

static void
wr_progress (gint64 duration_ms, gint64 bytes, guint segments, gpointer user)
{
  Hearing *h = user;
  h->rec_ms = duration_ms;
  h->rec_bytes = bytes;
  h->rec_segments = segments;
  if (!h->closing)
    catalogue_update (h, "recording", NULL);
}

/* written down (a failure event), told, and the hearing goes on */
static void
wr_segment_failed (const char *file, const char *reason, gpointer user)
{
  Hearing *h = user;
  g_autofree char *why = g_strdup_printf ("segment %s: %s", file, reason);
  tell_record_keepers (h, "recording_failed", why);
}

static const HdRecWriterCallbacks writer_cb = { .on_created = wr_created,
                                                .on_progress = wr_progress,
                                                .on_segment_failed = wr_segment_failed,
                                                .on_closed = wr_closed };

/* Storage failures: every 2 s, once the archive has room again (its reserve, and at least
 * 8 MiB) and takes writes again (the recording's writer has nothing waiting: a storage that
 * stalled answers), the session goes back on the record, in the same recording. */
#define RETRY_SECONDS 2
#define RETRY_MIN_FREE_MB 8

/* The archive's free space, looked up for a retry: the session goes back on the record if it
 * still may and there is room. The hearing is found again by its id: it is kept while its
 * recording is (`archive`), and a closed session's retry is removed before this comes back. */
static void
retry_sized (GObject *source, GAsyncResult *res, gpointer user)
{
  gint64 mb;
  Hearing *h = sized (user, res, &mb);
  if (!h || !h->retry_sizing)
    return;
  Daemon *d = h->d;
  h->retry_sizing = FALSE;
  if (!h->retry_source || d->stopping || !h->archive || !h->in_session || h->off_record
      || h->recording || mb < (gint64)MAX (d->cfg->min_free_mb, RETRY_MIN_FREE_MB))
    return; /* not now: the timer looks again */
  g_source_remove (h->retry_source);
  h->retry_source = 0;
  g_message ("hearing %s: %" G_GINT64_FORMAT " MiB free again: recording resumes", h->hid, mb);
  rec_start (h, "storage available again");
}

static gboolean
retry_recording (gpointer data)
{
  Hearing *h = data;
  if (!h->archive || !h->in_session || h->off_record || h->recording)
    return G_SOURCE_CONTINUE; /* not now; a recess or the judge's pause decides for now */
  if (!hd_recwriter_idle (h->archive))
    return G_SOURCE_CONTINUE; /* the storage still stalls */
  if (h->retry_sizing)
    return G_SOURCE_CONTINUE; /* the last look has not come back: the share stalls again */
  /* off the main thread, as before a new recording: the share's statvfs may wait too */
  h->retry_sizing = TRUE;
  size_archive (h, hd_recwriter_dir (h->archive), retry_sized);
  return G_SOURCE_CONTINUE;
}

/* A track could not be written: on the record as a failure, the judge and clerk told, the
 * recording paused (its other tracks finish their segments if they can) until there is room
 * again. The hearing itself goes on: the failed track takes no media any more. */
static void
mx_recording_failed (const char *track, const char *reason, gpointer user)
{
  Hearing *h = user;
  if (!h->archive || h->closing)
    return;
  g_autofree char *why = g_strdup_printf ("track %s could not be written: %s", track, reason);
  hd_recwriter_event (h->archive, "failure", offset_ms (h), NULL, why);
  tell_record_keepers (h, "recording_failed", why);
  hd_core_audit (h->d->core, "system", "recording.failure", h->hid,
                 json_pack ("{s:s, s:s, s:s}", "recording", hd_recwriter_id (h->archive), "track",
                            track, "reason", reason));
  if (h->recording && !hd_mixer_record_stopping (h->mixer))
    rec_stop (h, "pause", "storage failure", FALSE);
  if (!h->retry_source)
    h->retry_source = g_timeout_add_seconds (RETRY_SECONDS, retry_recording, h);
}

/* Each participant's link, for the judge's and clerk's connection-quality indicator. */
static void
mx_quality (const HdPeerQuality *q, guint n, gpointer user)
{
  Hearing *h = user;
  json_t *list = json_array ();
  for (guint i = 0; i < n; i++)
    json_array_append_new (list,
                           json_pack ("{s:s, s:f, s:f, s:f}", "id", q[i].pid, "loss_pct",
                                      q[i].loss_pct, "rtt_ms", q[i].rtt_ms, "kbps", q[i].kbps));
  hd_core_quality (h->d->core, h->hid, list);
}

static void
mx_recording_stopped (gpointer user)
{
  Hearing *h = user;
  h->elapsed_ms = h->stop_offset_ms;
  h->recording = FALSE;
  if (h->finish_after && h->archive)
    rec_finish (h);
  else if (h->resume_after) {
    h->resume_after = FALSE;
    g_autofree char *who = g_steal_pointer (&h->resume_who);
    g_autofree char *why = g_steal_pointer (&h->resume_why);
    h->who = who;
    rec_start (h, why);
    h->who = NULL;
    return;
  }
  hearing_maybe_free (h);
}

static void
media_state (const char *hid, const char *case_number, const char *court, const char *state,
             gpointer user)
{
  Daemon *d = user;
  if (!d->cfg->media_enabled)
    return;
  Hearing *h = g_hash_table_lookup (d->hearings, hid);
  if (h)
    h->in_session = g_str_equal (state, "in_session");
  if (g_str_equal (state, "in_session")) {
    h = hearing_ensure (d, hid, case_number, court);
    if (h) { /* an off-the-record pause ends when the session opens again */
      h->in_session = TRUE;
      h->off_record = FALSE;
      rec_start (h, "session opened");
    }
  } else if (h && g_str_equal (state, "recess")) {
    rec_stop (h, "pause", "recess", FALSE);
  } else if (h && g_str_equal (state, "closed")) {
    rec_stop (h, "stop", "hearing closed", TRUE);
    hearing_maybe_free (h);
  }
}

static void
media_joined (const char *hid, const char *case_number, const char *pid, const char *name,
              const char *role, gboolean sends, gpointer user)
{
  Daemon *d = user;
  Hearing *h = hearing_ensure (d, hid, case_number, NULL);
  if (!h)
    return; /* signaling only */
  g_autoptr (GError) e = NULL;
  g_autofree char *turn = daemon_turn_uri (d);
  hd_mixer_set_turn_server (h->mixer, turn);
  g_autofree char *label = g_strdup_printf ("%s — %s", name, role);
  if (!hd_mixer_add_peer (h->mixer, pid, label, sends, &e))
    g_warning ("hearing %s: %s", hid, e->message);
  g_hash_table_add (h->names, g_utf8_casefold (name, -1));
  g_hash_table_replace (h->present, g_strdup (pid),
                        json_pack ("{s:s, s:s}", "name", name, "role", role));
  if (h->archive) {
    hd_recwriter_participant (h->archive, pid, name, role);
    hd_recwriter_event (h->archive, "join", offset_ms (h), pid, NULL);
  }
}

static void
media_left (const char *hid, const char *pid, gpointer user)
{
  Daemon *d = user;
  Hearing *h = g_hash_table_lookup (d->hearings, hid);
  if (!h)
    return;
  hd_mixer_remove_peer (h->mixer, pid);
  g_hash_table_remove (h->present, pid);
  if (h->archive)
    hd_recwriter_event (h->archive, "leave", offset_ms (h), pid, NULL);
  hearing_maybe_free (h); /* the last one out stops the pipeline, unless it is recording */
}

/* The judge or clerk takes the hearing off the record, or back on it. */
static gboolean
media_recording (const char *hid, const char *action, const char *reason, const char *who,
                 const char **code, const char **why, gpointer user)
{
  Daemon *d = user;
  Hearing *h = g_hash_table_lookup (d->hearings, hid);
  if (!h || !h->archive || !h->in_session) {
    *code = "not_recording";
    *why = "the hearing is not in session, so nothing is being recorded";
    return FALSE;
  }
  gboolean pause = g_str_equal (action, "pause");
  if (pause == h->off_record) {
    *code = pause ? "already_paused" : "not_paused";
    *why = pause ? "the recording is already paused" : "the recording is not paused";
    return FALSE;
  }
  if (pause && (!h->recording || hd_mixer_record_stopping (h->mixer))) { /* it could not start */
    *code = "not_recording";
    *why = "the recording is not running (recess, or it could not start)";
    return FALSE;
  }
  h->off_record = pause;
  h->who = who;
  if (pause)
    rec_stop (h, "pause", reason, FALSE);
  else
    rec_start (h, reason);
  h->who = NULL;
  return TRUE;
}

static gint64
media_note (const char *hid, const char *author, const char *text, gpointer user)
{
  Daemon *d = user;
  Hearing *h = g_hash_table_lookup (d->hearings, hid);
  if (!h || !h->archive || !h->recording)
    return -1;
  gint64 at = offset_ms (h);
  hd_recwriter_note (h->archive, at, author, text);
  return at;
}

static void
media_muted (const char *hid, const char *pid, gboolean audio, gboolean video, gpointer user)
{
  Daemon *d = user;
  Hearing *h = g_hash_table_lookup (d->hearings, hid);
  if (!h)
    return;
  hd_mixer_set_muted (h->mixer, pid, audio, video);
  if (h->archive) {
    g_autofree char *what
        = g_strdup_printf ("audio %s, video %s", audio ? "muted" : "on", video ? "off" : "on");
    hd_recwriter_event (h->archive, "mute", offset_ms (h), pid, what);
  }
}

static void
media_layout (const char *hid, const char *mode, const char *pinned, gpointer user)
{
  Daemon *d = user;
  Hearing *h = g_hash_table_lookup (d->hearings, hid);
  int layout = hd_layout_parse (mode);
  if (h && layout >= 0)
    hd_mixer_set_layout (h->mixer, (HdLayout)layout, pinned);
}

static Hearing *
hearing_of (Daemon *d, gpointer conn, const char *pid)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, d->hearings);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (hd_core_find_conn (d->core, ((Hearing *)v)->hid, pid) == conn)
      return v;
  return NULL;
}

static gboolean
media_answer (gpointer conn, const char *pid, const char *sdp, const char **code, char **reason,
              gpointer user)
{
  Daemon *d = user;
  HdSdpFingerprint fp;
  g_autoptr (GError) e = NULL;
  if (!hd_sdp_check (sdp, strlen (sdp), &fp, &e)) {
    *code = hd_sdp_error_code (e->code);
    *reason = g_strdup (e->message);
    return FALSE;
  }
  if (!d->cfg->media_enabled) {
    hd_sdp_fingerprint_clear (&fp);
    *code = "media_unavailable";
    *reason = g_strdup ("this server runs without media ([media] enabled = false)");
    return FALSE;
  }
  Hearing *h = hearing_of (d, conn, pid);
  gboolean ok = h && hd_mixer_set_answer (h->mixer, pid, sdp, &fp, &e);
  hd_sdp_fingerprint_clear (&fp);
  if (!ok) {
    *code = e && e->code == HD_MIXER_ERROR_BAD_INPUT ? "sdp_invalid" : "no_offer";
    *reason = g_strdup (e ? e->message : "no media offer is pending for this session");
  }
  return ok;
}

static gboolean
media_candidate (gpointer conn, const char *pid, const char *candidate, int mline,
                 const char **code, char **reason, gpointer user)
{
  Daemon *d = user;
  g_autoptr (GError) e = NULL;
  if (!d->cfg->media_enabled) {
    *code = "media_unavailable";
    *reason = g_strdup ("this server runs without media ([media] enabled = false)");
    return FALSE;
  }
  Hearing *h = hearing_of (d, conn, pid);
  if (h && hd_mixer_add_candidate (h->mixer, pid, candidate, mline, &e))
    return TRUE;
  *code = "no_offer";
  *reason = g_strdup ("no media offer is pending for this session");
  return FALSE;
}

static const HdCoreMedia media_glue = { .answer = media_answer,
                                        .candidate = media_candidate,
                                        .joined = media_joined,
                                        .left = media_left,
                                        .muted = media_muted,
                                        .state = media_state,
                                        .note = media_note,
                                        .recording = media_recording,
                                        .layout = media_layout };

static int
sig_http (const HdHttpRequest *req, HdHttpReply *reply, gpointer user)
{
  Daemon *d = user;
  return hd_api_handle (req, reply, &d->api);
}

static gboolean
http_complete (guint64 ticket, int status, HdHttpReply *reply, gpointer user)
{
  Daemon *d = user;
  return hd_server_http_complete (d->server, ticket, status, reply);
}

static guint
session_count (gpointer user)
{
  Daemon *d = user;
  return d->server ? hd_server_session_count (d->server) : 0;
}

/* ---------------------------------------------------------------- start-up recovery */

/* Recordings the daemon did not close (SIGKILL, power loss) are closed now: their segments as
 * they are, the unfinished one kept as partial, a gap written, signed as interrupted. Hearings
 * still in session are recorded again, into a new recording. */
static void
recover_recordings (Daemon *d)
{
  HdRecordingQuery q = { .status = "recording" };
  g_autoptr (GError) e = NULL;
  json_t *list = hd_store_recording_list (d->store, &q, &e);
  for (size_t i = 0; list && i < json_array_size (list); i++) {
    json_t *r = json_array_get (list, i);
    const char *id = json_string_value (json_object_get (r, "id"));
    const char *dir = json_string_value (json_object_get (r, "dir"));
    g_autoptr (GError) re = NULL;
    json_t *m = hd_archive_recover (dir, d->signer, &re);
    if (!m) {
      g_warning ("recording %s: cannot recover: %s", id, re->message);
      continue;
    }
    json_t *segs = json_object_get (m, "segments");
    gint64 bytes = 0, dur = 0;
    for (size_t k = 0; k < json_array_size (segs); k++) {
      json_t *sg = json_array_get (segs, k);
      bytes += json_integer_value (json_object_get (sg, "bytes"));
      if (!g_strcmp0 (json_string_value (json_object_get (sg, "track")), "composite"))
        dur += json_integer_value (json_object_get (sg, "duration_ms"));
    }
    hd_store_recording_update (d->store, id, "interrupted",
                               json_string_value (json_object_get (m, "ended_at")), dur, bytes,
                               (gint64)json_array_size (segs),
                               json_string_value (json_object_get (r, "participants")), NULL);
    hd_core_audit (d->core, "system", "recording.recover",
                   json_string_value (json_object_get (r, "hearing_id")),
                   json_pack ("{s:s, s:i, s:i}", "recording", id, "segments",
                              (int)json_array_size (segs), "partial",
                              (int)json_array_size (json_object_get (m, "partial"))));
    g_message ("recording %s recovered: %zu segments, marked interrupted", id,
               json_array_size (segs));
    json_decref (m);
  }
  if (list)
    json_decref (list);
  if (!d->cfg->media_enabled)
    return;
  g_autoptr (GPtrArray) open = hd_store_hearing_list (d->store, "in_session", NULL, NULL);
  for (guint i = 0; open && i < open->len; i++) {
    HdHearingRow *row = open->pdata[i];
    media_state (row->id, row->case_number, row->court, "in_session", d);
  }
}

/* ---------------------------------------------------------------- shutdown */

static gboolean
recordings_busy (Daemon *d)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, d->hearings);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((Hearing *)v)->recording || ((Hearing *)v)->archive) /* or its closing is queued */
      return TRUE;
  return FALSE;
}

static gboolean
stop_poll (gpointer user)
{
  Daemon *d = user;
  if ((hd_server_session_count (d->server) == 0 && !recordings_busy (d))
      || g_get_monotonic_time () > d->stop_deadline) {
    g_main_loop_quit (d->loop);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer user)
{
  Daemon *d = user;
  if (d->stopping) {
    g_message ("second signal: stopping now");
    g_main_loop_quit (d->loop);
    return G_SOURCE_CONTINUE;
  }
  d->stopping = TRUE;
  g_message ("shutting down: telling %u sessions", hd_server_session_count (d->server));
  hd_core_shutdown (d->core);
  hd_server_shutdown (d->server, "the server is shutting down");
  /* recordings finish their open segments, are signed and marked interrupted: a hearing
   * still in session continues into a new recording when the daemon is back */
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, d->hearings);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    Hearing *h = v;
    h->finish_status = "interrupted";
    rec_stop (h, "stop", "the daemon is shutting down", TRUE);
  }
  d->stop_deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  g_timeout_add (20, stop_poll, d);
  return G_SOURCE_CONTINUE;
}

/* ---------------------------------------------------------------- start-up */

static void
raise_fd_limit (void)
{
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit (RLIMIT_NOFILE, &rl);
  }
}

static void
prepare_state_dir (const char *dir)
{
  if (g_mkdir_with_parents (dir, 0700) != 0)
    die ("state dir %s cannot be created: %s", dir, g_strerror (errno));
  if (access (dir, R_OK | W_OK | X_OK) != 0)
    die ("state dir %s is not readable and writable: %s", dir, g_strerror (errno));
}

static void
print_demo (Daemon *d)
{
  g_autoptr (GError) e = NULL;
  g_autoptr (HdHearingRow) row = hd_core_hearing_create (
      d->core, "(2026)浙0109民初1234号", "Demo hearing: loan dispute (民间借贷纠纷)",
      "Hangzhou Xiaoshan People's Court", "2026-12-01T09:30:00+08:00", "public", "system:demo", &e);
  if (!row
      || !hd_core_hearing_update (d->core, row, NULL, NULL, NULL, NULL, NULL, "open", "system:demo",
                                  &e))
    die ("demo hearing: %s", e->message);
  printf ("\nDemo hearing %s — case %s (state %s)\n", row->id, row->case_number, row->state);
  static const struct {
    HdRole role;
    const char *name, *assisted_by;
  } people[] = {
    { HD_ROLE_JUDGE, "Judge Wang", NULL },
    { HD_ROLE_CLERK, "Clerk Li", NULL },
    /* the shared court's link: its operator joins on the plaintiff's behalf */
    { HD_ROLE_PARTY, "Zhang San (plaintiff)", "Chen, Xiaoshan shared court" },
    { HD_ROLE_PARTY, "Li Si (defendant)", NULL },
    { HD_ROLE_OBSERVER, "Observer", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (people); i++) {
    json_t *t = hd_core_token_issue (d->core, row, people[i].role, people[i].name, NULL,
                                     people[i].assisted_by, 0, "system:demo", &e);
    if (!t)
      die ("demo token: %s", e->message);
    g_autofree char *who = people[i].assisted_by ? g_strdup_printf ("%s, with %s", people[i].name,
                                                                    people[i].assisted_by)
                                                 : g_strdup (people[i].name);
    printf ("  %-9s %-45s %s\n", hd_role_name (people[i].role), who,
            json_string_value (json_object_get (t, "join_url")));
    json_decref (t);
  }
  /* An operator token for the REST API (hearingctl --token). */
  gint64 now = hd_time_now ();
  g_autofree char *sub = hd_random_id ("op-", 4);
  g_autofree char *jti = hd_random_id ("t-", 12);
  HdClaims c = { .iss = d->cfg->issuer,
                 .sub = sub,
                 .name = "demo operator",
                 .hid = HD_AUTH_ANY_HEARING,
                 .role = HD_ROLE_OPERATOR,
                 .iat = now,
                 .nbf = now,
                 .exp = now + d->cfg->operator_token_ttl_seconds,
                 .jti = jti };
  g_autofree char *op = hd_token_sign (d->signer, &c);
  printf ("\nOperator token (REST API, valid %d s):\n  %s\n\n", d->cfg->operator_token_ttl_seconds,
          op);
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  g_autofree char *config_file = NULL, *state_dir = NULL, *listen = NULL, *web_root = NULL,
                  *level = NULL;
  gboolean plain_http = FALSE, demo = FALSE, print_config = FALSE, version = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file, "Read configuration from FILE",
      "FILE" },
    { "state-dir", 's', 0, G_OPTION_ARG_FILENAME, &state_dir,
      "Folder for the database, signing key and TLS certificate ([server] state_dir)", "DIR" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
      "HOST:PORT to listen on; port 0 picks a free one ([server] listen)", "HOST:PORT" },
    { "plain-http", 0, 0, G_OPTION_ARG_NONE, &plain_http,
      "Serve plain HTTP (loopback only) ([server] plain_http)", NULL },
    { "web-root", 0, 0, G_OPTION_ARG_FILENAME, &web_root,
      "Folder of the web client ([server] web_root)", "DIR" },
    { "log-level", 0, 0, G_OPTION_ARG_STRING, &level, "error, warning, info or debug", "LEVEL" },
    { "demo", 0, 0, G_OPTION_ARG_NONE, &demo, "Create a demo hearing, open it and print join links",
      NULL },
    { "print-config", 0, 0, G_OPTION_ARG_NONE, &print_config,
      "Print the documented configuration file with every default, and exit", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };
  setlocale (LC_ALL, "C.UTF-8");
  /* Before any thread: glibc gives each streaming thread an arena of its own (up to 8 per core),
   * and memory freed in one is not reused by another: resident memory grew by ~20 MiB with each
   * hearing held, to 166 MiB after six (bench-media churn). One arena per core (at least two)
   * with malloc_trim after each departure (codecs/mixer.c) keeps it level at
   * ~46 MiB between hearings. MALLOC_ARENA_MAX in the environment still decides, if set. */
  if (!g_getenv ("MALLOC_ARENA_MAX"))
    mallopt (M_ARENA_MAX, MAX (2, (int)g_get_num_processors ()));
  g_autoptr (GOptionContext) oc = g_option_context_new ("— remote court hearings daemon");
  g_autofree char *help = hd_config_help ();
  g_option_context_add_main_entries (oc, entries, NULL);
  g_option_context_set_description (oc, help);
  g_autoptr (GError) e = NULL;
  if (!g_option_context_parse (oc, &argc, &argv, &e))
    die ("%s (try --help)", e->message);
  if (argc > 1)
    die ("unexpected argument '%s' (try --help)", argv[1]);
  if (version) {
    printf ("hearingd 0.1.0\n");
    return 0;
  }
  if (print_config) {
    g_autofree char *sample = hd_config_sample ();
    fputs (sample, stdout);
    return 0;
  }

  g_autoptr (HdConfig) cfg = hd_config_new_defaults ();
  if ((config_file && !hd_config_load_file (cfg, config_file, &e))
      || !hd_config_load_env (cfg, NULL, &e)
      || (state_dir && !hd_config_set (cfg, "server.state_dir", state_dir, "--state-dir", &e))
      || (listen && !hd_config_set (cfg, "server.listen", listen, "--listen", &e))
      || (plain_http && !hd_config_set (cfg, "server.plain_http", "true", "--plain-http", &e))
      || (web_root && !hd_config_set (cfg, "server.web_root", web_root, "--web-root", &e))
      || (level && !hd_config_set (cfg, "log.level", level, "--log-level", &e))
      || !hd_config_check (cfg, &e))
    die ("config: %s", e->message);

  log_level = cfg->log_level;
  g_log_set_writer_func (log_writer, NULL, NULL);
  hd_lws_log_to_glib (cfg->log_lws);
  signal (SIGPIPE, SIG_IGN);
  raise_fd_limit ();

  Daemon d = { .cfg = cfg };
  d.ice_addresses = resolve_interfaces (cfg->ice_interfaces, &e);
  if (e)
    die ("%s", e->message);
  prepare_state_dir (cfg->state_dir);
  g_autofree char *key_path = g_build_filename (cfg->state_dir, "signing-key.pem", NULL);
  g_autofree char *db_path = g_build_filename (cfg->state_dir, "hearingd.db", NULL);
  d.signer = hd_signer_load (key_path, TRUE, &e);
  if (!d.signer)
    die ("%s", e->message);
  {
    /* published beside the key: what `hearingctl verify` checks recordings against */
    g_autofree char *pub = hd_signer_public_pem (d.signer);
    g_autofree char *pub_path = g_build_filename (cfg->state_dir, "public-key.pem", NULL);
    if (!pub || !g_file_set_contents (pub_path, pub, -1, &e))
      die ("cannot write %s: %s", pub_path, e ? e->message : "no public key");
  }
  d.store = hd_store_open (db_path, &e);
  if (!d.store)
    die ("%s", e->message);
  g_autofree char *cert = NULL, *key = NULL;
  if (!cfg->plain_http && !hd_tls_ensure (cfg->state_dir, &cert, &key, &e))
    die ("%s", e->message);
  if (!web_root && !g_file_test (cfg->web_root, G_FILE_TEST_IS_DIR))
    g_warning ("web root %s is not a folder: the web client will not be served", cfg->web_root);

  HdEngineReport rep;
  if (!hd_engine_init (cfg->video_codec, &rep, &e))
    die ("GStreamer: %s", e->message);
  if (rep.missing && rep.missing[0]) {
    g_autofree char *list = g_strjoinv (", ", rep.missing);
    g_warning ("GStreamer elements missing: %s — running signaling only ([media] enabled = false)",
               list);
    cfg->media_enabled = FALSE; /* never build a pipeline that would lack a part */
  }
  if (rep.dtls_warmup_ms >= 0)
    g_info ("DTLS warmed up in %.0f ms", rep.dtls_warmup_ms);
  hd_engine_report_clear (&rep);

  d.loop = g_main_loop_new (NULL, FALSE);
  HdCoreIO io
      = { .send = io_send, .send_latest = io_send_latest, .close = io_close, .joined = io_joined };
  d.core = hd_core_new (d.store, d.signer, cfg, &io, &d);
  d.hearings = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)hearing_free);
  d.archive_dir = *cfg->archive_dir ? g_strdup (cfg->archive_dir)
                                    : g_build_filename (cfg->state_dir, "archive", NULL);
  hd_core_set_media (d.core, &media_glue, &d);
  recover_recordings (&d);
  g_autofree char *export_dir = g_build_filename (cfg->state_dir, "exports", NULL);
  d.api = (HdApi){ .core = d.core,
                   .sessions = session_count,
                   .sessions_user = &d,
                   .export_dir = export_dir,
                   .remux = hd_export_remux,
                   .complete = http_complete,
                   .complete_user = &d };
  HdServerOptions so = {
    .host = cfg->listen_host,
    .port = cfg->listen_port,
    .plain_http = cfg->plain_http,
    .cert_path = cert,
    .key_path = key,
    .web_root = cfg->web_root,
    .message_max_bytes = cfg->message_max_bytes,
    .rate_per_second = cfg->rate_per_second,
    .rate_burst = cfg->rate_burst,
    .join_timeout_seconds = cfg->join_timeout_seconds,
    .max_sessions = cfg->max_sessions,
    .http_body_max_bytes = cfg->http_body_max_bytes,
    .log_lws_notices = cfg->log_lws,
  };
  HdSigHandlers sh = { sig_message, sig_closed, sig_http };
  d.server = hd_server_new (&so, &sh, &d, d.loop, &e);
  if (!d.server)
    die ("%s", e->message);
  int port = hd_server_port (d.server);
  const char *scheme = cfg->plain_http ? "http" : "https";
  g_autofree char *base = *cfg->public_url
                              ? g_strdup (cfg->public_url)
                              : g_strdup_printf ("%s://%s:%d", scheme, cfg->listen_host, port);
  hd_core_set_base_url (d.core, base);
  hd_core_audit (d.core, "system", "daemon.start", NULL,
                 json_pack ("{s:s, s:i}", "listen", cfg->listen_host, "port", port));
  printf ("hearingd: listening on %s://%s:%d\n", scheme, cfg->listen_host, port);
  fflush (stdout);
  if (demo)
    print_demo (&d);

  guint s1 = g_unix_signal_add (SIGTERM, on_signal, &d);
  guint s2 = g_unix_signal_add (SIGINT, on_signal, &d);
  g_main_loop_run (d.loop);
  g_source_remove (s1);
  g_source_remove (s2);

  hd_api_shutdown (&d.api); /* exports still being made finish first */
  hd_server_free (d.server);
  g_hash_table_remove_all (d.hearings);
  /* hearings whose recording could not finish in time: signed as they stand */
  g_hash_table_unref (d.hearings);
  g_free (d.archive_dir);
  g_strfreev (d.ice_addresses);
  hd_core_free (d.core);
  hd_store_close (d.store);
  hd_signer_free (d.signer);
  g_main_loop_unref (d.loop);
  g_message ("stopped");
  return 0;
}
