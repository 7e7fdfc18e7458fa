/* bench-recording — what recording costs and how fast the archive is read, in a private network
 * namespace the benchmark makes itself (root; unshare -n, lo, veth 10.77.0.1/24):
 *  - recording overhead: the daemon's CPU for a hearing of 4 while it is not recorded (`open`,
 *    `recess`) against the same hearing `in_session` (recorded: composite + full mix + 8
 *    participant tracks), five 5 s windows of each, alternating, in each run; the median of each
 *    recorded window against the unrecorded one just before it; and recording's own threads'
 *    CPU (its elements are named rec…), read from /proc/PID/task;
 *  - verify throughput: hd_archive_verify over a synthetic recording of 200 segments of 1 MiB,
 *    against plain SHA-256 of the same files (the floor) in the same invocation;
 *  - export speed: hd_export_remux of the composite recorded above, in seconds of media per
 *    second and MB/s, against copying the same bytes.
 * Medians over RUNS (argument, default 3). Prints figures; never fails on time. Bounded: every
 * client lives a fixed number of seconds; every loop has a fixed count. */
#define _GNU_SOURCE
#include "bench/common.h"
#include "codecs/export.h"
#include "daemon/archive.h"
#include "daemon/auth.h"
#include "daemon/util.h"

#include <gst/gst.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SEGMENTS 200
#define SEGMENT_BYTES (1u << 20)

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* Each of the daemon's threads: its name and CPU seconds so far (tid -> ThreadCpu). */
typedef struct {
  char comm[32];
  double cpu;
} ThreadCpu;

static GHashTable *
threads (void)
{
  GHashTable *t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *dir = g_strdup_printf ("/proc/%s/task", g_subprocess_get_identifier (d->proc));
  GDir *dh = g_dir_open (dir, 0, NULL);
  const char *tid;
  while (dh && (tid = g_dir_read_name (dh))) {
    g_autofree char *stat = g_strdup_printf ("%s/%s/stat", dir, tid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents (stat, &text, NULL, NULL))
      continue;
    const char *open = strchr (text, '('), *close = strrchr (text, ')');
    unsigned long ut = 0, st = 0;
    if (!open || !close
        || sscanf (close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
      continue;
    ThreadCpu *c = g_new0 (ThreadCpu, 1);
    g_strlcpy (c->comm, open + 1, MIN ((gsize)(close - open), sizeof c->comm));
    c->cpu = (double)(ut + st) / sysconf (_SC_CLK_TCK);
    g_hash_table_insert (t, g_strdup (tid), c);
  }
  if (dh)
    g_dir_close (dh);
  return t;
}

/* Recording's own threads: its elements are named rec…, and so is the thread that writes the
 * archive (rec-writer: hashing, fsync, the journal and manifest); splitmuxsink's own queues are
 * queue_audio_N / queue_video (nothing else in the daemon names them so). */
static gboolean
recording_thread (const char *comm)
{
  return g_str_has_prefix (comm, "rec") || g_str_has_prefix (comm, "queue_audio")
         || g_str_has_prefix (comm, "queue_video");
}

/* The daemon's CPU (% of one core) over `seconds`; *rec: of that, recording's own threads. */
static double
cpu_over (int seconds, double *rec)
{
  double a, b;
  long rss;
  GHashTable *t0 = threads ();
  proc_stat (d->proc, &a, &rss);
  g_usleep ((gulong)seconds * G_USEC_PER_SEC);
  proc_stat (d->proc, &b, &rss);
  GHashTable *t1 = threads ();
  double r = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, t1);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    ThreadCpu *c1 = v, *c0 = g_hash_table_lookup (t0, k);
    if (recording_thread (c1->comm))
      r += c1->cpu - (c0 ? c0->cpu : 0);
    if (g_getenv ("BENCH_THREADS") && strstr (c1->comm, g_getenv ("BENCH_THREADS")))
      fprintf (stderr, "  thread %-16s %5.1f%%\n", c1->comm,
               (c1->cpu - (c0 ? c0->cpu : 0)) / seconds * 100);
  }
  g_hash_table_unref (t0);
  g_hash_table_unref (t1);
  if (rec)
    *rec = r / seconds * 100.0;
  return (b - a) / seconds * 100.0;
}

/* BENCH_PERF=DIR: each window also profiled (perf record -g, the daemon only) into
 * DIR/run-window-state.data, to read what recording adds by function: `perf report -i …`. */
static GSubprocess *
profile (int run, gsize window, const char *state)
{
  const char *dir = g_getenv ("BENCH_PERF");
  if (!dir)
    return NULL;
  g_mkdir_with_parents (dir, 0755);
  g_autofree char *out = g_strdup_printf ("%s/%d-%02zu-%s.data", dir, run, window, state);
  const char *pid = g_subprocess_get_identifier (d->proc);
  GSubprocess *p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                         | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                     NULL, "perf", "record", "-q", "-F", "499", "-g", "-p", pid,
                                     "-o", out, NULL);
  if (!p)
    fprintf (stderr, "bench-recording: perf could not start; windows not profiled\n");
  return p;
}

static void
set_state (const char *hid, const char *state)
{
  hd_test_set_state (d, op, hid, state);
}

/* A synthetic closed recording of SEGMENTS random segments; returns its folder. */
static char *
synthetic_recording (const char *root, HdSigner *signer)
{
  g_autofree char *dir = g_build_filename (root, "synthetic", NULL);
  json_t *hearing = json_pack ("{s:s, s:s}", "id", "h-bench", "case_number", "bench");
  HdArchive *a = hd_archive_create (dir, "r-bench", hearing, signer, 10, NULL);
  json_decref (hearing);
  g_autofree char *folder = g_build_filename (dir, "composite", NULL);
  g_mkdir_with_parents (folder, 0750);
  guint8 *buf = g_malloc (SEGMENT_BYTES);
  for (int i = 0; i < SEGMENTS; i++) {
    for (guint k = 0; k < SEGMENT_BYTES; k += 4)
      *(guint32 *)(buf + k) = g_random_int ();
    g_autofree char *rel = g_strdup_printf ("composite/00-00-%05d.webm", i);
    g_autofree char *path = g_build_filename (dir, rel, NULL);
    g_file_set_contents (path, (const char *)buf, SEGMENT_BYTES, NULL);
    hd_archive_add_segment (a, "composite", rel, i * 2000, 2000, NULL);
  }
  g_free (buf);
  hd_archive_close (a, 0, "closed", NULL);
  hd_archive_free (a);
  return g_steal_pointer (&dir);
}

/* The composite's closed segments of the newest recording under `archive`, in order. */
static GStrv
composite_files (const char *archive, gint64 *media_ms, gint64 *bytes)
{
  g_autofree char *cmd = g_strdup_printf ("sh -c 'ls -t %s/*/*/manifest.json | head -1'", archive);
  g_autofree char *out = NULL;
  g_spawn_command_line_sync (cmd, &out, NULL, NULL, NULL);
  g_strstrip (out);
  json_t *m = json_load_file (out, 0, NULL);
  g_autofree char *dir = g_path_get_dirname (out);
  GPtrArray *files = g_ptr_array_new ();
  *media_ms = *bytes = 0;
  json_t *segs = json_object_get (m, "segments");
  for (size_t i = 0; i < json_array_size (segs); i++) {
    json_t *s = json_array_get (segs, i);
    if (g_strcmp0 (json_string_value (json_object_get (s, "track")), "composite"))
      continue;
    g_ptr_array_add (files,
                     g_build_filename (dir, json_string_value (json_object_get (s, "file")), NULL));
    *media_ms += json_integer_value (json_object_get (s, "duration_ms"));
    *bytes += json_integer_value (json_object_get (s, "bytes"));
  }
  json_decref (m);
  g_ptr_array_add (files, NULL);
  return (GStrv)g_ptr_array_free (files, FALSE);
}

int
main (int argc, char **argv)
{
  int runs = CLAMP (argc > 1 ? atoi (argv[1]) : 3, 1, 9);
  if (!private_network ()) {
    fprintf (stderr, "bench-recording: needs root to make its private network namespace\n");
    return 1;
  }
  gst_init (&argc, &argv);
  hd_client_quiet ();
  double off[9], on[9], ratio[9], own[9], pair[9 * 5], vrate[9], frate[9], xspeed[9], xrate[9],
      crate[9];
  int npair = 0;
  gint64 xms = 0, xbytes = 0;
  static const guint8 seed[32] = { 7 };
  g_autoptr (HdSigner) signer = hd_signer_new_from_seed (seed);
  g_autofree char *pub = hd_signer_public_pem (signer);
  for (int r = 0; r < runs; r++) {
    const char *const env[] = { "HEARINGD_LOG_LEVEL=warning", "HEARINGD_HEARING_LOBBY=false",
                                "HEARINGD_ICE_INTERFACES=v0", NULL };
    g_autofree char *root = daemon_begin ("hd-bench-rec", env);
    g_autofree char *state = g_build_filename (root, "state", NULL);

    /* recording overhead: not recorded (open, then recess) and recorded (in session), five
     * times each, alternating: 5 s windows, each 1.5 s after the switch */
    g_autofree char *hid = new_hearing ();
    GSubprocess *cl[4];
    for (int i = 0; i < 4; i++)
      cl[i] = client (hid, 5 + 10 * 7 + 2, 300 + 100 * i, CLIENT_OPTS);
    g_usleep (5 * G_USEC_PER_SEC); /* everyone connected */
    double sum_off = 0, sum_on = 0, sum_own = 0, prev_off = 0;
    static const char *const states[]
        = { "open",       "in_session", "recess",     "in_session", "recess",
            "in_session", "recess",     "in_session", "recess",     "in_session" };
    for (gsize k = 0; k < G_N_ELEMENTS (states); k++) {
      if (k > 0)
        set_state (hid, states[k]);
      g_usleep (1500 * 1000);
      double r_own = 0;
      if (g_getenv ("BENCH_THREADS"))
        fprintf (stderr, " %s:\n", states[k]);
      GSubprocess *perf = profile (r, k, states[k]);
      double c = cpu_over (5, &r_own);
      if (perf) {
        g_subprocess_send_signal (perf, SIGINT);
        g_subprocess_wait (perf, NULL, NULL);
        g_object_unref (perf);
      }
      if (k % 2) {
        sum_on += c;
        sum_own += r_own;
        pair[npair++] = prev_off > 0 ? c / prev_off : -1; /* against the window just before */
      } else {
        sum_off += c;
        prev_off = c;
      }
    }
    off[r] = sum_off / 5;
    own[r] = sum_own / 5;
    on[r] = sum_on / 5;
    ratio[r] = off[r] > 0 ? on[r] / off[r] : -1;
    for (int i = 0; i < 4; i++)
      json_decref (finish (cl[i]));
    set_state (hid, "closed");
    g_usleep (2 * G_USEC_PER_SEC); /* the last segments */

    /* export speed: the composite just recorded, remuxed; against copying its bytes */
    g_autofree char *archive = g_build_filename (state, "archive", NULL);
    g_auto (GStrv) files = composite_files (archive, &xms, &xbytes);
    g_autofree char *out = g_build_filename (root, "export.webm", NULL);
    HdExportSource src = { (const char *const *)files, TRUE, TRUE };
    double t0 = now_s ();
    hd_export_remux (&src, 1, FALSE, out, NULL);
    double t1 = now_s ();
    g_autofree char *copy = g_build_filename (root, "copy.bin", NULL);
    double c0 = now_s ();
    FILE *cf = fopen (copy, "wb");
    for (char **f = files; cf && *f; f++) {
      g_autofree char *data = NULL;
      gsize n = 0;
      if (g_file_get_contents (*f, &data, &n, NULL))
        fwrite (data, 1, n, cf);
    }
    if (cf)
      fclose (cf);
    double c1 = now_s ();
    xspeed[r] = (xms / 1000.0) / (t1 - t0);
    xrate[r] = xbytes / 1e6 / (t1 - t0);
    crate[r] = xbytes / 1e6 / (c1 - c0);
    hd_test_daemon_stop (d);
    hd_test_daemon_free (d);

    /* verify throughput against plain SHA-256 of the same files (both from the page cache) */
    g_autofree char *syn = synthetic_recording (root, signer);
    HdArchiveVerdict v;
    hd_archive_verify (syn, pub, &v, NULL); /* warm the cache */
    hd_archive_verdict_clear (&v);
    double v0 = now_s ();
    hd_archive_verify (syn, pub, &v, NULL);
    double v1 = now_s ();
    hd_archive_verdict_clear (&v);
    double h0 = now_s ();
    for (int i = 0; i < SEGMENTS; i++) {
      g_autofree char *path = g_strdup_printf ("%s/composite/00-00-%05d.webm", syn, i);
      gint64 n = 0;
      g_free (hd_sha256_file (path, &n));
    }
    double h1 = now_s ();
    double mb = (double)SEGMENTS * SEGMENT_BYTES / 1e6;
    vrate[r] = mb / (v1 - v0);
    frate[r] = mb / (h1 - h0);
    fprintf (stderr,
             "run %d/%d: CPU open %.0f%%, in session %.0f%% (x%.3f; recording's own threads "
             "%.1f%%); verify %.0f MB/s (SHA-256 alone %.0f MB/s); export %.1f s of media in "
             "%.3f s\n",
             r + 1, runs, off[r], on[r], ratio[r], own[r], vrate[r], frate[r], xms / 1000.0,
             t1 - t0);
    remove_tree (root);
  }
  printf ("bench-recording: %d runs, medians (hearing of 4: 640x360 VP8 + Opus in, 1280x720@30 "
          "composite out)\n",
          runs);
  printf ("daemon CPU, hearing not recorded: %.0f %% of one core; recorded: %.0f %%; ratio %.3f "
          "(overhead %+.1f %%)\n",
          median (off, runs), median (on, runs), median (ratio, runs),
          (median (ratio, runs) - 1) * 100);
  printf ("recorded window against the unrecorded one just before it (%d pairs): median ratio "
          "%.3f (overhead %+.1f %%)\n",
          npair, median (pair, npair), (median (pair, npair) - 1) * 100);
  printf ("recording's own threads (its queues, muxers, the full mix) in the recorded hearing: "
          "%.1f %% of a core, %.1f %% of the daemon's CPU\n",
          median (own, runs), 100 * median (own, runs) / median (on, runs));
  printf ("verify: %.0f MB/s (%d segments of 1 MiB); SHA-256 alone of the same files: %.0f MB/s; "
          "ratio %.2f\n",
          median (vrate, runs), SEGMENTS, median (frate, runs),
          median (vrate, runs) / median (frate, runs));
  printf ("export (composite, %.1f s, %.1f MB): %.0f s of media per second, %.0f MB/s; copying "
          "the same bytes: %.0f MB/s\n",
          xms / 1000.0, xbytes / 1e6, median (xspeed, runs), median (xrate, runs),
          median (crate, runs));
  return 0;
}
