/* harness.c — see harness.h. */
#include "tests/integration/harness.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>

void
hd_test_die_with_parent (gpointer data)
{
  /* A test that aborts must not leave its daemon or clients running. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

HdTestDaemon *
hd_test_daemon_start (const char *state_dir, gboolean tls, const char *const *args,
                      const char *const *env)
{
  const char *bin = g_getenv ("HD_HEARINGD");
  g_return_val_if_fail (bin != NULL, NULL);
  HdTestDaemon *d = g_new0 (HdTestDaemon, 1);
  d->state_dir = g_strdup (state_dir);
  d->tls = tls;
  g_autofree char *parent = g_path_get_dirname (state_dir);
  g_autofree char *base = g_path_get_basename (state_dir);
  g_autofree char *logname = g_strdup_printf ("%s-stderr.log", base);
  d->stderr_path = g_build_filename (parent, logname, NULL);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path (l, d->stderr_path);
  g_subprocess_launcher_set_child_setup (l, hd_test_die_with_parent, NULL, NULL);
  for (const char *const *e = env; e && *e; e++) {
    g_auto (GStrv) kv = g_strsplit (*e, "=", 2);
    g_subprocess_launcher_setenv (l, kv[0], kv[1], TRUE);
  }
  g_autofree char *web = g_build_filename (g_getenv ("HD_SOURCE_ROOT"), "web", NULL);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer)bin);
  g_ptr_array_add (argv, "--state-dir");
  g_ptr_array_add (argv, (gpointer)state_dir);
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, "127.0.0.1:0");
  g_ptr_array_add (argv, "--web-root");
  g_ptr_array_add (argv, web);
  if (!tls)
    g_ptr_array_add (argv, "--plain-http");
  for (const char *const *a = args; a && *a; a++)
    g_ptr_array_add (argv, (gpointer)*a);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) e = NULL;
  d->proc = g_subprocess_launcher_spawnv (l, (const char *const *)argv->pdata, &e);
  g_ptr_array_unref (argv);
  if (!d->proc) {
    g_printerr ("# cannot start hearingd: %s\n", e->message);
    hd_test_daemon_free (d);
    return NULL;
  }
  g_autoptr (GDataInputStream) in
      = g_data_input_stream_new (g_subprocess_get_stdout_pipe (d->proc));
  g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
  const char *colon = line ? strrchr (line, ':') : NULL;
  if (!line || !g_str_has_prefix (line, "hearingd: listening on ") || !colon) {
    g_autofree char *log = hd_test_daemon_log (d);
    g_printerr ("# hearingd did not start: %s\n", log);
    hd_test_daemon_stop (d);
    hd_test_daemon_free (d);
    return NULL;
  }
  d->port = atoi (colon + 1);
  d->base_url = g_strdup_printf ("%s://127.0.0.1:%d", tls ? "https" : "http", d->port);
  return d;
}

int
hd_test_daemon_stop (HdTestDaemon *d)
{
  if (!d->proc)
    return -1;
  g_subprocess_send_signal (d->proc, SIGTERM);
  /* GSubprocess reaps the child on GLib's worker thread; the identifier goes NULL then. Poll
   * for at most 10 s: g_subprocess_wait has no timeout. */
  for (int i = 0; i < 200 && g_subprocess_get_identifier (d->proc) != NULL; i++)
    g_usleep (50000);
  if (g_subprocess_get_identifier (d->proc) != NULL) {
    g_subprocess_force_exit (d->proc);
    g_subprocess_wait (d->proc, NULL, NULL);
    return -1;
  }
  g_subprocess_wait (d->proc, NULL, NULL);
  return g_subprocess_get_if_exited (d->proc) ? g_subprocess_get_exit_status (d->proc) : -1;
}

void
hd_test_daemon_free (HdTestDaemon *d)
{
  if (!d)
    return;
  g_clear_object (&d->proc);
  g_free (d->state_dir);
  g_free (d->stderr_path);
  g_free (d->base_url);
  g_free (d);
}

char *
hd_test_daemon_log (HdTestDaemon *d)
{
  char *text = NULL;
  if (!g_file_get_contents (d->stderr_path, &text, NULL, NULL))
    text = g_strdup ("");
  return text;
}

int
hd_test_ctl (char **out, char **err, const char *const *argv)
{
  GPtrArray *a = g_ptr_array_new ();
  g_ptr_array_add (a, (gpointer)g_getenv ("HD_HEARINGCTL"));
  for (const char *const *p = argv; *p; p++)
    g_ptr_array_add (a, (gpointer)*p);
  g_ptr_array_add (a, NULL);
  g_autoptr (GError) e = NULL;
  g_autoptr (GSubprocess) p
      = g_subprocess_newv ((const char *const *)a->pdata,
                           G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &e);
  g_ptr_array_unref (a);
  g_assert_no_error (e);
  char *o = NULL, *r = NULL;
  g_subprocess_communicate_utf8 (p, NULL, NULL, &o, &r, &e);
  g_assert_no_error (e);
  if (out)
    *out = o;
  else
    g_free (o);
  if (err)
    *err = r;
  else
    g_free (r);
  return g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p) : -1;
}

json_t *
hd_test_rest (HdTestDaemon *d, const char *method, const char *path, const char *token,
              const char *body, int *status)
{
  g_autofree char *url = g_strdup_printf ("%s%s", d->base_url, path);
  g_autofree char *ca = g_build_filename (d->state_dir, "tls-cert.pem", NULL);
  HdHttpOptions o = { .ca_file = d->tls ? ca : NULL };
  g_autofree char *resp = NULL;
  g_autoptr (GError) e = NULL;
  if (!hd_http_fetch (url, method, token, body, &o, status, &resp, &e)) {
    /* what the daemon was doing then, for a failure that will not come again on demand */
    const char *pid = g_subprocess_get_identifier (d->proc);
    g_autofree char *log = hd_test_daemon_log (d);
    gsize n = strlen (log);
    g_printerr ("# %s\n# the daemon %s; the end of its log:\n%s\n", e->message,
                pid ? "is still running" : "has exited", log + (n > 4000 ? n - 4000 : 0));
    *status = 0;
    return NULL;
  }
  return json_loads (resp, 0, NULL);
}

json_t *
hd_test_ws_expect (HdWsContext *ctx, HdWsClient *c, const char *type, int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  while (g_get_monotonic_time () < end) {
    gint64 left = (end - g_get_monotonic_time ()) / 1000;
    g_autofree char *m = hd_ws_wait_message (ctx, c, (int)MAX (left, 1));
    if (!m) {
      if (hd_ws_is_closed (c))
        return NULL;
      continue;
    }
    json_t *j = json_loads (m, 0, NULL);
    if (j && g_strcmp0 (json_string_value (json_object_get (j, "type")), type) == 0)
      return j;
    json_decref (j);
  }
  return NULL;
}

int
hd_test_set_state (HdTestDaemon *d, const char *token, const char *hid, const char *state)
{
  int st = 0;
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s", hid);
  g_autofree char *body = g_strdup_printf ("{\"state\":\"%s\"}", state);
  json_decref (hd_test_rest (d, "PATCH", path, token, body, &st));
  return st;
}
