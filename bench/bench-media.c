/* bench-media — media figures of one hearing, measured inside a private network namespace that
 * the benchmark makes itself (root; unshare -n, lo, veth 10.77.0.1/24): join → first decoded
 * composite frame (from sending join), the daemon's CPU for a hearing of 2, 4 and 6
 * participants (C test clients sending 320x240 VP8 + Opus; 1280x720 composite at 30 fps), and
 * resident memory per participant. Medians over RUNS (argument, default 3). Prints figures;
 * never fails on time. Bounded: every client lives a fixed number of seconds. */
#define _GNU_SOURCE
#include "tests/integration/harness.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static HdTestDaemon *d;
static char *op;

static gboolean
sh (const char *cmd)
{
  int status = 0;
  return g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL) &&
         g_spawn_check_wait_status (status, NULL);
}

static char *
new_hearing (void)
{
  int st = 0;
  json_t *h = hd_test_rest (d, "POST", "/api/v1/hearings", op,
                            "{\"case_number\":\"(2026)bench\",\"title\":\"bench\",\"court\":\"c\","
                            "\"scheduled_start\":\"2026-12-01T09:30:00Z\"}", &st);
  char *hid = g_strdup (json_string_value (json_object_get (h, "id")));
  json_decref (h);
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s", hid);
  json_decref (hd_test_rest (d, "PATCH", path, op, "{\"state\":\"open\"}", &st));
  return hid;
}

static GSubprocess *
client (const char *hid, int seconds, int freq)
{
  int st = 0;
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s/tokens", hid);
  json_t *t = hd_test_rest (d, "POST", path, op, "{\"role\":\"party\",\"name\":\"P\"}", &st);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%d/ws", d->port);
  g_autofree char *secs = g_strdup_printf ("%d", seconds);
  g_autofree char *f = g_strdup_printf ("%d", freq);
  const char *argv[] = { g_getenv ("HD_TEST_CLIENT"), "--url", url, "--token",
                         json_string_value (json_object_get (t, "token")), "--seconds", secs,
                         "--freq", f, NULL };
  GSubprocess *p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, NULL);
  json_decref (t);
  return p;
}

static json_t *
finish (GSubprocess *p)
{
  g_autofree char *out = NULL;
  g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, NULL);
  g_object_unref (p);
  return json_loads (out ? out : "", 0, NULL);
}

static void
proc_stat (GSubprocess *p, double *cpu_s, long *rss_kib)
{
  const char *pid = g_subprocess_get_identifier (p);
  g_autofree char *sp = g_strdup_printf ("/proc/%s/stat", pid);
  g_autofree char *st = NULL, *status = NULL;
  g_autofree char *stp = g_strdup_printf ("/proc/%s/status", pid);
  *cpu_s = -1;
  *rss_kib = -1;
  if (g_file_get_contents (sp, &st, NULL, NULL)) {
    const char *c = strrchr (st, ')');
    unsigned long ut = 0, stt = 0;
    if (c && sscanf (c + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) == 2)
      *cpu_s = (double) (ut + stt) / sysconf (_SC_CLK_TCK);
  }
  if (g_file_get_contents (stp, &status, NULL, NULL)) {
    const char *v = strstr (status, "VmRSS:");
    if (v)
      *rss_kib = atol (v + 6);
  }
}

static double
median (double *v, int n)
{
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (v[j] < v[i]) {
        double x = v[i];
        v[i] = v[j];
        v[j] = x;
      }
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main (int argc, char **argv)
{
  int runs = CLAMP (argc > 1 ? atoi (argv[1]) : 3, 1, 9);
  if (getuid () != 0 || unshare (CLONE_NEWNET) != 0 || !sh ("ip link set lo up") ||
      !sh ("ip link add v0 type veth peer name v1") || !sh ("ip addr add 10.77.0.1/24 dev v0") ||
      !sh ("ip link set v0 up") || !sh ("ip link set v1 up")) {
    fprintf (stderr, "bench-media: needs root to make its private network namespace\n");
    return 1;
  }
  hd_client_quiet ();
  static const int sizes[] = { 2, 4, 6 };
  double first[16], cpu[3][16], rss[16];
  for (int r = 0; r < runs; r++) {
    g_autofree char *root = g_dir_make_tmp ("hd-bench-media-XXXXXX", NULL);
    g_autofree char *state = g_build_filename (root, "state", NULL);
    const char *const env[] = { "HEARINGD_LOG_LEVEL=warning", NULL };
    d = hd_test_daemon_start (state, FALSE, NULL, env);
    const char *const mint[] = { "--state-dir", state, "operator-token", NULL };
    g_free (op);
    hd_test_ctl (&op, NULL, mint);
    g_strstrip (op);
    double c0;
    long rss0;
    proc_stat (d->proc, &c0, &rss0);
    for (gsize k = 0; k < G_N_ELEMENTS (sizes); k++) {
      g_autofree char *hid = new_hearing ();
      int n = sizes[k];
      GSubprocess *cl[8];
      for (int i = 0; i < n; i++)
        cl[i] = client (hid, 14, 300 + 100 * i);
      g_usleep (4 * G_USEC_PER_SEC); /* everyone connected */
      double a, b;
      long rss_n;
      proc_stat (d->proc, &a, &rss_n);
      g_usleep (6 * G_USEC_PER_SEC);
      proc_stat (d->proc, &b, &rss_n);
      cpu[k][r] = (b - a) / 6.0 * 100.0;
      if (n == 6)
        rss[r] = (double) (rss_n - rss0) / 1024.0 / n;
      for (int i = 0; i < n; i++) {
        json_t *j = finish (cl[i]);
        if (k == 1 && i == n - 1) /* the last of 4 to join: joined a running hearing */
          first[r] = json_number_value (json_object_get (j, "join_to_first_frame_ms"));
        json_decref (j);
      }
      g_usleep (G_USEC_PER_SEC);
    }
    fprintf (stderr, "run %d/%d: first frame %.0f ms; CPU %.0f%% / %.0f%% / %.0f%% of a core; "
             "%.1f MiB per participant\n", r + 1, runs, first[r], cpu[0][r], cpu[1][r], cpu[2][r],
             rss[r]);
    hd_test_daemon_stop (d);
    hd_test_daemon_free (d);
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", root);
    if (system (cmd) != 0)
      fprintf (stderr, "could not remove %s\n", root);
  }
  printf ("bench-media: %d runs, medians (1280x720@30 composite, 320x240 VP8 + Opus per client)\n",
          runs);
  printf ("join -> first composite frame decoded (4th joiner): %.0f ms\n", median (first, runs));
  for (gsize k = 0; k < G_N_ELEMENTS (sizes); k++)
    printf ("daemon CPU, hearing of %d participants: %.0f %% of one core\n", sizes[k],
            median (cpu[k], runs));
  printf ("daemon resident memory per participant (6 in one hearing): %.1f MiB\n",
          median (rss, runs));
  return 0;
}
