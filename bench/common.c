/* common.c — what the benchmarks share: a daemon, hearings, test clients, /proc figures. */
#define _GNU_SOURCE
#include "bench/common.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

HdTestDaemon *d;
char *op;

gboolean
sh (const char *cmd)
{
  int status = 0;
  return g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL)
         && g_spawn_check_wait_status (status, NULL);
}

char *
new_hearing (void)
{
  int st = 0;
  json_t *h = hd_test_rest (d, "POST", "/api/v1/hearings", op,
                            "{\"case_number\":\"(2026)bench\",\"title\":\"bench\",\"court\":\"c\","
                            "\"scheduled_start\":\"2026-12-01T09:30:00Z\"}",
                            &st);
  char *hid = g_strdup (json_string_value (json_object_get (h, "id")));
  json_decref (h);
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s", hid);
  json_decref (hd_test_rest (d, "PATCH", path, op, "{\"state\":\"open\"}", &st));
  return hid;
}

/* A participant: C test client with `extra` options (space-separated), living `seconds`. */
GSubprocess *
client (const char *hid, int seconds, int freq, const char *extra)
{
  int st = 0;
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s/tokens", hid);
  json_t *t = hd_test_rest (d, "POST", path, op, "{\"role\":\"party\",\"name\":\"P\"}", &st);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%d/ws", d->port);
  g_autofree char *secs = g_strdup_printf ("%d", seconds);
  g_autofree char *f = g_strdup_printf ("%d", freq);
  GPtrArray *argv = g_ptr_array_new ();
  const char *base[] = { g_getenv ("HD_TEST_CLIENT"),
                         "--url",
                         url,
                         "--token",
                         json_string_value (json_object_get (t, "token")),
                         "--seconds",
                         secs,
                         "--freq",
                         f };
  for (gsize i = 0; i < G_N_ELEMENTS (base); i++)
    g_ptr_array_add (argv, (gpointer)base[i]);
  g_auto (GStrv) more = g_strsplit (extra ? extra : "", " ", -1);
  for (char **m = more; *m; m++)
    if (**m)
      g_ptr_array_add (argv, *m);
  g_ptr_array_add (argv, NULL);
  GSubprocess *p
      = g_subprocess_newv ((const char *const *)argv->pdata, G_SUBPROCESS_FLAGS_STDOUT_PIPE, NULL);
  g_ptr_array_unref (argv);
  json_decref (t);
  return p;
}

json_t *
finish (GSubprocess *p)
{
  g_autofree char *out = NULL;
  g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, NULL);
  g_object_unref (p);
  return json_loads (out ? out : "", 0, NULL);
}

void
pid_stat (const char *pid, double *cpu_s, long *rss_kib)
{
  g_autofree char *sp = g_strdup_printf ("/proc/%s/stat", pid);
  g_autofree char *st = NULL, *status = NULL;
  g_autofree char *stp = g_strdup_printf ("/proc/%s/status", pid);
  *cpu_s = -1;
  *rss_kib = -1;
  if (g_file_get_contents (sp, &st, NULL, NULL)) {
    const char *c = strrchr (st, ')');
    unsigned long ut = 0, stt = 0;
    if (c && sscanf (c + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) == 2)
      *cpu_s = (double)(ut + stt) / sysconf (_SC_CLK_TCK);
  }
  if (g_file_get_contents (stp, &status, NULL, NULL)) {
    const char *v = strstr (status, "VmRSS:");
    if (v)
      *rss_kib = atol (v + 6);
  }
}

void
proc_stat (GSubprocess *p, double *cpu_s, long *rss_kib)
{
  pid_stat (g_subprocess_get_identifier (p), cpu_s, rss_kib);
}

double
median (double *v, int n)
{
  if (n <= 0)
    return -1;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (v[j] < v[i]) {
        double x = v[i];
        v[i] = v[j];
        v[j] = x;
      }
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

gboolean
private_network (void)
{
  return getuid () == 0 && unshare (CLONE_NEWNET) == 0 && sh ("ip link set lo up")
         && sh ("ip link add v0 type veth peer name v1") && sh ("ip addr add 10.77.0.1/24 dev v0")
         && sh ("ip link set v0 up") && sh ("ip link set v1 up");
}

void
remove_tree (const char *root)
{
  g_autofree char *q = g_shell_quote (root);
  g_autofree char *cmd = g_strdup_printf ("rm -rf %s", q);
  if (!sh (cmd))
    fprintf (stderr, "could not remove %s\n", root);
}

char *
daemon_begin (const char *prefix, const char *const *env)
{
  for (const char *const *v
       = (const char *[]){ "HD_HEARINGD", "HD_HEARINGCTL", "HD_TEST_CLIENT", NULL };
       *v; v++)
    if (!g_getenv (*v)) {
      fprintf (stderr, "%s: set %s (see docs/performance.md for the command)\n", prefix, *v);
      exit (2);
    }
  g_autofree char *tmpl = g_strdup_printf ("%s-XXXXXX", prefix);
  char *root = g_dir_make_tmp (tmpl, NULL);
  g_autofree char *state = g_build_filename (root, "state", NULL);
  d = hd_test_daemon_start (state, FALSE, NULL, env);
  const char *const mint[] = { "--state-dir", state, "operator-token", NULL };
  g_free (op);
  op = NULL;
  hd_test_ctl (&op, NULL, mint);
  g_strstrip (op);
  return root;
}

void
daemon_end (const char *root)
{
  hd_test_daemon_stop (d);
  hd_test_daemon_free (d);
  d = NULL;
  remove_tree (root);
}

double
cpu_window (GSubprocess *p, double seconds, long *rss_kib)
{
  double a, b;
  long rss = 0;
  proc_stat (p, &a, &rss);
  g_usleep ((gulong)(seconds * G_USEC_PER_SEC));
  proc_stat (p, &b, &rss);
  if (rss_kib)
    *rss_kib = rss;
  return a >= 0 && b >= 0 ? (b - a) / seconds * 100.0 : -1;
}
