/* Unit tests of a recording's writer thread (daemon/recwriter.h): everything queued is written
 * in order and signed; the main thread gets the figures, failures and the end as callbacks;
 * a write that waits on its storage holds up nothing queued on the main thread, and what was
 * queued meanwhile carries the time it happened. */
#include "daemon/archive.h"
#include "daemon/recwriter.h"

#include <glib/gstdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const guint8 seed[32] = { 7 };

typedef struct {
  GMainLoop *loop;
  int created;
  char *create_error;
  int progress;
  gint64 duration_ms, bytes;
  guint segments;
  GPtrArray *failed; /* char*: files */
  char *closed_status;
} Seen;

static void
on_created (const char *error, gpointer user)
{
  Seen *s = user;
  s->created++;
  s->create_error = g_strdup (error);
  if (error)
    g_main_loop_quit (s->loop);
}

static void
on_progress (gint64 duration_ms, gint64 bytes, guint segments, gpointer user)
{
  Seen *s = user;
  s->progress++;
  s->duration_ms = duration_ms;
  s->bytes = bytes;
  s->segments = segments;
}

static void
on_segment_failed (const char *file, const char *reason, gpointer user)
{
  Seen *s = user;
  g_test_message ("segment failed: %s: %s", file, reason);
  g_ptr_array_add (s->failed, g_strdup (file));
}

static void
on_closed (const char *status, const char *error, gint64 duration_ms, gint64 bytes, guint segments,
           gpointer user)
{
  Seen *s = user;
  g_assert_null (error);
  s->closed_status = g_strdup (status);
  s->segments = segments;
  g_main_loop_quit (s->loop);
}

static const HdRecWriterCallbacks cb = { on_created, on_progress, on_segment_failed, on_closed };

static void
seen_init (Seen *s)
{
  memset (s, 0, sizeof *s);
  s->loop = g_main_loop_new (NULL, FALSE);
  s->failed = g_ptr_array_new_with_free_func (g_free);
}

static void
seen_clear (Seen *s)
{
  g_main_loop_unref (s->loop);
  g_ptr_array_unref (s->failed);
  g_free (s->create_error);
  g_free (s->closed_status);
}

static void
put (const char *dir, const char *rel, gsize n)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *folder = g_path_get_dirname (path);
  g_mkdir_with_parents (folder, 0755);
  g_autofree char *fill = g_strnfill (n, 's');
  g_assert_true (g_file_set_contents (path, fill, (gssize)n, NULL));
}

static gint64
at_of (json_t *entry)
{
  g_autoptr (GDateTime) t
      = g_date_time_new_from_iso8601 (json_string_value (json_object_get (entry, "at")), NULL);
  g_assert_nonnull (t);
  return g_date_time_to_unix (t) * G_USEC_PER_SEC + g_date_time_get_microsecond (t);
}

static void
rm_rf (const char *dir)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cmd), ==, 0);
}

/* In order, with the figures back on the main thread; a missing segment file is a failure on
 * the record and a callback, and the recording goes on; closed, it verifies. */
static void
test_in_order (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("hd-recwriter-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "h-1", "r-1", NULL);
  HdSigner *signer = hd_signer_new_from_seed (seed);
  Seen s;
  seen_init (&s);
  json_t *hearing = json_pack ("{s:s}", "id", "h-1");
  HdRecWriter *w = hd_recwriter_new (dir, "r-1", hearing, signer, 2, &cb, &s);
  json_decref (hearing);
  g_assert_cmpstr (hd_recwriter_id (w), ==, "r-1");
  hd_recwriter_participant (w, "p-1", "Wang", "party");
  hd_recwriter_start_event (w, 0, NULL, "session opened");
  put (dir, "composite/00-00-00000.webm", 1000);
  put (dir, "p-1/00-00-00000.webm", 300);
  hd_recwriter_segment (w, "composite", "composite/00-00-00000.webm", 0, 2000);
  hd_recwriter_segment (w, "p-1", "p-1/00-00-00000.webm", 0, 2000);
  hd_recwriter_segment (w, "composite", "composite/00-00-00001.webm", 2000, 2000); /* missing */
  hd_recwriter_event (w, "pause", 2000, NULL, "recess");
  hd_recwriter_start_event (w, 2000, "j-1", "session opened");
  hd_recwriter_note (w, 2100, "Clerk Li", "Exhibit 3 shown");
  hd_recwriter_event (w, "stop", 2500, NULL, "hearing closed");
  hd_recwriter_close (w, "closed");
  g_main_loop_run (s.loop);
  hd_recwriter_free (w);

  g_assert_cmpint (s.created, ==, 1);
  g_assert_null (s.create_error);
  g_assert_cmpint (s.progress, ==, 2);
  g_assert_cmpint (s.duration_ms, ==, 2000);
  g_assert_cmpint (s.bytes, ==, 1300);
  g_assert_cmpuint (s.failed->len, ==, 1);
  g_assert_cmpstr (s.failed->pdata[0], ==, "composite/00-00-00001.webm");
  g_assert_cmpstr (s.closed_status, ==, "closed");
  g_assert_cmpuint (s.segments, ==, 2);

  json_t *m = hd_archive_load (dir, NULL);
  g_assert_nonnull (m);
  json_t *ev = json_object_get (m, "events");
  const char *want[] = { "start", "failure", "pause", "resume", "stop" };
  g_assert_cmpuint (json_array_size (ev), ==, G_N_ELEMENTS (want));
  for (gsize i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpstr (json_string_value (json_object_get (json_array_get (ev, i), "type")), ==,
                     want[i]);
  g_assert_cmpuint (json_array_size (json_object_get (m, "notes")), ==, 1);
  g_assert_cmpuint (json_array_size (json_object_get (m, "participants")), ==, 1);
  json_decref (m);
  g_autofree char *pub = hd_signer_public_pem (signer);
  HdArchiveVerdict v = { 0 };
  g_assert_true (hd_archive_verify (dir, pub, &v, NULL));
  g_assert_true (v.ok);
  g_assert_true (v.signed_);
  g_assert_cmpuint (v.segments, ==, 2);
  hd_archive_verdict_clear (&v);
  seen_clear (&s);
  hd_signer_free (signer);
  rm_rf (tmp);
}

static gboolean
answer_fifo (gpointer path)
{
  int fd = open (path, O_WRONLY | O_NONBLOCK); /* fails unless a reader is waiting */
  if (fd >= 0)
    close (fd);
  return G_SOURCE_CONTINUE;
}

/* A segment whose storage does not answer (a FIFO nobody writes: opening it waits, as a write
 * to a frozen file system does) holds up the writer thread, not the caller; an event queued
 * meanwhile is on the record with the time it was queued, written once the storage answers. */
static void
test_a_stalled_write (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("hd-recwriter-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "r-2", NULL);
  HdSigner *signer = hd_signer_new_from_seed (seed);
  Seen s;
  seen_init (&s);
  HdRecWriter *w = hd_recwriter_new (dir, "r-2", NULL, signer, 10, &cb, &s);
  hd_recwriter_start_event (w, 0, NULL, "session opened");
  g_autofree char *fifo = g_build_filename (dir, "composite", "00-00-00000.webm", NULL);
  g_autofree char *folder = g_path_get_dirname (fifo);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  hd_recwriter_segment (w, "composite", "composite/00-00-00000.webm", 0, 2000);
  g_usleep (100 * 1000); /* the writer is inside the segment's fsync, waiting */
  gint64 before = g_get_real_time ();
  gint64 t0 = g_get_monotonic_time ();
  hd_recwriter_event (w, "mute", 150, "p-1", "audio muted, video on");
  hd_recwriter_note (w, 160, "Clerk Li", "while the storage stalled");
  hd_recwriter_close (w, "closed");
  gint64 queued_us = g_get_monotonic_time () - t0;
  gint64 after = g_get_real_time ();
  g_test_message ("three writes queued in %" G_GINT64_FORMAT " microseconds while the writer waits",
                  queued_us);
  g_assert_cmpint (queued_us, <, 50 * 1000);
  g_usleep (400 * 1000);
  g_assert_null (s.closed_status);
  g_assert_false (hd_recwriter_idle (w)); /* what a retry of the recording asks first */
  /* the storage answers: the FIFO opened for writing lets each open of the writer's return
   * (the segment's fsync, then its hashing as an unfinished file when the recording closes) */
  gint64 thawed = g_get_real_time ();
  guint answer = g_timeout_add (20, answer_fifo, fifo);
  g_main_loop_run (s.loop);
  g_source_remove (answer);
  for (int i = 0; i < 100 && !hd_recwriter_idle (w); i++) /* the close's last step */
    g_usleep (10 * 1000);
  g_assert_true (hd_recwriter_idle (w));
  hd_recwriter_free (w);
  g_assert_cmpstr (s.closed_status, ==, "closed");
  g_assert_cmpuint (s.failed->len, ==, 1); /* a FIFO cannot be fsync'd: a failure, written down */

  json_t *m = hd_archive_load (dir, NULL);
  g_assert_nonnull (m);
  json_t *ev = json_object_get (m, "events"), *mute = NULL;
  for (size_t i = 0; i < json_array_size (ev); i++)
    if (!g_strcmp0 (json_string_value (json_object_get (json_array_get (ev, i), "type")), "mute"))
      mute = json_array_get (ev, i);
  g_assert_nonnull (mute);
  gint64 mute_at = at_of (mute), note_at = at_of (json_array_get (json_object_get (m, "notes"), 0));
  g_test_message ("the mute is on the record at queue time %+.1f ms, %.1f ms before the storage "
                  "answered",
                  (mute_at - before) / 1000.0, (thawed - mute_at) / 1000.0);
  /* the manifest's times are in milliseconds */
  g_assert_cmpint (mute_at, >=, before - 1000);
  g_assert_cmpint (mute_at, <=, after);
  g_assert_cmpint (note_at, <=, after);
  g_assert_cmpint (thawed - mute_at, >=, 300 * 1000);
  json_decref (m);
  seen_clear (&s);
  hd_signer_free (signer);
  rm_rf (tmp);
}

/* A folder that cannot be made: on_created says why, and what was queued after is dropped. */
static void
test_cannot_create (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("hd-recwriter-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (tmp, "a-file", NULL);
  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  g_autofree char *dir = g_build_filename (file, "r-3", NULL); /* under a regular file */
  HdSigner *signer = hd_signer_new_from_seed (seed);
  Seen s;
  seen_init (&s);
  HdRecWriter *w = hd_recwriter_new (dir, "r-3", NULL, signer, 10, &cb, &s);
  hd_recwriter_event (w, "join", 0, "p-1", NULL);
  hd_recwriter_close (w, "closed");
  g_main_loop_run (s.loop);
  g_test_message ("%s", s.create_error);
  g_assert_nonnull (s.create_error);
  g_assert_nonnull (strstr (s.create_error, "cannot create"));
  hd_recwriter_free (w);
  g_assert_null (s.closed_status);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  seen_clear (&s);
  hd_signer_free (signer);
  rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* the writer warns of the failures these tests cause on purpose */
  g_log_set_always_fatal (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL);
  g_test_add_func ("/recwriter/in-order", test_in_order);
  g_test_add_func ("/recwriter/a-stalled-write", test_a_stalled_write);
  g_test_add_func ("/recwriter/cannot-create", test_cannot_create);
  return g_test_run ();
}
