/* recwriter.c — a running recording's archive writes on a thread of its own (recwriter.h).
 *
 * A GThreadPool of one thread of its own per recording: jobs run one at a time, in the order
 * queued, and only that thread touches the HdArchive. Results go back to the main context as idle
 * sources that hold a reference to the writer and check, on the main thread, that it is still
 * wanted. */
#include "daemon/recwriter.h"

#include "daemon/archive.h"

#include <sys/prctl.h>

typedef enum {
  JOB_CREATE,
  JOB_PARTICIPANT,
  JOB_EVENT,
  JOB_START_EVENT,
  JOB_NOTE,
  JOB_STRAYS,
  JOB_SEGMENT,
  JOB_CLOSE,
} JobKind;

typedef struct {
  JobKind kind;
  gint64 at_us; /* when it happened (wall clock), not when the storage took it */
  gint64 offset_ms, duration_ms;
  char *a, *b, *c; /* by kind: type/who/reason, id/name/role, track/file, author/text, status */
  json_t *hearing;
} Job;

struct HdRecWriter {
  gint refs;
  GThreadPool *pool;
  GMainContext *main;
  char *dir, *id;
  HdSigner *signer;
  int checkpoint_every;
  HdRecWriterCallbacks cb;
  gpointer user;
  gboolean detached;  /* main thread only: no more callbacks */
  gint outstanding;   /* atomic: jobs queued or being written */
  HdArchive *archive; /* the writer thread's only */
};

static HdRecWriter *
writer_ref (HdRecWriter *w)
{
  g_atomic_int_inc (&w->refs);
  return w;
}

static void
writer_unref (HdRecWriter *w)
{
  if (!g_atomic_int_dec_and_test (&w->refs))
    return;
  hd_archive_free (w->archive);
  g_main_context_unref (w->main);
  g_free (w->dir);
  g_free (w->id);
  g_free (w);
}

/* ---------------------------------------------------------------- back to the main thread */

typedef struct {
  HdRecWriter *w;
  JobKind kind;
  char *error, *file, *status;
  gint64 duration_ms, bytes;
  guint segments;
} Result;

static void
result_free (gpointer data)
{
  Result *r = data;
  writer_unref (r->w);
  g_free (r->error);
  g_free (r->file);
  g_free (r->status);
  g_free (r);
}

static gboolean
result_deliver (gpointer data)
{
  Result *r = data;
  HdRecWriter *w = r->w;
  if (w->detached)
    return G_SOURCE_REMOVE;
  switch (r->kind) {
  case JOB_CREATE:
    w->cb.on_created (r->error, w->user);
    break;
  case JOB_SEGMENT:
    if (r->error)
      w->cb.on_segment_failed (r->file, r->error, w->user);
    else
      w->cb.on_progress (r->duration_ms, r->bytes, r->segments, w->user);
    break;
  case JOB_CLOSE:
    w->cb.on_closed (r->status, r->error, r->duration_ms, r->bytes, r->segments, w->user);
    break;
  default:
    break;
  }
  return G_SOURCE_REMOVE;
}

/* Writer thread: the outcome of a `kind` job (`error`: NULL, or what went wrong) to the main
 * thread, with the archive's figures. */
static void
post (HdRecWriter *w, JobKind kind, const GError *error, const char *file, const char *status)
{
  Result *r = g_new0 (Result, 1);
  r->w = writer_ref (w);
  r->kind = kind;
  r->error = error ? g_strdup (error->message) : NULL;
  r->file = g_strdup (file);
  r->status = g_strdup (status);
  if (w->archive) {
    r->duration_ms = hd_archive_duration_ms (w->archive);
    r->bytes = hd_archive_bytes (w->archive);
    r->segments = hd_archive_segment_count (w->archive);
  }
  /* an idle source, never g_main_context_invoke: that runs the callback right here when the
   * main context is not running yet (start-up), on this thread */
  GSource *src = g_idle_source_new ();
  g_source_set_priority (src, G_PRIORITY_DEFAULT);
  g_source_set_callback (src, result_deliver, r, result_free);
  g_source_attach (src, w->main);
  g_source_unref (src);
}

/* ---------------------------------------------------------------- the writer thread */

static void
job_free (Job *j)
{
  g_free (j->a);
  g_free (j->b);
  g_free (j->c);
  if (j->hearing)
    json_decref (j->hearing);
  g_free (j);
}

static void
run (gpointer data, gpointer user)
{
  Job *j = data;
  HdRecWriter *w = user;
  g_autoptr (GError) e = NULL;
  if (j->kind == JOB_CREATE) {
    prctl (PR_SET_NAME, "rec-writer"); /* its first job, on its own thread */
    w->archive = hd_archive_create (w->dir, w->id, j->hearing, w->signer, w->checkpoint_every, &e);
    post (w, JOB_CREATE, e, NULL, NULL);
  } else if (!w->archive) {
    /* it could not be created: nothing to write into */
  } else if (j->kind == JOB_PARTICIPANT) {
    hd_archive_participant (w->archive, j->a, j->b, j->c);
  } else if (j->kind == JOB_EVENT || j->kind == JOB_START_EVENT) {
    const char *type = j->kind == JOB_EVENT                    ? j->a
                       : hd_archive_segment_count (w->archive) ? "resume"
                                                               : "start";
    hd_archive_event (w->archive, j->at_us, type, j->offset_ms, j->b, j->c);
  } else if (j->kind == JOB_NOTE) {
    hd_archive_note (w->archive, j->at_us, j->offset_ms, j->a, j->b);
  } else if (j->kind == JOB_STRAYS) {
    hd_archive_adopt_strays (w->archive);
  } else if (j->kind == JOB_SEGMENT) {
    if (!hd_archive_add_segment (w->archive, j->a, j->b, j->offset_ms, j->duration_ms, &e)) {
      g_warning ("recording %s: segment %s: %s", w->id, j->b, e->message);
      hd_archive_event (w->archive, 0, "failure", j->offset_ms, NULL, e->message);
    }
    post (w, JOB_SEGMENT, e, j->b, NULL);
  } else if (j->kind == JOB_CLOSE) {
    hd_archive_adopt_strays (w->archive);
    if (!hd_archive_close (w->archive, j->at_us, j->a, &e))
      g_warning ("recording %s: %s", w->id, e->message);
    post (w, JOB_CLOSE, e, NULL, j->a);
  }
  job_free (j);
  g_atomic_int_add (&w->outstanding, -1);
}

/* ---------------------------------------------------------------- main thread */

static void
queue (HdRecWriter *w, JobKind kind, gint64 offset_ms, gint64 duration_ms, const char *a,
       const char *b, const char *c)
{
  Job *j = g_new0 (Job, 1);
  j->kind = kind;
  j->at_us = g_get_real_time ();
  j->offset_ms = offset_ms;
  j->duration_ms = duration_ms;
  j->a = g_strdup (a);
  j->b = g_strdup (b);
  j->c = g_strdup (c);
  g_atomic_int_inc (&w->outstanding);
  g_thread_pool_push (w->pool, j, NULL); /* fails only if no thread can be started at all */
}

HdRecWriter *
hd_recwriter_new (const char *dir, const char *recording_id, json_t *hearing, HdSigner *signer,
                  int checkpoint_every, const HdRecWriterCallbacks *cb, gpointer user)
{
  HdRecWriter *w = g_new0 (HdRecWriter, 1);
  w->refs = 1;
  w->main = g_main_context_ref_thread_default ();
  w->dir = g_strdup (dir);
  w->id = g_strdup (recording_id);
  w->signer = signer;
  w->checkpoint_every = checkpoint_every;
  w->cb = *cb;
  w->user = user;
  /* one thread of its own (exclusive): jobs run one at a time, in order, on a thread named for
   * what it does (rec-writer: bench-recording counts it as the recording's) */
  w->pool = g_thread_pool_new (run, w, 1, TRUE, NULL);
  Job *j = g_new0 (Job, 1);
  j->kind = JOB_CREATE;
  j->hearing = json_deep_copy (hearing);
  g_atomic_int_inc (&w->outstanding);
  g_thread_pool_push (w->pool, j, NULL);
  return w;
}

const char *
hd_recwriter_dir (HdRecWriter *w)
{
  return w->dir;
}

const char *
hd_recwriter_id (HdRecWriter *w)
{
  return w->id;
}

void
hd_recwriter_participant (HdRecWriter *w, const char *id, const char *name, const char *role)
{
  queue (w, JOB_PARTICIPANT, 0, 0, id, name, role);
}

void
hd_recwriter_event (HdRecWriter *w, const char *type, gint64 offset_ms, const char *who,
                    const char *reason)
{
  queue (w, JOB_EVENT, offset_ms, 0, type, who, reason);
}

void
hd_recwriter_start_event (HdRecWriter *w, gint64 offset_ms, const char *who, const char *reason)
{
  queue (w, JOB_START_EVENT, offset_ms, 0, NULL, who, reason);
}

void
hd_recwriter_note (HdRecWriter *w, gint64 offset_ms, const char *author, const char *text)
{
  queue (w, JOB_NOTE, offset_ms, 0, author, text, NULL);
}

void
hd_recwriter_adopt_strays (HdRecWriter *w)
{
  queue (w, JOB_STRAYS, 0, 0, NULL, NULL, NULL);
}

void
hd_recwriter_segment (HdRecWriter *w, const char *track, const char *file, gint64 start_ms,
                      gint64 duration_ms)
{
  queue (w, JOB_SEGMENT, start_ms, duration_ms, track, file, NULL);
}

void
hd_recwriter_close (HdRecWriter *w, const char *status)
{
  queue (w, JOB_CLOSE, 0, 0, status, NULL, NULL);
}

gboolean
hd_recwriter_idle (HdRecWriter *w)
{
  return g_atomic_int_get (&w->outstanding) == 0;
}

void
hd_recwriter_free (HdRecWriter *w)
{
  if (!w)
    return;
  w->detached = TRUE;
  g_thread_pool_free (w->pool, FALSE, TRUE); /* what is queued is written */
  writer_unref (w);
}
