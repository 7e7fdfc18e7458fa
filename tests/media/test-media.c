/* Media tests: hearingd and C test clients (webrtcbin) in a private network namespace that the
 * test makes itself (unshare -n, lo, a veth pair 10.77.0.1/24): no traffic leaves it. Checks the
 * composite picture (frame rate, every participant's colour), the mix-minus sound (Goertzel: the
 * others' tones heard, one's own at least 20 dB below), mute, a late joiner's first frame, a
 * killed participant removed while the others carry on, a forged DTLS fingerprint cut off, and
 * two hearings kept apart. Needs root (CI runs as root); skipped otherwise. */
#define _GNU_SOURCE
#include "tests/integration/harness.h"
#include "tests/media/goertzel.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <string.h>
#include <unistd.h>

static HdTestDaemon *d;
static char *tmp_root, *op;

static const char *const daemon_env[] = {
  "HEARINGD_LOG_LEVEL=warning",          "HEARINGD_MEDIA_COMPOSITE_WIDTH=640",
  "HEARINGD_MEDIA_COMPOSITE_HEIGHT=360", "HEARINGD_MEDIA_VIDEO_BITRATE=800000",
  "HEARINGD_ICE_PORT_MIN=41000",         "HEARINGD_ICE_PORT_MAX=41999",
  "HEARINGD_HEARING_LOBBY=false", /* the lobby has tests of its own */
  "HEARINGD_ICE_INTERFACES=v0",          /* 10.77.0.1 only: nothing on loopback */ NULL,
};

static gboolean
sh (const char *cmd)
{
  int status = 0;
  g_autoptr (GError) e = NULL;
  return g_spawn_command_line_sync (cmd, NULL, NULL, &status, &e)
         && g_spawn_check_wait_status (status, NULL);
}

static char *
new_hearing (void)
{
  int st = 0;
  json_t *h = hd_test_rest (d, "POST", "/api/v1/hearings", op,
                            "{\"case_number\":\"(2026)浙0109民初55号\",\"title\":\"Media test\","
                            "\"court\":\"Xiaoshan\",\"scheduled_start\":\"2026-12-01T09:30:00Z\"}",
                            &st);
  g_assert_cmpint (st, ==, 201);
  char *hid = g_strdup (json_string_value (json_object_get (h, "id")));
  json_decref (h);
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s", hid);
  json_decref (hd_test_rest (d, "PATCH", path, op, "{\"state\":\"open\"}", &st));
  g_assert_cmpint (st, ==, 200);
  return hid;
}

static char *
token_for (const char *hid, const char *role, const char *name, const char *pid)
{
  int st = 0;
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s/tokens", hid);
  g_autofree char *body
      = pid ? g_strdup_printf ("{\"role\":\"%s\",\"name\":\"%s\",\"participant_id\":\"%s\"}", role,
                               name, pid)
            : g_strdup_printf ("{\"role\":\"%s\",\"name\":\"%s\"}", role, name);
  json_t *t = hd_test_rest (d, "POST", path, op, body, &st);
  g_assert_cmpint (st, ==, 201);
  char *tok = g_strdup (json_string_value (json_object_get (t, "token")));
  json_decref (t);
  return tok;
}

/* HD_TIMING_FACTOR stretches time limits in the (slower) sanitizer build only. */
static double
timing_factor (void)
{
  const char *f = g_getenv ("HD_TIMING_FACTOR");
  return f ? MAX (g_ascii_strtod (f, NULL), 1) : 1;
}

/* The browser script named by the environment variable `var`; NULL, the test skipped, without
 * Chromium or playwright-core (tests/e2e: npm ci). */
static const char *
browser_script (const char *var)
{
  const char *script = g_getenv (var);
  g_autofree char *pw = script ? g_build_filename (g_getenv ("HD_SOURCE_ROOT"), "tests", "e2e",
                                                   "node_modules", "playwright-core", NULL)
                               : NULL;
  if (!script || !g_file_test ("/usr/bin/chromium", G_FILE_TEST_IS_EXECUTABLE)
      || !g_file_test (pw, G_FILE_TEST_IS_DIR)) {
    g_test_skip ("needs chromium and playwright-core (tests/e2e: npm ci)");
    return NULL;
  }
  return script;
}

/* Where the screenshot `png` goes: HD_ARTEFACTS (made if need be), else the test's folder. */
static char *
artefact (const char *png)
{
  const char *art = g_getenv ("HD_ARTEFACTS");
  if (art)
    g_mkdir_with_parents (art, 0755);
  return g_build_filename (art ? art : tmp_root, png, NULL);
}

/* Runs the browser script with `env` (KEY, VALUE, …, NULL) and returns the JSON line it prints;
 * `what` names it in the test log. */
static json_t *
run_browser (const char *script, const char *what, const char *const *env)
{
  const char *argv[] = { "node", script, NULL };
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (l, hd_test_die_with_parent, NULL, NULL);
  for (const char *const *kv = env; kv[0] && kv[1]; kv += 2)
    g_subprocess_launcher_setenv (l, kv[0], kv[1], TRUE);
  g_autoptr (GError) e = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (l, argv, &e);
  g_assert_no_error (e);
  g_autofree char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, &e));
  g_test_message ("%s: %s", what, out);
  json_t *b = json_loads (out ? out : "", 0, NULL);
  g_assert_nonnull (b);
  /* what went wrong in the browser, where a failed run's log shows it (stderr) */
  if (json_array_size (json_object_get (b, "problems")) > 0)
    g_printerr ("%s: %s\n", what, out);
  return b;
}

/* A daemon of the test's own — state in tmp_root/`name`, the media tests' settings and then
 * `extra` — is `d`, with its operator token in `op`, until own_daemon_end (). */
static HdTestDaemon *main_daemon;
static char *main_op;
static GPtrArray *own_env;

static char *
own_daemon_begin (const char *name, const char *const *extra)
{
  g_assert_null (main_daemon);
  main_daemon = d;
  main_op = op;
  char *state = g_build_filename (tmp_root, name, NULL);
  own_env = g_ptr_array_new ();
  for (const char *const *e = daemon_env; *e; e++)
    g_ptr_array_add (own_env, (gpointer)*e);
  for (const char *const *e = extra; e && *e; e++)
    g_ptr_array_add (own_env, (gpointer)*e);
  g_ptr_array_add (own_env, NULL);
  d = hd_test_daemon_start (state, FALSE, NULL, (const char *const *)own_env->pdata);
  g_assert_nonnull (d);
  const char *const mint[] = { "--state-dir", state, "operator-token", NULL };
  g_assert_cmpint (hd_test_ctl (&op, NULL, mint), ==, 0);
  g_strstrip (op);
  return state;
}

/* (Re)starts the test's own daemon on `state` with its environment: after a kill. */
static void
own_daemon_restart (const char *state)
{
  d = hd_test_daemon_start (state, FALSE, NULL, (const char *const *)own_env->pdata);
  g_assert_nonnull (d);
}

/* Stops the test's own daemon (asserting a clean exit when `clean`); the main one is `d` again. */
static void
own_daemon_end (gboolean clean)
{
  int status = hd_test_daemon_stop (d);
  if (clean)
    g_assert_cmpint (status, ==, 0);
  hd_test_daemon_free (d);
  g_ptr_array_unref (own_env);
  own_env = NULL;
  g_free (op);
  d = main_daemon;
  op = main_op;
  main_daemon = NULL;
  main_op = NULL;
}

/* The wall-clock time at which the clients of the running test measure what they receive
 * (hd-test-client --measure-at): the same instant for all, while all are present, however
 * staggered their start-up is on a busy machine. 0: each measures just before it leaves. */
static gint64 measure_at;
static char *recorded_rid, *recorded_case; /* the recording /media/recording made, for the portal */

static void
measure_in (double seconds)
{
  measure_at = g_get_real_time () + (gint64)(seconds * G_USEC_PER_SEC);
}

typedef struct {
  GSubprocess *proc;
  const char *color;
  int freq;
} Client;

/* A participant of `role` (id `pid`, or one the daemon picks) sending `color` and a tone. */
static Client
client_as (const char *hid, const char *role, const char *pid, const char *name, const char *color,
           int freq, int seconds, const char *extra)
{
  g_autofree char *tok = token_for (hid, role, name, pid);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%d/ws", d->port);
  g_autofree char *fs = g_strdup_printf ("%d", freq);
  g_autofree char *secs = g_strdup_printf ("%d", seconds);
  GPtrArray *argv = g_ptr_array_new ();
  const char *base[] = { g_getenv ("HD_TEST_CLIENT"),
                         "--url",
                         url,
                         "--token",
                         tok,
                         "--color",
                         color,
                         "--freq",
                         fs,
                         "--seconds",
                         secs,
                         "--listen",
                         "440,550,660,880",
                         "--colors",
                         "ff0000,00ff00,0000ff,ffff00" };
  for (gsize i = 0; i < G_N_ELEMENTS (base); i++)
    g_ptr_array_add (argv, (gpointer)base[i]);
  g_autofree char *at = g_strdup_printf ("--measure-at=%" G_GINT64_FORMAT, measure_at);
  if (measure_at)
    g_ptr_array_add (argv, at);
  g_auto (GStrv) more = g_strsplit (extra ? extra : "", " ", -1); /* later flags win */
  for (char **m = more; *m; m++)
    if (**m)
      g_ptr_array_add (argv, *m);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) e = NULL;
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (l, hd_test_die_with_parent, NULL, NULL);
  Client c
      = { g_subprocess_launcher_spawnv (l, (const char *const *)argv->pdata, &e), color, freq };
  g_ptr_array_unref (argv);
  g_assert_no_error (e);
  return c;
}

static Client
client (const char *hid, const char *name, const char *color, int freq, int seconds,
        const char *extra)
{
  return client_as (hid, "party", NULL, name, color, freq, seconds, extra);
}

static json_t *
report (Client *c)
{
  g_autofree char *out = NULL;
  g_autoptr (GError) e = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (c->proc, NULL, NULL, &out, NULL, &e));
  g_clear_object (&c->proc);
  g_test_message ("client %s/%d: %s", c->color, c->freq, out);
  json_t *j = json_loads (out ? out : "", 0, NULL);
  g_assert_nonnull (j);
  return j;
}

/* SIGKILL: no goodbye, the daemon finds out from the closed connection or ICE. */
static void
kill_client (Client *c)
{
  g_subprocess_force_exit (c->proc);
  g_subprocess_wait (c->proc, NULL, NULL);
  g_clear_object (&c->proc);
}

static double
num (json_t *r, const char *obj, const char *key)
{
  return json_number_value (json_object_get (obj ? json_object_get (r, obj) : r, key));
}

static void
test_three_participants (void)
{
  g_autofree char *hid = new_hearing ();
  measure_in (8);
  Client c[3] = { client (hid, "Red", "ff0000", 440, 10, NULL),
                  client (hid, "Green", "00ff00", 660, 10, NULL),
                  client (hid, "Blue", "0000ff", 880, 10, NULL) };
  g_usleep (4 * G_USEC_PER_SEC);
  /* [ice] port_min/port_max: every UDP socket of the daemon's is in the range */
  g_autofree char *ss = NULL;
  g_assert_true (g_spawn_command_line_sync ("ss -uanpH", &ss, NULL, NULL, NULL));
  int in_range = 0, outside = 0;
  g_auto (GStrv) lines = g_strsplit (ss, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (!strstr (*l, "\"hearingd\""))
      continue;
    g_auto (GStrv) f = g_strsplit_set (*l, " \t", -1);
    const char *local = NULL;
    int col = 0;
    for (char **x = f; *x; x++)
      if (**x && ++col == 4)
        local = *x;
    int port = local && strrchr (local, ':') ? atoi (strrchr (local, ':') + 1) : 0;
    /* [ice] port_min/port_max and interfaces = v0: only 10.77.0.1, only the range */
    if (port >= 41000 && port <= 41999 && g_str_has_prefix (local, "10.77.0.1:"))
      in_range++;
    else
      outside++;
  }
  g_test_message ("daemon UDP sockets: %d on 10.77.0.1:41000-41999, %d elsewhere", in_range,
                  outside);
  g_assert_cmpint (in_range, >, 0);
  g_assert_cmpint (outside, ==, 0);
  Client late = client (hid, "Late", "ffff00", 550, 5, NULL);
  json_t *lr = report (&late);
  g_assert_cmpfloat (num (lr, NULL, "first_frame_ms"), >, 0);
  /* within 1 s (stretched in the sanitizer build only) */
  g_assert_cmpfloat (num (lr, NULL, "first_frame_ms"), <, 1000 * timing_factor ());
  json_decref (lr);
  static const char *all[] = { "ff0000", "00ff00", "0000ff" };
  static const char *f[] = { "440", "660", "880" };
  for (int i = 0; i < 3; i++) {
    json_t *r = report (&c[i]);
    g_assert_true (json_is_true (json_object_get (r, "welcomed")));
    g_assert_cmpfloat (num (r, NULL, "fps_last_2s"), >=, 25);
    for (int k = 0; k < 3; k++)
      g_assert_cmpfloat (num (r, "colors", all[k]), >, 0.10); /* every tile in the composite */
    double own = num (r, "power_db", f[i]);
    for (int k = 0; k < 3; k++)
      if (k != i) {
        g_assert_cmpfloat (num (r, "power_db", f[k]), >, -30);      /* the others are heard */
        g_assert_cmpfloat (own, <, num (r, "power_db", f[k]) - 20); /* mix-minus */
      }
    json_decref (r);
  }
}

static void
test_audio_only_and_video_only (void)
{
  g_autofree char *hid = new_hearing ();
  measure_in (6);
  Client voice = client (hid, "Voice", "ff0000", 440, 8, "--no-video");
  Client picture = client (hid, "Picture", "0000ff", 880, 8, "--no-audio");
  json_t *v = report (&voice), *p = report (&picture);
  /* the voice-only participant sees the other's picture, and no tile of its own */
  g_assert_cmpfloat (num (v, NULL, "fps_last_2s"), >=, 25);
  g_assert_cmpfloat (num (v, "colors", "0000ff"), >, 0.5);
  g_assert_cmpfloat (num (v, "colors", "ff0000"), <, 0.001);
  /* the picture-only participant hears the other */
  g_assert_cmpfloat (num (p, "power_db", "440"), >, -30);
  g_assert_cmpfloat (num (v, "power_db", "880"), <, -40);
  json_decref (v);
  json_decref (p);
}

static void
test_mute_and_kill (void)
{
  g_autofree char *hid = new_hearing ();
  measure_in (9);
  Client a = client (hid, "Red", "ff0000", 440, 10, NULL);
  Client b = client (hid, "Green", "00ff00", 660, 10, NULL);
  Client m = client (hid, "Blue", "0000ff", 880, 10, "--mute-at=3");
  g_usleep (5 * G_USEC_PER_SEC);
  kill_client (&b);
  json_t *r = report (&a);
  g_assert_cmpfloat (num (r, NULL, "fps_last_2s"), >=, 20); /* kept receiving */
  g_assert_cmpfloat (num (r, "colors", "00ff00"), <, 0.01); /* the killed one is gone */
  g_assert_cmpfloat (num (r, "colors", "0000ff"), >, 0.10);
  g_assert_cmpfloat (num (r, "power_db", "880"), <, -40); /* the muted one is silent */
  g_assert_cmpfloat (num (r, "power_db", "660"), <, -40); /* and the killed one */
  json_decref (r);
  json_t *mr = report (&m);
  g_assert_cmpfloat (num (mr, "power_db", "440"), >, -30); /* muted, still hears */
  json_decref (mr);
}

/* Participants coming and going while others talk: each departure takes its feeds out of the
 * others' mixers while their threads push into them (a pad released under a push crashed the
 * daemon once in six CI runs). Six short visits (at least four in a slow build), every other one
 * killed; those who stay keep seeing and hearing each other, and hear nothing of the visitors
 * once they are gone. */
static void
test_comings_and_goings (void)
{
  g_autofree char *hid = new_hearing ();
  measure_in (24);
  Client a = client (hid, "Red", "ff0000", 440, 26, NULL);
  Client b = client (hid, "Blue", "0000ff", 880, 26, NULL);
  g_usleep (2 * G_USEC_PER_SEC);
  /* the last visitor gone 2 s before the 1.5 s the stayers measure (a slower build: fewer) */
  gint64 last_start = measure_at - (gint64)(1.5 + 2 + 3.5) * G_USEC_PER_SEC;
  int visits = 0;
  for (int i = 0; i < 6 && g_get_real_time () < last_start; i++, visits++) {
    /* measured over its own last moments: the others' sound did reach its mix */
    Client v = client (hid, "Visitor", "00ff00", 660, 3, "--measure-at=0");
    if (i % 2) {
      g_usleep (2500 * 1000);
      kill_client (&v);
    } else {
      json_t *vr = report (&v);
      g_assert_cmpfloat (num (vr, "power_db", "440"), >, -30);
      g_assert_cmpfloat (num (vr, "power_db", "880"), >, -30);
      g_assert_cmpfloat (num (vr, "colors", "ff0000"), >, 0.10);
      json_decref (vr);
    }
  }
  g_test_message ("%d visits", visits);
  g_assert_cmpint (visits, >=, 4);
  json_t *r[2] = { report (&a), report (&b) };
  for (int i = 0; i < 2; i++) {
    g_assert_cmpfloat (num (r[i], NULL, "fps_last_2s"), >=, 25);
    g_assert_cmpfloat (num (r[i], "colors", "00ff00"), <, 0.01);
    g_assert_cmpfloat (num (r[i], "power_db", "660"), <, -40);
  }
  g_assert_cmpfloat (num (r[0], "colors", "0000ff"), >, 0.10);
  g_assert_cmpfloat (num (r[1], "colors", "ff0000"), >, 0.10);
  g_assert_cmpfloat (num (r[0], "power_db", "880"), >, -30);
  g_assert_cmpfloat (num (r[1], "power_db", "440"), >, -30);
  json_decref (r[0]);
  json_decref (r[1]);
}

static void
test_forged_fingerprint (void)
{
  g_autofree char *hid = new_hearing ();
  measure_in (6);
  Client a = client (hid, "Red", "ff0000", 440, 7, NULL);
  Client x = client (hid, "Mallory", "00ff00", 660, 7, "--forge-fingerprint");
  json_t *xr = report (&x);
  json_t *ra = report (&a);
  g_assert_cmpfloat (num (ra, "colors", "00ff00"), <, 0.001); /* never in the composite */
  g_assert_cmpfloat (num (ra, "power_db", "660"), <, -40);    /* never in the sound */
  g_assert_cmpfloat (num (ra, NULL, "fps_last_2s"), >=, 20);
  gboolean told = FALSE;
  json_t *errs = json_object_get (xr, "errors");
  for (size_t i = 0; i < json_array_size (errs); i++)
    told |= !g_strcmp0 (json_string_value (json_array_get (errs, i)), "dtls_fingerprint_mismatch");
  g_assert_true (told);
  g_assert_true (json_is_true (json_object_get (xr, "closed")));
  json_decref (xr);
  json_decref (ra);
}

static void
test_two_hearings (void)
{
  g_autofree char *h1 = new_hearing ();
  g_autofree char *h2 = new_hearing ();
  measure_in (7);
  Client a1 = client (h1, "Red", "ff0000", 440, 8, NULL);
  Client a2 = client (h1, "Green", "00ff00", 660, 8, NULL);
  Client b1 = client (h2, "Blue", "0000ff", 880, 8, NULL);
  Client b2 = client (h2, "Yellow", "ffff00", 550, 8, NULL);
  g_usleep (4 * G_USEC_PER_SEC);
  int st = 0;
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s", h2);
  json_decref (hd_test_rest (d, "PATCH", path, op, "{\"state\":\"closed\"}", &st));
  g_assert_cmpint (st, ==, 200);
  json_t *r1 = report (&a1), *r2 = report (&a2), *rb = report (&b1), *rb2 = report (&b2);
  g_assert_cmpfloat (num (r1, NULL, "fps_last_2s"), >=, 20);
  g_assert_cmpfloat (num (r1, "colors", "00ff00"), >, 0.10);
  g_assert_cmpfloat (num (r1, "colors", "0000ff"), <, 0.001); /* nothing from the other hearing */
  g_assert_cmpfloat (num (r1, "power_db", "660"), >, -30);
  g_assert_cmpfloat (num (r1, "power_db", "880"), <, -40);
  g_assert_cmpfloat (num (r2, "colors", "ff0000"), >, 0.10);
  /* hearing 2 did carry media before it was closed (else the isolation checks prove nothing):
   * decoded frames, however slowly they started (12 in 4 s once, in the sanitizer build under
   * load) */
  g_assert_cmpint (json_integer_value (json_object_get (rb, "frames")), >, 5);
  g_assert_true (json_is_true (json_object_get (rb, "closed"))); /* its hearing ended */
  g_assert_true (json_is_true (json_object_get (rb2, "closed")));
  json_decref (r1);
  json_decref (r2);
  json_decref (rb);
  json_decref (rb2);
}

static gboolean
contains (json_t *list, const char *s)
{
  for (size_t i = 0; i < json_array_size (list); i++)
    if (!g_strcmp0 (json_string_value (json_array_get (list, i)), s))
      return TRUE;
  return FALSE;
}

/* The judge lays the picture out: the active speaker large, then one participant pinned. A
 * party may not. Tiles keep their proportions (4:3 pictures in 16:9 boxes). */
static void
test_layouts (void)
{
  g_autofree char *hid = new_hearing ();
  /* the judge asks for "speaker" at 1 s and pins Blue at 5 s; a party tries to and is refused */
  measure_in (8.5);
  Client judge
      = client_as (hid, "judge", "judge-red", "Judge", "ff0000", 440, 9,
                   "--volume=0.02 --send=1:{\"type\":\"layout\",\"mode\":\"speaker\"} "
                   "--send=5:{\"type\":\"layout\",\"mode\":\"pinned\",\"participant\":\"blue\"}");
  Client blue = client_as (hid, "party", "blue", "Blue", "0000ff", 880, 9,
                           "--volume=0.02 --send=2:{\"type\":\"layout\",\"mode\":\"grid\"}");
  measure_in (4.5);
  Client green = client_as (hid, "party", "green", "Green", "00ff00", 660, 9, NULL);
  measure_at = 0;
  json_t *g = report (&green), *b = report (&blue), *j = report (&judge);
  /* 1-4.5 s: Green speaks loudest and is shown large: a 4:3 picture in a 640x270 box is 42 %
   * of the frame; the others in the strip below, 120x90 each (4.7 %) */
  g_assert_true (contains (json_object_get (g, "speakers"), "green"));
  g_assert_cmpfloat (num (g, "colors", "00ff00"), >, 0.30);
  g_assert_cmpfloat (num (g, "colors", "ff0000"), >, 0.01);
  g_assert_cmpfloat (num (g, "colors", "ff0000"), <, 0.10);
  g_assert_cmpfloat (num (g, "colors", "0000ff"), >, 0.01);
  g_assert_cmpfloat (num (g, "colors", "0000ff"), <, 0.10);
  /* 5-8.5 s: Blue pinned large though Green is louder */
  for (json_t *r = b; r; r = r == b ? j : NULL) {
    g_assert_cmpfloat (num (r, "colors", "0000ff"), >, 0.30);
    g_assert_cmpfloat (num (r, "colors", "00ff00"), <, 0.10);
    g_assert_cmpfloat (num (r, "colors", "00ff00"), >, 0.01);
    /* told the layout in force when it joined (welcome: "grid", or "speaker" if it joined after
     * the judge's change, as a slow sanitized run can), then "speaker", then "pinned"; the
     * party's "grid" changed nothing ("grid" comes again only once Blue, pinned, has left) */
    json_t *l = json_object_get (r, "layouts");
    gsize k = !g_strcmp0 (json_string_value (json_array_get (l, 0)), "grid") ? 1 : 0;
    g_assert_cmpstr (json_string_value (json_array_get (l, k)), ==, "speaker");
    g_assert_cmpstr (json_string_value (json_array_get (l, k + 1)), ==, "pinned");
  }
  g_assert_true (contains (json_object_get (b, "errors"), "forbidden")); /* a party may not */
  json_decref (g);
  json_decref (b);
  json_decref (j);
}

static void
set_state (const char *hid, const char *state)
{
  g_assert_cmpint (hd_test_set_state (d, op, hid, state), ==, 200);
}

/* POST /api/v1/recordings/{rid}/verify as archivist `arch`: it answers and the recording
 * verifies. The verdict (caller decrefs). */
static json_t *
verified (const char *rid, const char *arch)
{
  int st = 0;
  g_autofree char *vpath = g_strdup_printf ("/api/v1/recordings/%s/verify", rid);
  json_t *v = hd_test_rest (d, "POST", vpath, arch, NULL, &st);
  g_assert_cmpint (st, ==, 200);
  char *text = json_dumps (v, 0);
  g_test_message ("verify %s", text);
  free (text);
  g_assert_true (json_is_true (json_object_get (v, "ok")));
  return v;
}

/* A manifest entry's wall-clock time ("at"), in µs. */
static gint64
entry_at_us (json_t *entry)
{
  g_autoptr (GDateTime) when
      = g_date_time_new_from_iso8601 (json_string_value (json_object_get (entry, "at")), NULL);
  g_assert_nonnull (when);
  return g_date_time_to_unix (when) * G_USEC_PER_SEC + g_date_time_get_microsecond (when);
}

/* `file`'s Matroska/WebM demuxed into `tail` (a gst-launch description) and written out raw; a
 * run that ends in an error is allowed only if `truncated` (a file cut short by a SIGKILL). */
static GBytes *
launch_into_bytes (const char *file, const char *tail, gboolean truncated)
{
  g_autofree char *raw = g_strconcat (file, ".raw", NULL);
  g_autofree char *cmd
      = g_strdup_printf ("gst-launch-1.0 -q filesrc location=%s ! matroskademux ! %s ! filesink "
                         "location=%s",
                         file, tail, raw);
  g_assert_true (sh (cmd) || truncated); /* it ends in an error after all it holds is decoded */
  char *data = NULL;
  gsize n = 0;
  g_assert_true (g_file_get_contents (raw, &data, &n, NULL));
  g_unlink (raw);
  return g_bytes_new_take (data, n);
}

/* Decode `file` into raw data (audio: mono F32 48 kHz; video: 64x36 RGB). */
static GBytes *
decode_as (const char *file, gboolean video, gboolean truncated)
{
  return launch_into_bytes (
      file,
      video ? "vp8dec ! videoconvert ! videoscale ! video/x-raw,format=RGB,width=64,height=36"
            : "opusdec ! audioconvert ! audioresample ! "
              "audio/x-raw,format=F32LE,channels=1,rate=48000",
      truncated);
}

static GBytes *
decode (const char *file, gboolean video)
{
  return decode_as (file, video, FALSE);
}

/* The composite of `file` as the daemon drew it (640x360 RGB, the tests' size), two frames a
 * second. */
static GBytes *
decode_full (const char *file)
{
  return launch_into_bytes (file,
                            "vp8dec ! videorate ! videoconvert ! "
                            "video/x-raw,format=RGB,width=640,height=360,framerate=2/1",
                            FALSE);
}

/* The decoded frame `at` (0..1 of the way through) of raw frames of `frame` bytes each, or NULL
 * if there is none. */
static const guint8 *
frame_at (GBytes *raw, gsize frame, double at)
{
  gsize n = 0;
  const guint8 *p = g_bytes_get_data (raw, &n);
  if (n < frame)
    return NULL;
  return p + (gsize)((double)(n / frame - 1) * at) * frame;
}

/* Share of the pixels in rows [y0, y1) of the last frame of `rgb` (decode_full) that are white:
 * the composite's letters (no participant's colour is white). */
static double
white_share (GBytes *rgb, int y0, int y1)
{
  const guint8 *p = frame_at (rgb, 640 * 360 * 3, 1.0);
  gsize hit = 0;
  if (!p)
    return 0;
  for (gsize i = (gsize)y0 * 640 * 3; i < (gsize)y1 * 640 * 3; i += 3)
    hit += p[i] > 190 && p[i + 1] > 190 && p[i + 2] > 190;
  return (double)hit / ((y1 - y0) * 640);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median power at `freq` over quarter seconds of the sound: a long stretch joins runs of the
 * recording, whose phases do not line up, and one Goertzel over a join cancels itself out. */
static double
tone_db_median (GBytes *pcm, double freq)
{
  gsize n = 0;
  const float *x = g_bytes_get_data (pcm, &n);
  n /= sizeof (float);
  gsize w = 12000, k = n / w;
  if (k == 0)
    return -120;
  double *p = g_new (double, k);
  for (gsize i = 0; i < k; i++)
    p[i] = 10 * log10 (hd_goertzel (x + i * w, w, freq, 48000) + 1e-12);
  qsort (p, k, sizeof *p, cmp_double);
  double m = p[k / 2];
  g_free (p);
  return m;
}

static double
tone_db (GBytes *pcm, double freq)
{
  gsize n = 0;
  const float *x = g_bytes_get_data (pcm, &n);
  return 10 * log10 (hd_goertzel (x, n / sizeof (float), freq, 48000) + 1e-12);
}

/* Share of the pixels of decoded frame `at` (0..1 of the way through) close to RRGGBB. */
static double
color_share_at (GBytes *rgb, guint32 color, double at)
{
  gsize frame = 64 * 36 * 3, hit = 0;
  const guint8 *p = frame_at (rgb, frame, at);
  if (!p)
    return 0;
  for (gsize i = 0; i < frame; i += 3)
    hit += abs (p[i] - (int)(color >> 16)) < 60 && abs (p[i + 1] - (int)((color >> 8) & 255)) < 60
           && abs (p[i + 2] - (int)(color & 255)) < 60;
  return (double)hit / (64 * 36);
}

/* … of the last frame. */
static double
color_share (GBytes *rgb, guint32 color)
{
  return color_share_at (rgb, color, 1.0);
}

/* GET `path` with curl (the HTTP client of the shell: Range as a browser sends it); the body
 * goes to `out`. Returns the status, 0 if curl failed. */
static int
curl_get (const char *path, const char *token, const char *range, const char *out)
{
  g_autofree char *url = g_strdup_printf ("%s%s", d->base_url, path);
  g_autofree char *auth = g_strdup_printf ("Authorization: Bearer %s", token);
  g_autofree char *rh = range ? g_strdup_printf ("Range: %s", range) : g_strdup ("X-No-Range: 1");
  const char *argv[]
      = { "curl", "-sS", "-o", out, "-w", "%{http_code}", "-H", auth, "-H", rh, url, NULL };
  g_autofree char *code = NULL, *errs = NULL;
  int wait = 0;
  if (!g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &code, &errs,
                     &wait, NULL))
    return 0;
  if (errs && *errs)
    g_test_message ("curl %s: %s", path, errs);
  return atoi (code ? code : "0");
}

static gboolean
has_event (json_t *manifest, const char *type)
{
  json_t *ev = json_object_get (manifest, "events");
  for (size_t i = 0; i < json_array_size (ev); i++)
    if (!g_strcmp0 (json_string_value (json_object_get (json_array_get (ev, i), "type")), type))
      return TRUE;
  return FALSE;
}

/* Milliseconds of the segments of `track` in the manifest, and one file of it from the middle. */
static gint64
track_ms (json_t *manifest, const char *track, const char **middle)
{
  json_t *segs = json_object_get (manifest, "segments");
  gint64 ms = 0;
  GPtrArray *files = g_ptr_array_new ();
  for (size_t i = 0; i < json_array_size (segs); i++) {
    json_t *sg = json_array_get (segs, i);
    if (g_strcmp0 (json_string_value (json_object_get (sg, "track")), track))
      continue;
    ms += json_integer_value (json_object_get (sg, "duration_ms"));
    g_ptr_array_add (files, (gpointer)json_string_value (json_object_get (sg, "file")));
  }
  if (middle)
    *middle = files->len ? files->pdata[files->len / 2] : NULL;
  g_ptr_array_unref (files);
  return ms;
}

static void
print_segments (json_t *manifest, const char *track)
{
  json_t *segs = json_object_get (manifest, "segments");
  for (size_t i = 0; i < json_array_size (segs); i++) {
    json_t *sg = json_array_get (segs, i);
    if (!g_strcmp0 (json_string_value (json_object_get (sg, "track")), track))
      g_test_message ("  %s: start %" JSON_INTEGER_FORMAT " ms, %" JSON_INTEGER_FORMAT " ms",
                      json_string_value (json_object_get (sg, "file")),
                      json_integer_value (json_object_get (sg, "start_ms")),
                      json_integer_value (json_object_get (sg, "duration_ms")));
  }
}

/* Three participants; the session is recorded from in_session to closed, paused by a recess: the
 * composite as sent with the full mix, each participant's sound and picture as received, on one
 * clock, in 2 s segments, hash-chained and signed; every track lasts as long as the session did
 * (recess excluded) within 0.5 s, every tone is in its tracks and only there; the archivist finds
 * the recording, verifies it (REST and offline), downloads it, and a flipped byte is named. */
static void
test_recording (void)
{
  g_autofree char *hid = new_hearing ();
  measure_at = 0;
  /* Red is the clerk: a log note 6 s after joining, in the session's first part; the recording
   * off (with a reason) from 10.5 s to 11.5 s, in its second part */
  Client c[] = {
    client_as (hid, "clerk", "red", "Red", "ff0000", 440, 20,
               "--send=6:{\"type\":\"note\",\"text\":\"Exhibit-3-shown\"} "
               "--send=10.5:{\"type\":\"recording\",\"action\":\"pause\",\"reason\":\"sidebar\"} "
               "--send=11.5:{\"type\":\"recording\",\"action\":\"resume\",\"reason\":\"back\"}"),
    client_as (hid, "party", "green", "Green", "00ff00", 660, 20, NULL),
    client_as (hid, "party", "blue", "Blue", "0000ff", 880, 20, NULL),
  };
  g_usleep (2500 * 1000); /* everyone in, media flowing */
  gint64 t0 = g_get_monotonic_time (), opened_at = g_get_real_time () / 1000;
  set_state (hid, "in_session");
  g_usleep (5 * G_USEC_PER_SEC);
  gint64 t1 = g_get_monotonic_time ();
  set_state (hid, "recess");
  g_usleep (1500 * 1000);
  gint64 t2 = g_get_monotonic_time ();
  set_state (hid, "in_session");
  for (int k = 0; k < 16; k++) { /* the daemon answers throughout (a recording once broke it) */
    int hs = 0;
    json_decref (hd_test_rest (d, "GET", "/healthz", NULL, NULL, &hs));
    g_assert_cmpint (hs, ==, 200);
    g_usleep (400000);
  }
  /* the archivist's token (tokens are not issued for closed hearings) */
  int st = 0;
  g_autofree char *tpath = g_strdup_printf ("/api/v1/hearings/%s/tokens", hid);
  json_t *t
      = hd_test_rest (d, "POST", tpath, op, "{\"role\":\"archivist\",\"name\":\"Archivist\"}", &st);
  g_assert_cmpint (st, ==, 201);
  g_autofree char *arch = g_strdup (json_string_value (json_object_get (t, "token")));
  json_decref (t);
  gint64 t3 = g_get_monotonic_time ();
  set_state (hid, "closed");
  gint64 session_ms = (t1 - t0 + t3 - t2) / 1000;
  for (gsize i = 0; i < G_N_ELEMENTS (c); i++) {
    json_t *r = report (&c[i]);
    g_assert_cmpuint (json_array_size (json_object_get (r, "errors")), ==, 0);
    json_decref (r);
  }
  g_autofree char *q = g_strdup_printf ("/api/v1/recordings?hearing=%s", hid);
  json_t *rec = NULL;
  for (int i = 0; i < 50 && !rec; i++) { /* closing finishes the last segments first */
    json_t *l = hd_test_rest (d, "GET", q, arch, NULL, &st);
    g_assert_cmpint (st, ==, 200);
    json_t *r0 = json_array_get (json_object_get (l, "recordings"), 0);
    if (r0 && !g_strcmp0 (json_string_value (json_object_get (r0, "status")), "closed"))
      rec = json_incref (r0);
    json_decref (l);
    if (!rec)
      g_usleep (100000);
  }
  g_assert_nonnull (rec);
  const char *rid = json_string_value (json_object_get (rec, "id"));
  /* operators do not read the archive */
  g_autofree char *show = g_strdup_printf ("/api/v1/recordings/%s", rid);
  json_decref (hd_test_rest (d, "GET", show, op, NULL, &st));
  g_assert_cmpint (st, ==, 403);
  json_t *full = hd_test_rest (d, "GET", show, arch, NULL, &st);
  g_assert_cmpint (st, ==, 200);
  json_t *m = json_object_get (full, "manifest");
  g_assert_cmpstr (json_string_value (json_object_get (m, "status")), ==, "closed");
  g_assert_true (has_event (m, "start") && has_event (m, "pause") && has_event (m, "resume")
                 && has_event (m, "stop") && has_event (m, "join"));
  json_t *note = json_array_get (json_object_get (m, "notes"), 0);
  g_assert_cmpstr (json_string_value (json_object_get (note, "text")), ==, "Exhibit-3-shown");
  g_assert_cmpstr (json_string_value (json_object_get (note, "author")), ==, "Red");
  g_assert_cmpint (json_integer_value (json_object_get (note, "offset_ms")), >, 2000);
  g_assert_cmpint (json_integer_value (json_object_get (note, "offset_ms")), <, 5000);
  /* the recess and the clerk's pause are written down, with their wall-clock lengths, and no
   * media is inside them: every track lasts as long as the session did without them */
  json_t *ev = json_object_get (m, "events");
  gint64 paused_at = 0, resumed_at = 0, off_at = 0, on_at = 0;
  int present = 0;
  gboolean started = FALSE;
  for (size_t i = 0; i < json_array_size (ev); i++) {
    json_t *e = json_array_get (ev, i);
    const char *type = json_string_value (json_object_get (e, "type"));
    gint64 at = entry_at_us (e) / 1000;
    const char *who = json_string_value (json_object_get (e, "who"));
    const char *why = json_string_value (json_object_get (e, "reason"));
    gint64 offset = json_integer_value (json_object_get (e, "offset_ms"));
    /* the recording starts as the session opens, not when the first one joined (2.5 s before);
     * those already there are on the record from its first moment */
    if (!g_strcmp0 (type, "start")) {
      g_test_message ("start at offset %" G_GINT64_FORMAT " ms, %+" G_GINT64_FORMAT
                      " ms after the session opened",
                      offset, at - opened_at);
      g_assert_false (started);
      started = TRUE;
      g_assert_cmpstr (why, ==, "session opened");
      g_assert_cmpint (offset, <, 500); /* the pipeline's recording elements made first */
      g_assert_cmpint (at - opened_at, >=, 0);
      g_assert_cmpint (at - opened_at, <, 1000);
    }
    if (!g_strcmp0 (type, "join") && !g_strcmp0 (why, "present when the recording started")) {
      g_assert_cmpint (offset, ==, 0);
      present++;
    }
    if (!g_strcmp0 (type, "pause") && !who)
      paused_at = at;
    else if (!g_strcmp0 (type, "resume") && !who)
      resumed_at = at;
    else if (!g_strcmp0 (type, "pause") && !g_strcmp0 (who, "red") && !g_strcmp0 (why, "sidebar"))
      off_at = at;
    else if (!g_strcmp0 (type, "resume") && !g_strcmp0 (who, "red") && !g_strcmp0 (why, "back"))
      on_at = at;
  }
  g_assert_true (started);
  g_assert_cmpint (present, ==, 3); /* red, green, blue */
  g_test_message ("off the record: %" G_GINT64_FORMAT " ms", on_at - off_at);
  g_assert_cmpint (off_at, >, 0);
  g_assert_cmpint (on_at - off_at, >, 500);
  g_assert_cmpint (on_at - off_at, <, 2500); /* back on once the last segments are out (≤1.5 s) */
  session_ms -= on_at - off_at;
  g_test_message ("recess: %" G_GINT64_FORMAT " ms in the events, %" G_GINT64_FORMAT
                  " ms by the test",
                  resumed_at - paused_at, (t2 - t1) / 1000);
  g_assert_cmpint (ABS (resumed_at - paused_at - (t2 - t1) / 1000), <, 500);
  static const char *tracks[] = { "composite",   "red-audio",  "red-video", "green-audio",
                                  "green-video", "blue-audio", "blue-video" };
  const char *middle[G_N_ELEMENTS (tracks)];
  for (gsize i = 0; i < G_N_ELEMENTS (tracks); i++) {
    gint64 ms = track_ms (m, tracks[i], &middle[i]);
    g_test_message ("track %s: %" G_GINT64_FORMAT " ms recorded, session %" G_GINT64_FORMAT " ms",
                    tracks[i], ms, session_ms);
    if (ABS (ms - session_ms) > 250) /* where the difference is, for a failed run's log */
      print_segments (m, tracks[i]);
    g_assert_nonnull (middle[i]);
    g_assert_cmpint (ABS (ms - session_ms), <=, 500);
  }
  g_assert_cmpint (track_ms (m, "composite", NULL), ==,
                   json_integer_value (json_object_get (rec, "duration_ms")));
  g_autofree char *dir = g_build_filename (tmp_root, "state", "archive", hid, rid, NULL);
  /* each participant's own tracks hold their own tone and colour, and nobody else's */
  static const struct {
    int freq;
    guint32 color;
  } who[] = { { 440, 0xff0000 }, { 660, 0x00ff00 }, { 880, 0x0000ff } };
  for (gsize i = 0; i < 3; i++) {
    g_autofree char *af = g_build_filename (dir, middle[1 + 2 * i], NULL);
    g_autoptr (GBytes) own = decode (af, FALSE);
    for (gsize k = 0; k < 3; k++) {
      g_test_message ("%s: %d Hz %.1f dB", tracks[1 + 2 * i], who[k].freq,
                      tone_db (own, who[k].freq));
      if (k == i)
        g_assert_cmpfloat (tone_db (own, who[k].freq), >, -30);
      else
        g_assert_cmpfloat (tone_db (own, who[k].freq), <, tone_db (own, who[i].freq) - 30);
    }
    g_autofree char *vf = g_build_filename (dir, middle[2 + 2 * i], NULL);
    g_autoptr (GBytes) pic = decode (vf, TRUE);
    g_assert_cmpfloat (color_share (pic, who[i].color), >, 0.9);
  }
  const char *sample = middle[0];
  /* the composite as sent: all three pictures, and the full mix: all three tones */
  g_autofree char *f = g_build_filename (dir, sample, NULL);
  g_autoptr (GBytes) pic = decode (f, TRUE);
  g_autoptr (GBytes) mix = decode (f, FALSE);
  for (gsize k = 0; k < 3; k++) {
    g_test_message ("composite: %d Hz %.1f dB", who[k].freq, tone_db (mix, who[k].freq));
    g_assert_cmpfloat (color_share (pic, who[k].color), >, 0.05);
    g_assert_cmpfloat (tone_db (mix, who[k].freq), >, -30);
  }
  g_assert_cmpfloat (tone_db (mix, 550), <, tone_db (mix, 440) - 30); /* nobody sent 550 */
  /* its text, drawn by the daemon: the case number and the clock along the top, and each tile's
   * name and role at its bottom left (three tiles of 320x180: the rest of the picture) */
  g_autoptr (GBytes) drawn = decode_full (f);
  g_test_message ("composite: white %.4f of the top 40 rows, %.4f of the rest",
                  white_share (drawn, 0, 40), white_share (drawn, 40, 360));
  g_assert_cmpfloat (white_share (drawn, 0, 40), >, 0.01);
  g_assert_cmpfloat (white_share (drawn, 40, 360), >, 0.0005); /* ~100 pixels */
  /* verified: REST, and offline with the published key */
  json_t *v = verified (rid, arch);
  g_assert_true (json_is_true (json_object_get (v, "signed")));
  json_decref (v);
  /* download: whole, one range, an unsatisfiable range, a file not listed, the wrong role */
  g_autofree char *fpath = g_strdup_printf ("/api/v1/recordings/%s/files/%s", rid, sample);
  g_autofree char *got = g_build_filename (tmp_root, "download", NULL);
  g_autofree char *orig = NULL, *data = NULL;
  gsize olen = 0, dlen = 0;
  g_assert_true (g_file_get_contents (f, &orig, &olen, NULL));
  g_assert_cmpint (curl_get (fpath, arch, NULL, got), ==, 200);
  g_assert_true (g_file_get_contents (got, &data, &dlen, NULL));
  g_assert_cmpuint (dlen, ==, olen);
  g_assert_true (memcmp (data, orig, olen) == 0);
  g_clear_pointer (&data, g_free);
  g_assert_cmpint (curl_get (fpath, arch, "bytes=100-199", got), ==, 206);
  g_assert_true (g_file_get_contents (got, &data, &dlen, NULL));
  g_assert_cmpuint (dlen, ==, 100);
  g_assert_true (memcmp (data, orig + 100, 100) == 0);
  g_assert_cmpint (curl_get (fpath, arch, "bytes=-10", got), ==, 206); /* the last 10 */
  g_clear_pointer (&data, g_free);
  g_assert_true (g_file_get_contents (got, &data, &dlen, NULL));
  g_assert_cmpuint (dlen, ==, 10);
  g_assert_true (memcmp (data, orig + olen - 10, 10) == 0);
  static const char *bad[]
      = { "bytes=999999999-", "bytes=5-2", "items=0-1", "bytes=0-1,5-6", "bytes=x-y" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_cmpint (curl_get (fpath, arch, bad[i], got), ==, 416);
  g_autofree char *unlisted
      = g_strdup_printf ("/api/v1/recordings/%s/files/composite/manifest.json", rid);
  g_assert_cmpint (curl_get (unlisted, arch, NULL, got), ==, 404);
  g_autofree char *climb
      = g_strdup_printf ("/api/v1/recordings/%s/files/composite/..%%2Fmanifest.json", rid);
  g_assert_cmpint (curl_get (climb, arch, NULL, got), ==, 404);
  g_assert_cmpint (curl_get (fpath, op, NULL, got), ==, 403);
  /* export: one WebM per track, its segments remuxed. The composite's holds every picture and
   * tone for as long as the track lasted; a Range is served from the export kept; Red's holds
   * Red only (made by hearingctl); bad tracks and roles are refused */
  g_autofree char *xpath = g_strdup_printf ("/api/v1/recordings/%s/export?track=composite", rid);
  g_autofree char *xfile = g_build_filename (tmp_root, "export.webm", NULL);
  gint64 t_export = g_get_monotonic_time ();
  g_assert_cmpint (curl_get (xpath, arch, NULL, xfile), ==, 200);
  g_test_message ("composite export: %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - t_export) / 1000);
  {
    g_autoptr (GBytes) xpic = decode (xfile, TRUE);
    g_autoptr (GBytes) xmix = decode (xfile, FALSE);
    double secs = g_bytes_get_size (xmix) / sizeof (float) / 48000.0;
    g_test_message ("composite export: %.2f s of sound, track %" G_GINT64_FORMAT " ms", secs,
                    track_ms (m, "composite", NULL));
    g_assert_cmpfloat (fabs (secs * 1000 - (double)track_ms (m, "composite", NULL)), <, 500);
    for (gsize k = 0; k < 3; k++) {
      g_test_message ("composite export: %d Hz %.1f dB", who[k].freq,
                      tone_db_median (xmix, who[k].freq));
      g_assert_cmpfloat (color_share_at (xpic, who[k].color, 0.5), >, 0.05);
      g_assert_cmpfloat (tone_db_median (xmix, who[k].freq), >, -30);
    }
  }
  g_autofree char *xpart = g_build_filename (tmp_root, "export-part", NULL);
  g_assert_cmpint (curl_get (xpath, arch, "bytes=0-99", xpart), ==, 206);
  g_autofree char *xa = NULL, *xb = NULL;
  gsize xalen = 0, xblen = 0;
  g_assert_true (g_file_get_contents (xfile, &xa, &xalen, NULL));
  g_assert_true (g_file_get_contents (xpart, &xb, &xblen, NULL));
  g_assert_cmpuint (xblen, ==, 100);
  g_assert_true (memcmp (xa, xb, 100) == 0);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%d", d->port);
  g_autofree char *redfile = g_build_filename (tmp_root, "red.webm", NULL);
  const char *const xargs[] = { "--url", url,       "--token", arch,       "recordings", "export",
                                rid,     "--track", "red",     "--output", redfile,      NULL };
  g_autofree char *xout = NULL;
  g_assert_cmpint (hd_test_ctl (&xout, NULL, xargs), ==, 0);
  g_assert_nonnull (strstr (xout, "SHA-256"));
  {
    g_autoptr (GBytes) rpic = decode (redfile, TRUE);
    g_autoptr (GBytes) rsnd = decode (redfile, FALSE);
    g_assert_cmpfloat (color_share_at (rpic, 0xff0000, 0.5), >, 0.9);
    g_assert_cmpfloat (tone_db_median (rsnd, 440), >, -30);
    g_assert_cmpfloat (tone_db_median (rsnd, 660), <, tone_db_median (rsnd, 440) - 30);
  }
  g_autofree char *xnobody = g_strdup_printf ("/api/v1/recordings/%s/export?track=nobody", rid);
  g_assert_cmpint (curl_get (xnobody, arch, NULL, xpart), ==, 404);
  g_autofree char *xclimb = g_strdup_printf ("/api/v1/recordings/%s/export?track=..%%2Fx", rid);
  g_assert_cmpint (curl_get (xclimb, arch, NULL, xpart), ==, 400);
  g_autofree char *xnone = g_strdup_printf ("/api/v1/recordings/%s/export", rid);
  g_assert_cmpint (curl_get (xnone, arch, NULL, xpart), ==, 400);
  g_assert_cmpint (curl_get (xpath, op, NULL, xpart), ==, 403);
  g_autofree char *pub = g_build_filename (tmp_root, "state", "public-key.pem", NULL);
  const char *const ok_args[] = { "verify", dir, "--public-key", pub, NULL };
  g_assert_cmpint (hd_test_ctl (NULL, NULL, ok_args), ==, 0);
  /* one flipped byte: named by both */
  g_autofree char *victim = g_build_filename (dir, sample, NULL);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (victim, &bytes, &len, NULL));
  g_assert_cmpuint (len, >, 300);
  bytes[300] ^= 0x01;
  g_assert_true (g_file_set_contents (victim, bytes, (gssize)len, NULL));
  g_autofree char *vpath = g_strdup_printf ("/api/v1/recordings/%s/verify", rid);
  v = hd_test_rest (d, "POST", vpath, arch, NULL, &st);
  g_assert_false (json_is_true (json_object_get (v, "ok")));
  char *problems = json_dumps (json_object_get (v, "problems"), 0);
  g_assert_nonnull (strstr (problems, sample));
  free (problems);
  json_decref (v);
  g_autofree char *out = NULL;
  g_assert_cmpint (hd_test_ctl (&out, NULL, ok_args), ==, 3);
  g_assert_nonnull (strstr (out, "SHA-256 does not match"));
  recorded_rid = g_strdup (rid);
  recorded_case = g_strdup (json_string_value (json_object_get (rec, "case_number")));
  /* the default retention keeps a recording for years: not deleted */
  json_t *keep = hd_test_rest (d, "DELETE", show, arch, NULL, &st);
  g_assert_cmpint (st, ==, 409);
  g_assert_cmpstr (json_string_value (json_object_get (keep, "error")), ==,
                   "retention_not_expired");
  json_decref (keep);
  /* evidence that does not verify is not exported */
  g_autofree char *xgreen = g_strdup_printf ("/api/v1/recordings/%s/export?track=green", rid);
  g_assert_cmpint (curl_get (xgreen, arch, NULL, xpart), ==, 409);
  /* the byte put back: intact again (and the archive portal's test finds it so) */
  bytes[300] ^= 0x01;
  g_assert_true (g_file_set_contents (victim, bytes, (gssize)len, NULL));
  g_assert_cmpint (hd_test_ctl (NULL, NULL, ok_args), ==, 0);
  json_decref (full);
  json_decref (rec);
}

static json_t *
recordings_of (const char *hid, const char *arch)
{
  int st = 0;
  g_autofree char *q = g_strdup_printf ("/api/v1/recordings?hearing=%s", hid);
  json_t *l = hd_test_rest (d, "GET", q, arch, NULL, &st);
  g_assert_cmpint (st, ==, 200);
  json_t *r = json_incref (json_object_get (l, "recordings"));
  json_decref (l);
  return r;
}

/* [media] video_codec = h264: the hearing's composite is H.264 both ways (OpenH264), for
 * devices that decode nothing else, and recorded as encoded. A second daemon, in the same
 * namespace. */
static void
test_h264 (void)
{
  static const char *const h264[] = { "HEARINGD_MEDIA_VIDEO_CODEC=h264", NULL };
  g_free (own_daemon_begin ("state-h264", h264));
  g_autofree char *hid = new_hearing ();
  measure_in (5); /* before the hearing closes, at 6 s */
  Client a = client (hid, "Red", "ff0000", 440, 7, NULL);
  Client b = client (hid, "Blue", "0000ff", 880, 7, NULL);
  /* recorded for 3.5 s: the H.264 composite goes into Matroska as encoded */
  int st = 0;
  g_autofree char *tpath = g_strdup_printf ("/api/v1/hearings/%s/tokens", hid);
  json_t *t
      = hd_test_rest (d, "POST", tpath, op, "{\"role\":\"archivist\",\"name\":\"Archivist\"}", &st);
  g_assert_cmpint (st, ==, 201);
  g_autofree char *arch = g_strdup (json_string_value (json_object_get (t, "token")));
  json_decref (t);
  g_usleep (2500 * 1000);
  set_state (hid, "in_session");
  g_usleep (3500 * 1000);
  set_state (hid, "closed");
  json_t *ra = report (&a), *rb = report (&b);
  for (json_t *r = ra; r; r = r == ra ? rb : NULL) {
    g_assert_cmpstr (json_string_value (json_object_get (r, "video_codec")), ==, "H264");
    g_assert_cmpfloat (num (r, NULL, "fps_last_2s"), >=, 25);
    g_assert_cmpfloat (num (r, "colors", "ff0000"), >, 0.10); /* each one's H.264 decoded */
    g_assert_cmpfloat (num (r, "colors", "0000ff"), >, 0.10);
  }
  g_assert_cmpfloat (num (ra, "power_db", "880"), >, -30);
  g_assert_cmpfloat (num (rb, "power_db", "440"), >, -30);
  json_decref (ra);
  json_decref (rb);
  json_t *rec = NULL;
  for (int i = 0; i < 50 && !rec; i++) { /* closing finishes the last segments first */
    json_t *l = recordings_of (hid, arch);
    json_t *r0 = json_array_get (l, 0);
    if (r0 && !g_strcmp0 (json_string_value (json_object_get (r0, "status")), "closed"))
      rec = json_incref (r0);
    json_decref (l);
    if (!rec)
      g_usleep (100000);
  }
  g_assert_nonnull (rec);
  g_autofree char *show
      = g_strdup_printf ("/api/v1/recordings/%s", json_string_value (json_object_get (rec, "id")));
  json_t *full = hd_test_rest (d, "GET", show, arch, NULL, &st);
  g_assert_cmpint (st, ==, 200);
  const char *middle = NULL;
  g_assert_cmpint (track_ms (json_object_get (full, "manifest"), "composite", &middle), >, 2000);
  g_assert_nonnull (middle);
  g_autofree char *fpath = g_strdup_printf ("%s/files/%s", show, middle);
  g_autofree char *got = g_build_filename (tmp_root, "h264-segment.mkv", NULL);
  g_assert_cmpint (curl_get (fpath, arch, NULL, got), ==, 200);
  g_autoptr (GBytes) rgb
      = launch_into_bytes (got,
                           "h264parse ! openh264dec ! videoconvert ! videoscale ! "
                           "video/x-raw,format=RGB,width=64,height=36",
                           FALSE);
  gsize n = g_bytes_get_size (rgb);
  g_test_message ("recorded H.264 composite segment %s: %zu frames", middle, n / (64 * 36 * 3));
  g_assert_cmpuint (n / (64 * 36 * 3), >=, 15);
  /* its first frame: the closing empties the composite before the recording's end */
  g_assert_cmpfloat (color_share_at (rgb, 0xff0000, 0), >, 0.10);
  g_assert_cmpfloat (color_share_at (rgb, 0x0000ff, 0), >, 0.10);
  json_decref (full);
  json_decref (rec);
  own_daemon_end (TRUE);
}

/* SIGKILL during a session: at the next start the recording's closed segments verify, the
 * unfinished one is kept as partial, a gap is written, it is signed as interrupted; the hearing,
 * still in session, is recorded again at once, into a new recording. A second daemon. */
static void
test_recording_survives_sigkill (void)
{
  /* this daemon keeps recordings for no time at all: deletion is tested here */
  static const char *const no_retention[] = { "HEARINGD_ARCHIVE_RETENTION_PUBLIC_DAYS=0",
                                              "HEARINGD_ARCHIVE_RETENTION_SEALED_DAYS=0", NULL };
  g_autofree char *state = own_daemon_begin ("state-kill", no_retention);
  g_autofree char *hid = new_hearing ();
  set_state (hid, "in_session");
  int st = 0;
  g_autofree char *tpath = g_strdup_printf ("/api/v1/hearings/%s/tokens", hid);
  json_t *t = hd_test_rest (d, "POST", tpath, op, "{\"role\":\"archivist\",\"name\":\"A\"}", &st);
  g_autofree char *arch = g_strdup (json_string_value (json_object_get (t, "token")));
  g_autofree char *arch_id = g_strdup (json_string_value (json_object_get (t, "participant_id")));
  json_decref (t);
  g_autofree char *killed = NULL, *fresh = NULL;
  /* three kills at random moments (the test's seed says which): each time */
  for (guint cycle = 0; cycle < 3; cycle++) {
    Client a = client_as (hid, "party", "red", "Red", "ff0000", 440, 7, NULL);
    g_usleep ((gulong)(g_test_rand_double_range (3.0, 5.5) * G_USEC_PER_SEC));
    gint64 killed_at_ms = g_get_real_time () / 1000;
    g_subprocess_force_exit (d->proc);
    g_subprocess_wait (d->proc, NULL, NULL);
    json_decref (report (&a));
    hd_test_daemon_free (d);
    own_daemon_restart (state);
    g_assert_nonnull (d);
    g_usleep (1500 * 1000); /* the new recording's first segment */
    /* newest first: the recording made since the restart, then the one killed */
    json_t *list = recordings_of (hid, arch);
    g_assert_cmpuint (json_array_size (list), ==, cycle + 2);
    json_t *r0 = json_array_get (list, 0), *r1 = json_array_get (list, 1);
    g_assert_cmpstr (json_string_value (json_object_get (r0, "status")), ==, "recording");
    g_assert_cmpstr (json_string_value (json_object_get (r1, "status")), ==, "interrupted");
    g_free (fresh);
    fresh = g_strdup (json_string_value (json_object_get (r0, "id")));
    const char *this_one = json_string_value (json_object_get (r1, "id"));
    if (!killed)
      killed = g_strdup (this_one);
    /* the closed segments verify; the unfinished ones are kept, flagged; the gap is written */
    g_autofree char *vp = g_strdup_printf ("/api/v1/recordings/%s/verify", this_one);
    json_t *v = hd_test_rest (d, "POST", vp, arch, NULL, &st);
    g_assert_true (json_is_true (json_object_get (v, "ok")));
    g_assert_true (json_is_true (json_object_get (v, "signed")));
    g_assert_cmpint (json_integer_value (json_object_get (v, "segments")), >=, 1);
    json_decref (v);
    g_autofree char *sp = g_strdup_printf ("/api/v1/recordings/%s", this_one);
    json_t *full = hd_test_rest (d, "GET", sp, arch, NULL, &st);
    json_t *m = json_object_get (full, "manifest");
    g_assert_true (has_event (m, "gap"));
    g_autoptr (GDateTime) began = g_date_time_new_from_iso8601 (
        json_string_value (json_object_get (m, "started_at")), NULL);
    g_assert_nonnull (began);
    gint64 killed_after_ms
        = killed_at_ms
          - (g_date_time_to_unix (began) * 1000 + g_date_time_get_microsecond (began) / 1000);
    /* lost: what was not yet written of the open segment (splitmuxsink holds back the picture
     * since the last keyframe, asked for twice a segment); what was written of it is in the
     * kept partial file and decodes. At most 2 s per track, from the moment of the kill */
    json_t *segs = json_object_get (m, "segments");
    g_autofree char *kdir0 = g_build_filename (state, "archive", hid, this_one, NULL);
    static const char *const kill_tracks[] = { "composite", "red-audio", "red-video" };
    /* Red's tracks start when Red joined (after a restart, a while after the recording) */
    gint64 red_joined = 0;
    json_t *ev = json_object_get (m, "events");
    for (size_t i = 0; i < json_array_size (ev); i++) {
      json_t *e = json_array_get (ev, i);
      if (!g_strcmp0 (json_string_value (json_object_get (e, "type")), "join")
          && !g_strcmp0 (json_string_value (json_object_get (e, "who")), "red"))
        red_joined = json_integer_value (json_object_get (e, "offset_ms"));
    }
    for (gsize k = 0; k < G_N_ELEMENTS (kill_tracks); k++) {
      gint64 end = k ? red_joined : 0, partial_ms = 0;
      for (size_t i = 0; i < json_array_size (segs); i++) {
        json_t *sg = json_array_get (segs, i);
        if (!g_strcmp0 (json_string_value (json_object_get (sg, "track")), kill_tracks[k]))
          end = MAX (end, json_integer_value (json_object_get (sg, "start_ms"))
                              + json_integer_value (json_object_get (sg, "duration_ms")));
      }
      json_t *partial = json_object_get (m, "partial");
      g_autofree char *prefix = g_strdup_printf ("%s/", kill_tracks[k]);
      gboolean video = g_str_has_suffix (kill_tracks[k], "-video");
      for (size_t i = 0; i < json_array_size (partial); i++) {
        const char *file
            = json_string_value (json_object_get (json_array_get (partial, i), "file"));
        if (!g_str_has_prefix (file, prefix))
          continue;
        g_autofree char *path = g_build_filename (kdir0, file, NULL);
        g_autoptr (GBytes) got = decode_as (path, video, TRUE);
        partial_ms += video ? (gint64)(g_bytes_get_size (got) / (64 * 36 * 3)) * 1000 / 30
                            : (gint64)(g_bytes_get_size (got) / sizeof (float)) * 1000 / 48000;
      }
      g_test_message ("kill %u, %" G_GINT64_FORMAT " ms into the recording: %s's closed segments "
                      "reach %" G_GINT64_FORMAT " ms, its partial one holds %" G_GINT64_FORMAT
                      " ms more: %" G_GINT64_FORMAT " ms lost",
                      cycle + 1, killed_after_ms, kill_tracks[k], end, partial_ms,
                      killed_after_ms - end - partial_ms);
      g_assert_cmpint (killed_after_ms - end - partial_ms, <=, 2000);
    }
    json_decref (full);
    json_decref (list);
  }
  g_autofree char *vpath = g_strdup_printf ("/api/v1/recordings/%s/verify", killed);
  g_autofree char *show = g_strdup_printf ("/api/v1/recordings/%s", killed);
  /* a sealed hearing's recordings: refused to archivists until the operator grants one of them,
   * again refused once the grant is revoked */
  g_autofree char *hpath = g_strdup_printf ("/api/v1/hearings/%s", hid);
  json_decref (hd_test_rest (d, "PATCH", hpath, op, "{\"visibility\":\"sealed\"}", &st));
  g_assert_cmpint (st, ==, 200);
  json_decref (hd_test_rest (d, "GET", show, arch, NULL, &st));
  g_assert_cmpint (st, ==, 403);
  g_autofree char *gpath = g_strdup_printf ("/api/v1/hearings/%s/grants", hid);
  g_autofree char *grant
      = g_strdup_printf ("{\"subject\":\"%s\",\"reason\":\"order 2026-17\"}", arch_id);
  json_decref (hd_test_rest (d, "POST", gpath, arch, grant, &st)); /* not theirs to grant */
  g_assert_cmpint (st, ==, 403);
  json_decref (hd_test_rest (d, "POST", gpath, op, "{\"subject\":\"../x\",\"reason\":\"r\"}", &st));
  g_assert_cmpint (st, ==, 400);
  json_decref (hd_test_rest (d, "POST", gpath, op, grant, &st));
  g_assert_cmpint (st, ==, 201);
  json_decref (hd_test_rest (d, "GET", show, arch, NULL, &st));
  g_assert_cmpint (st, ==, 200);
  g_autofree char *gone = g_strdup_printf ("%s/%s", gpath, arch_id);
  json_decref (hd_test_rest (d, "DELETE", gone, op, NULL, &st));
  g_assert_cmpint (st, ==, 200);
  json_decref (hd_test_rest (d, "GET", show, arch, NULL, &st));
  g_assert_cmpint (st, ==, 403);
  json_decref (hd_test_rest (d, "DELETE", gone, op, NULL, &st));
  g_assert_cmpint (st, ==, 404);
  json_decref (hd_test_rest (d, "POST", gpath, op, grant, &st));
  g_assert_cmpint (st, ==, 201);
  /* retention over (0 days here) — but a legal hold keeps it; a recording still being made is
   * never deleted; deleted, its files are gone, its entry says so, the audit log keeps it */
  g_autofree char *hold = g_strdup_printf ("/api/v1/recordings/%s/hold", killed);
  json_decref (hd_test_rest (d, "PUT", hold, arch, "{\"hold\":true,\"reason\":\"appeal\"}", &st));
  g_assert_cmpint (st, ==, 200);
  json_decref (hd_test_rest (d, "PUT", hold, arch, "{\"hold\":\"yes\",\"reason\":\"x\"}", &st));
  g_assert_cmpint (st, ==, 400);
  json_decref (hd_test_rest (d, "DELETE", show, arch, NULL, &st));
  g_assert_cmpint (st, ==, 409);
  json_decref (hd_test_rest (d, "DELETE", show, op, NULL, &st));
  g_assert_cmpint (st, ==, 403);
  g_autofree char *fresh_path = g_strdup_printf ("/api/v1/recordings/%s", fresh);
  json_t *refused = hd_test_rest (d, "DELETE", fresh_path, arch, NULL, &st);
  g_assert_cmpint (st, ==, 409);
  g_assert_cmpstr (json_string_value (json_object_get (refused, "error")), ==, "recording_active");
  json_decref (refused);
  json_decref (
      hd_test_rest (d, "PUT", hold, arch, "{\"hold\":false,\"reason\":\"appeal decided\"}", &st));
  g_assert_cmpint (st, ==, 200);
  json_t *del = hd_test_rest (d, "DELETE", show, arch, NULL, &st);
  g_assert_cmpint (st, ==, 200);
  g_assert_nonnull (json_string_value (json_object_get (del, "manifest_sha256")));
  json_decref (del);
  g_autofree char *kdir = g_build_filename (state, "archive", hid, killed, NULL);
  g_assert_false (g_file_test (kdir, G_FILE_TEST_EXISTS));
  json_t *after = hd_test_rest (d, "GET", show, arch, NULL, &st);
  g_assert_cmpint (st, ==, 200);
  g_assert_cmpstr (json_string_value (json_object_get (after, "status")), ==, "deleted");
  json_decref (after);
  json_decref (hd_test_rest (d, "POST", vpath, arch, NULL, &st));
  g_assert_cmpint (st, ==, 410);
  json_decref (hd_test_rest (d, "DELETE", show, arch, NULL, &st));
  g_assert_cmpint (st, ==, 410);
  set_state (hid, "closed");
  own_daemon_end (TRUE);
  /* the audit trail of it all, read from the state folder */
  const char *const audit_args[] = { "--state-dir", state, "audit", "verify", NULL };
  g_assert_cmpint (hd_test_ctl (NULL, NULL, audit_args), ==, 0);
}

/* The one recording of hearing `hid`, as an archivist reads it (its catalogue entry and
 * manifest); its id in *rid. */
static json_t *
only_recording (const char *hid, const char *arch, char **rid)
{
  json_t *list = recordings_of (hid, arch);
  g_assert_cmpuint (json_array_size (list), ==, 1);
  *rid = g_strdup (json_string_value (json_object_get (json_array_get (list, 0), "id")));
  json_decref (list);
  int st = 0;
  g_autofree char *show = g_strdup_printf ("/api/v1/recordings/%s", *rid);
  json_t *full = hd_test_rest (d, "GET", show, arch, NULL, &st);
  g_assert_cmpint (st, ==, 200);
  return full;
}

/* A daemon of the test's own (state `name`) whose archive is `dir`, with no free-space reserve;
 * a new hearing on it (returned) and an archivist's token for it in *arch. */
static char *
archive_on_with (const char *name, const char *dir, const char *more_env, char **arch)
{
  g_autofree char *archive_env = g_strdup_printf ("HEARINGD_ARCHIVE_DIR=%s", dir);
  const char *const disk[] = { archive_env, "HEARINGD_ARCHIVE_MIN_FREE_MB=0", more_env, NULL };
  g_free (own_daemon_begin (name, disk));
  char *hid = new_hearing ();
  int st = 0;
  g_autofree char *tpath = g_strdup_printf ("/api/v1/hearings/%s/tokens", hid);
  json_t *t = hd_test_rest (d, "POST", tpath, op, "{\"role\":\"archivist\",\"name\":\"A\"}", &st);
  g_assert_cmpint (st, ==, 201);
  *arch = g_strdup (json_string_value (json_object_get (t, "token")));
  json_decref (t);
  return hid;
}

static char *
archive_on (const char *name, const char *dir, char **arch)
{
  return archive_on_with (name, dir, NULL, arch);
}

/* A full disk: the archive is a small tmpfs, filled up while a session is recorded. The track
 * that cannot be written stops taking media and nobody else notices: both participants keep
 * receiving the composite at full rate; the clerk is told; the failure and the pause are in the
 * events; when space returns, the recording resumes by itself in the same recording, and what
 * was written before verifies. A third daemon, its archive on the tmpfs. */
static void
test_recording_full_disk (void)
{
  g_autofree char *small = g_build_filename (tmp_root, "small-disk", NULL);
  g_mkdir_with_parents (small, 0700);
  g_autofree char *mnt = g_strdup_printf ("mount -t tmpfs -o size=16m hd-test-archive %s", small);
  if (!sh (mnt)) {
    g_test_skip ("cannot mount a tmpfs");
    return;
  }
  g_autofree char *arch = NULL;
  g_autofree char *hid = archive_on ("state-disk", small, &arch);
  /* all but 256 KiB taken: a few seconds of recording fill the rest */
  struct statvfs fs;
  g_assert_cmpint (statvfs (small, &fs), ==, 0);
  guint64 free_kib = (guint64)fs.f_bavail * fs.f_frsize / 1024;
  g_autofree char *fill = g_strdup_printf (
      "dd if=/dev/zero of=%s/filler bs=1K count=%" G_GUINT64_FORMAT " status=none", small,
      free_kib - 256);
  g_assert_true (sh (fill));
  set_state (hid, "in_session");
  measure_in (14);
  Client clerk = client_as (hid, "clerk", "red", "Red", "ff0000", 440, 16, NULL);
  Client party = client_as (hid, "party", "blue", "Blue", "0000ff", 880, 16, NULL);
  /* full within a few seconds (the pictures are plain colours: small) */
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until && statvfs (small, &fs) == 0
         && (guint64)fs.f_bavail * fs.f_frsize > 64 * 1024)
    g_usleep (200000);
  g_assert_cmpuint ((guint64)fs.f_bavail * fs.f_frsize, <=, 64 * 1024);
  g_usleep (2 * G_USEC_PER_SEC); /* full for a while */
  g_autofree char *filler = g_build_filename (small, "filler", NULL);
  g_assert_cmpint (g_unlink (filler), ==, 0); /* room again */
  g_usleep (5 * G_USEC_PER_SEC);
  json_t *rc = report (&clerk), *rp = report (&party);
  /* the hearing went on: both see the composite at full rate, with each other, at the end */
  g_assert_cmpfloat (num (rc, "colors", "0000ff"), >, 0.05);
  g_assert_cmpfloat (num (rp, "colors", "ff0000"), >, 0.05);
  g_assert_cmpfloat (json_number_value (json_object_get (rc, "fps_last_2s")), >=, 25);
  g_assert_cmpfloat (json_number_value (json_object_get (rp, "fps_last_2s")), >=, 25);
  g_assert_cmpfloat (num (rp, "power_db", "440"), >, -30);
  /* the clerk was told; the party was not troubled with it */
  g_assert_true (contains (json_object_get (rc, "errors"), "recording_failed"));
  g_assert_false (contains (json_object_get (rp, "errors"), "recording_failed"));
  json_decref (rc);
  json_decref (rp);
  measure_at = 0;
  set_state (hid, "closed");
  g_usleep (2 * G_USEC_PER_SEC);
  g_autofree char *rid = NULL;
  json_t *full = only_recording (hid, arch, &rid);
  json_t *m = json_object_get (full, "manifest");
  g_assert_cmpstr (json_string_value (json_object_get (m, "status")), ==, "closed");
  /* written down: the failure, the pause, the resume when space returned */
  json_t *ev = json_object_get (m, "events");
  gint64 failed_at = -1, resumed_at = -1;
  for (size_t i = 0; i < json_array_size (ev); i++) {
    json_t *e = json_array_get (ev, i);
    const char *type = json_string_value (json_object_get (e, "type"));
    const char *why = json_string_value (json_object_get (e, "reason"));
    gint64 off = json_integer_value (json_object_get (e, "offset_ms"));
    if (!g_strcmp0 (type, "failure") && failed_at < 0)
      failed_at = off;
    if (!g_strcmp0 (type, "resume") && !g_strcmp0 (why, "storage available again"))
      resumed_at = off;
  }
  g_test_message ("full disk: failure at %" G_GINT64_FORMAT " ms, resumed at %" G_GINT64_FORMAT
                  " ms of the recording",
                  failed_at, resumed_at);
  g_assert_cmpint (failed_at, >=, 0);
  g_assert_cmpint (resumed_at, >, failed_at);
  /* recorded again after it: composite segments from the resume on */
  json_t *segs = json_object_get (m, "segments");
  gint64 after = 0;
  for (size_t i = 0; i < json_array_size (segs); i++) {
    json_t *sg = json_array_get (segs, i);
    if (!g_strcmp0 (json_string_value (json_object_get (sg, "track")), "composite")
        && json_integer_value (json_object_get (sg, "start_ms")) >= resumed_at)
      after += json_integer_value (json_object_get (sg, "duration_ms"));
  }
  g_test_message ("full disk: %" G_GINT64_FORMAT " ms of composite recorded after the resume",
                  after);
  g_assert_cmpint (after, >, 1000);
  /* nothing written before was damaged: it all verifies */
  json_decref (verified (rid, arch));
  json_decref (full);
  own_daemon_end (TRUE);
  g_autofree char *umnt = g_strdup_printf ("umount %s", small);
  g_assert_true (sh (umnt));
}

/* The judge mutes a party: the party's sound leaves everyone's mix at once, the roster says
 * so, and the party's own unmute is refused (forbidden): still out of the mix after it. */
static void
test_judge_mutes_a_party (void)
{
  g_autofree char *hid = new_hearing ();
  measure_in (8.5);
  Client judge = client_as (hid, "judge", "judge", "Judge", "ffff00", 550, 10,
                            "--keep=quality "
                            "--send=4:{\"type\":\"mute\",\"participant\":\"pa\",\"audio\":true}");
  /* the parties outlive the judge by a second: the judge's last quality message has them */
  Client pa = client_as (hid, "party", "pa", "Zhang", "ff0000", 440, 11,
                         "--send=6:{\"type\":\"mute\",\"audio\":false}");
  Client pb = client_as (hid, "party", "pb", "Li", "0000ff", 880, 11, NULL);
  json_t *rj = report (&judge), *ra = report (&pa), *rb = report (&pb);
  g_test_message ("after the judge's mute: Li hears Zhang's 440 Hz at %.1f dB, the judge's 550 Hz "
                  "at %.1f dB; the judge hears 440 Hz at %.1f dB",
                  num (rb, "power_db", "440"), num (rb, "power_db", "550"),
                  num (rj, "power_db", "440"));
  g_assert_cmpfloat (num (rb, "power_db", "550"), >, -30);
  g_assert_cmpfloat (num (rb, "power_db", "440"), <, num (rb, "power_db", "550") - 40);
  g_assert_cmpfloat (num (rj, "power_db", "440"), <, num (rj, "power_db", "880") - 40);
  g_assert_true (contains (json_object_get (ra, "errors"), "forbidden")); /* could not unmute */
  g_assert_cmpfloat (num (ra, "power_db", "550"), >, -30); /* and still hears the hearing */
  /* the judge's connection-quality indicator: every party's link, measured by the daemon */
  json_t *q = json_object_get (json_object_get (rj, "kept"), "quality");
  char *qtext = json_dumps (q, JSON_COMPACT);
  g_test_message ("the judge's last quality message: %s", qtext);
  free (qtext);
  json_t *parts = json_object_get (q, "participants");
  int seen = 0;
  for (size_t i = 0; i < json_array_size (parts); i++) {
    json_t *e = json_array_get (parts, i);
    const char *id = json_string_value (json_object_get (e, "id"));
    if (g_strcmp0 (id, "pa") && g_strcmp0 (id, "pb"))
      continue;
    seen++;
    g_assert_cmpfloat (json_number_value (json_object_get (e, "kbps")), >,
                       20); /* Opus, plain colours */
    g_assert_cmpfloat (json_number_value (json_object_get (e, "loss_pct")), <,
                       5); /* a clean veth */
  }
  g_assert_cmpint (seen, ==, 2);
  json_decref (rj);
  json_decref (ra);
  json_decref (rb);
  measure_at = 0;
}

/* Devices that join but carry nothing: one hangs and never answers the offer, one answers from
 * behind a network that blocks UDP (it never connects). Their mixes wait for them (webrtcbin
 * holds a mix until the answer, then until DTLS), but nobody else's sound may wait: Red and
 * Green, talking meanwhile, hear each other in every 100 ms block, and so does an observer who
 * joins meanwhile. */
static void
test_joiners_who_never_connect (void)
{
  g_autofree char *hid = new_hearing ();
  measure_in (8);
  Client c[2] = { client (hid, "Red", "ff0000", 440, 10, "--no-decode"),
                  client (hid, "Green", "00ff00", 660, 10, "--no-decode") };
  g_usleep (3 * G_USEC_PER_SEC); /* the two talk */
  Client hung = client (hid, "Hung", "ffff00", 550, 7, "--no-answer");
  Client walled = client (hid, "Walled", "ff00ff", 770, 7, "--no-ice");
  /* and an observer who joins meanwhile hears them both: a mix is fed once its participant is
   * connected, whether or not they send anything */
  Client obs = client_as (hid, "observer", "obs", "Obs", "ffff00", 550, 7,
                          "--no-audio --no-video --no-decode --listen=440,660");
  static const char *fr[] = { "440", "660" };
  for (int i = 0; i < 2; i++) {
    json_t *r = report (&c[i]);
    double other = num (r, "power_min_db", fr[1 - i]);
    g_test_message ("%s hears %s Hz at %.1f dB in its quietest 100 ms block", c[i].color,
                    fr[1 - i], other);
    g_assert_cmpfloat (other, >, -30);
    json_decref (r);
  }
  json_t *ro = report (&obs);
  for (int i = 0; i < 2; i++)
    g_assert_cmpfloat (num (ro, "power_min_db", fr[i]), >, -30);
  json_decref (ro);
  /* each was what it claims: the hung one never answered; the walled one answered, the
   * daemon took its answer (no error), and it never connected (no frame) */
  Client *odd[] = { &hung, &walled };
  for (int i = 0; i < 2; i++) {
    json_t *h = report (odd[i]);
    g_assert_cmpint (json_integer_value (json_object_get (h, "offers")), ==, 1);
    g_assert_cmpint (json_integer_value (json_object_get (h, "answers")), ==, i);
    g_assert_cmpint (json_array_size (json_object_get (h, "errors")), ==, 0);
    g_assert_cmpint (json_integer_value (json_object_get (h, "frames")), ==, 0);
    json_decref (h);
  }
  measure_at = 0;
}

/* An ext4 image of the test's own, loop-mounted at <tmp>/<name>-disk (returned), to freeze;
 * NULL (the test skipped) where loop devices cannot be had. */
static char *
stall_disk_mount (const char *name)
{
  g_autofree char *img = g_strdup_printf ("%s/%s.img", tmp_root, name);
  char *dir = g_strdup_printf ("%s/%s-disk", tmp_root, name);
  g_mkdir_with_parents (dir, 0700);
  g_autofree char *mk = g_strdup_printf (
      "sh -c 'truncate -s 256M %s && mkfs.ext4 -q %s && mount -o loop %s %s'", img, img, img, dir);
  if (!sh (mk)) {
    g_test_skip ("cannot mount an ext4 image (loop devices)");
    g_free (dir);
    return NULL;
  }
  return dir;
}

static void
stall_disk_umount (const char *dir)
{
  g_autofree char *um = g_strdup_printf ("umount %s", dir);
  sh (um);
}

/* hd-stallfs serving `src` at `mnt`/data, its reads and statvfs waiting until `gate` exists
 * (removed here if it does); NULL, the test skipped and said so, where FUSE cannot mount. */
static GSubprocess *
stallfs_mount (const char *src, const char *gate, const char *mnt)
{
  g_unlink (gate);
  g_assert_cmpint (g_mkdir_with_parents (mnt, 0700), ==, 0);
  g_autofree char *data = g_build_filename (mnt, "data", NULL);
  g_autoptr (GError) e = NULL;
  GSubprocess *fs = g_subprocess_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE, &e,
                                      g_getenv ("HD_STALLFS"), src, gate, mnt, NULL);
  g_assert_no_error (e);
  for (int i = 0; i < 100 && !g_file_test (data, G_FILE_TEST_IS_REGULAR); i++)
    g_usleep (50 * 1000);
  if (!g_file_test (data, G_FILE_TEST_IS_REGULAR)) { /* as for the ext4 image: said, not hidden */
    g_subprocess_force_exit (fs);
    g_object_unref (fs);
    g_test_skip ("cannot mount a FUSE file system (/dev/fuse)");
    return NULL;
  }
  return fs;
}

static void
stallfs_umount (GSubprocess *fs, const char *mnt)
{
  g_subprocess_send_signal (fs, SIGTERM);
  g_subprocess_wait (fs, NULL, NULL);
  g_object_unref (fs);
  /* gone already when hd-stallfs ended cleanly; not if it died */
  g_autofree char *umount = g_strdup_printf ("sh -c 'umount -l %s 2>/dev/null'", mnt);
  sh (umount);
}

/* The REST request `method` `path` as `token`, with curl and at most 3 s: its HTTP code ("000"
 * when no answer came) and how long it took. */
static char *
rest_timed (const char *method, const char *path, const char *token, const char *body, double *ms)
{
  g_autofree char *url = g_strdup_printf ("%s%s", d->base_url, path);
  g_autofree char *auth = g_strdup_printf ("Authorization: Bearer %s", token);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *const head[] = { "curl", "-sS",          "-m", "3",  "-o", "/dev/null",
                               "-w",   "%{http_code}", "-H", auth, "-X", method };
  for (gsize i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (argv, (gpointer)head[i]);
  if (body) {
    g_ptr_array_add (argv, "-H");
    g_ptr_array_add (argv, "Content-Type: application/json");
    g_ptr_array_add (argv, "--data-raw");
    g_ptr_array_add (argv, (gpointer)body);
  }
  g_ptr_array_add (argv, url);
  g_ptr_array_add (argv, NULL);
  char *code = NULL;
  gint64 asked = g_get_monotonic_time ();
  g_assert_true (g_spawn_sync (NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &code, NULL, NULL, NULL));
  *ms = (g_get_monotonic_time () - asked) / 1000.0;
  return code;
}

/* The path of `name` ("composite/00-00-00003.webm", "manifest.json") in the recording `rid`
 * under the archive `dir`. */
static char *
recording_path (const char *dir, const char *rid, const char *name)
{
  g_autofree char *find = g_strdup_printf ("find %s -path '*/%s/%s'", dir, rid, name);
  g_autofree char *found = NULL;
  g_assert_true (g_spawn_command_line_sync (find, &found, NULL, NULL, NULL));
  return g_strdup (g_strstrip (found));
}

/* A read of the archive that stalls (a network share that stops answering reads too): one
 * segment of the closed recording `rid` under `dir` becomes a FIFO that nobody writes yet, and an
 * archivist asks for a verification, which reads every segment. It waits on a worker thread:
 * meanwhile the API answers (GET `hpath`, under 1 s; when the verification held the main
 * thread, not at all). Once the segment's bytes come, the answer is that the recording is
 * intact. */
static void
verify_that_stalls (const char *dir, const char *rid, const char *arch, json_t *manifest,
                    const char *hpath)
{
  const char *middle = NULL;
  track_ms (manifest, "composite", &middle);
  g_assert_nonnull (middle);
  g_autofree char *seg = recording_path (dir, rid, middle);
  g_assert_true (g_file_test (seg, G_FILE_TEST_IS_REGULAR));
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (seg, &bytes, &len, NULL));
  g_assert_cmpint (g_unlink (seg), ==, 0);
  g_assert_cmpint (mkfifo (seg, 0640), ==, 0);

  g_autofree char *url = g_strdup_printf ("%s/api/v1/recordings/%s/verify", d->base_url, rid);
  g_autofree char *auth = g_strdup_printf ("Authorization: Bearer %s", arch);
  g_autoptr (GError) e = NULL;
  GSubprocess *verify = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &e, "curl", "-sS", "-m",
                                          "30", "-X", "POST", "-H", auth, url, NULL);
  g_assert_no_error (e);
  g_usleep (500 * 1000); /* the verification is waiting for the segment */
  double rest_ms = 0;
  g_autofree char *code = rest_timed ("GET", hpath, op, NULL, &rest_ms);
  gboolean waiting = g_subprocess_get_identifier (verify) != NULL; /* NULL once it ended */
  g_test_message ("a segment that cannot be read yet: REST answered %s in %.0f ms while the "
                  "verification waited (%s)",
                  code, rest_ms, waiting ? "still waiting" : "already answered");
  /* the segment's bytes come: the reader is the daemon's worker, already waiting in open() */
  int fd = open (seg, O_WRONLY);
  g_assert_cmpint (fd, >=, 0);
  for (gsize off = 0; off < len;) {
    gssize n = write (fd, bytes + off, len - off);
    g_assert_cmpint (n, >, 0);
    off += (gsize)n;
  }
  close (fd);
  g_autofree char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (verify, NULL, NULL, &out, NULL, NULL));
  g_object_unref (verify);
  g_test_message ("verify once the segment came: %s", out);
  g_assert_cmpstr (code, ==, "200");
  g_assert_cmpfloat (rest_ms, <, 1000);
  g_assert_true (waiting);
  json_t *v = json_loads (out, 0, NULL);
  g_assert_nonnull (v);
  g_assert_true (json_is_true (json_object_get (v, "ok")));
  json_decref (v);
  g_unlink (seg);
  g_assert_true (g_file_set_contents (seg, bytes, (gssize)len, NULL));
}

/* A share that stops answering even the free-space look (statvfs on an NFS server gone) when a
 * session opens: the look waits on a worker thread, so opening the session answers at once and
 * the API goes on answering (when the main thread looked itself, neither answered at all). Once
 * the share answers, its 4 GiB free are below this daemon's reserve (8 GiB): the recording is
 * refused, the clerk is told (`recording_refused`), a party is not, and nothing is catalogued. */
static void
test_archive_that_stalls_at_the_start (void)
{
  g_autofree char *src = g_build_filename (tmp_root, "start-src", NULL);
  g_autofree char *gate = g_build_filename (tmp_root, "start-gate", NULL);
  g_autofree char *mnt = g_build_filename (tmp_root, "start-mnt", NULL);
  g_assert_true (g_file_set_contents (src, "x", 1, NULL));
  GSubprocess *fs = stallfs_mount (src, gate, mnt);
  if (!fs)
    return;
  g_autofree char *arch = NULL;
  g_autofree char *hid
      = archive_on_with ("state-start", mnt, "HEARINGD_ARCHIVE_MIN_FREE_MB=8192", &arch);
  Client clerk = client_as (hid, "clerk", "red", "Red", "ff0000", 440, 6, "--no-decode");
  Client party = client (hid, "Blue", "0000ff", 880, 6, "--no-decode");
  g_usleep (1500 * 1000); /* both joined */
  g_autofree char *hpath = g_strdup_printf ("/api/v1/hearings/%s", hid);
  double open_ms = 0, get_ms = 0;
  g_autofree char *opened = rest_timed ("PATCH", hpath, op, "{\"state\":\"in_session\"}", &open_ms);
  g_usleep (300 * 1000);
  g_autofree char *got = rest_timed ("GET", hpath, op, NULL, &get_ms);
  g_test_message ("the archive's free space not answered: the session opened (%s) in %.0f ms, "
                  "GET answered %s in %.0f ms",
                  opened, open_ms, got, get_ms);
  /* the look was still waiting then (else this test would show nothing): no verdict yet */
  g_autofree char *before = hd_test_daemon_log (d);
  g_assert_true (g_file_set_contents (gate, "", 0, NULL)); /* the share answers */
  json_t *rc = report (&clerk), *rp = report (&party);
  int st = 0;
  json_t *recs = hd_test_rest (d, "GET", "/api/v1/recordings", arch, NULL, &st);
  g_autofree char *log = hd_test_daemon_log (d);
  own_daemon_end (TRUE);
  stallfs_umount (fs, mnt);
  g_assert_cmpstr (opened, ==, "200");
  g_assert_cmpfloat (open_ms, <, 1000);
  g_assert_cmpstr (got, ==, "200");
  g_assert_cmpfloat (get_ms, <, 1000);
  g_assert_true (contains (json_object_get (rc, "errors"), "recording_refused"));
  g_assert_false (contains (json_object_get (rp, "errors"), "recording_refused"));
  g_assert_null (strstr (before, "below the reserve"));
  g_assert_nonnull (strstr (log, "below the reserve of 8192 MiB"));
  g_assert_cmpint (st, ==, 200);
  g_assert_cmpuint (json_array_size (json_object_get (recs, "recordings")), ==, 0);
  json_decref (recs);
  json_decref (rc);
  json_decref (rp);
}

/* A download from a share that stops answering: one segment of the closed recording `rid` under
 * `dir` is served by hd-stallfs, whose opens and reads wait for a gate, and an archivist
 * downloads it. The open and the reads wait on worker threads: meanwhile the API answers (GET
 * `hpath`, under 1 s; when the main thread opened the file or read each chunk itself, not at
 * all). Once the share answers, the download completes with the segment's own bytes. */
static void
download_that_stalls (const char *dir, const char *rid, const char *arch, json_t *manifest,
                      const char *hpath)
{
  const char *middle = NULL;
  track_ms (manifest, "composite", &middle);
  g_assert_nonnull (middle);
  g_autofree char *seg = recording_path (dir, rid, middle);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (seg, &bytes, &len, NULL));
  g_autofree char *src = g_build_filename (tmp_root, "stall-src", NULL);
  g_autofree char *gate = g_build_filename (tmp_root, "stall-gate", NULL);
  g_autofree char *mnt = g_build_filename (tmp_root, "stall-mnt", NULL);
  g_autofree char *data = g_build_filename (mnt, "data", NULL);
  g_assert_true (g_file_set_contents (src, bytes, (gssize)len, NULL));
  GSubprocess *fs = stallfs_mount (src, gate, mnt);
  if (!fs)
    return;
  g_assert_cmpint (g_unlink (seg), ==, 0);
  g_assert_cmpint (symlink (data, seg), ==, 0);

  g_autofree char *url
      = g_strdup_printf ("%s/api/v1/recordings/%s/files/%s", d->base_url, rid, middle);
  g_autofree char *auth = g_strdup_printf ("Authorization: Bearer %s", arch);
  g_autofree char *got = g_build_filename (tmp_root, "stall-download", NULL);
  g_autoptr (GError) e = NULL;
  GSubprocess *dl = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &e, "curl", "-sS", "-m", "30",
                                      "-o", got, "-w", "%{http_code}", "-H", auth, url, NULL);
  g_assert_no_error (e);
  g_usleep (500 * 1000); /* the download is waiting for the share */
  double rest_ms = 0;
  g_autofree char *code = rest_timed ("GET", hpath, op, NULL, &rest_ms);
  gboolean waiting = g_subprocess_get_identifier (dl) != NULL; /* NULL once it ended */
  g_test_message ("a download from a share that does not answer: REST answered %s in %.0f ms "
                  "while the download waited (%s)",
                  code, rest_ms, waiting ? "still waiting" : "already over");
  g_assert_true (g_file_set_contents (gate, "", 0, NULL)); /* the share answers */
  g_autofree char *dl_code = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (dl, NULL, NULL, &dl_code, NULL, NULL));
  g_object_unref (dl);
  g_autofree char *fetched = NULL;
  gsize flen = 0;
  g_assert_true (g_file_get_contents (got, &fetched, &flen, NULL));
  g_test_message ("the download once the share answered: %s, %zu bytes of %zu", dl_code, flen,
                  len);
  stallfs_umount (fs, mnt);
  g_unlink (seg);
  g_assert_true (g_file_set_contents (seg, bytes, (gssize)len, NULL));
  g_assert_cmpstr (code, ==, "200");
  g_assert_cmpfloat (rest_ms, <, 1000);
  g_assert_true (waiting);
  g_assert_cmpstr (dl_code, ==, "200");
  g_assert_cmpuint (flen, ==, len);
  g_assert_true (memcmp (fetched, bytes, len) == 0);
}

/* Writes `len` bytes into the FIFO `path` for one reader (waits for it to open). */
static void
fifo_feed (const char *path, const char *bytes, gsize len)
{
  int fd = open (path, O_WRONLY);
  g_assert_cmpint (fd, >=, 0);
  for (gsize off = 0; off < len;) {
    gssize n = write (fd, bytes + off, len - off);
    g_assert_cmpint (n, >, 0);
    off += (gsize)n;
  }
  close (fd);
}

/* The catalogue entry of a recording whose manifest cannot be read yet (a FIFO that nobody
 * writes, as above): GET /api/v1/recordings/{rid} waits for it on a worker thread while the API
 * answers (GET `hpath`, under 1 s; when the main thread read the manifest, not at all); once it
 * comes, the entry carries it and its SHA-256. */
static void
manifest_that_stalls (const char *dir, const char *rid, const char *arch, const char *hpath)
{
  g_autofree char *path = recording_path (dir, rid, "manifest.json");
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *)bytes, len);
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (mkfifo (path, 0640), ==, 0);

  g_autofree char *url = g_strdup_printf ("%s/api/v1/recordings/%s", d->base_url, rid);
  g_autofree char *auth = g_strdup_printf ("Authorization: Bearer %s", arch);
  g_autoptr (GError) e = NULL;
  GSubprocess *show = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &e, "curl", "-sS", "-m",
                                        "30", "-H", auth, url, NULL);
  g_assert_no_error (e);
  g_usleep (500 * 1000); /* the read is waiting for the manifest */
  double rest_ms = 0;
  g_autofree char *code = rest_timed ("GET", hpath, op, NULL, &rest_ms);
  gboolean waiting = g_subprocess_get_identifier (show) != NULL;
  g_test_message ("a manifest that cannot be read yet: REST answered %s in %.0f ms while the "
                  "recording's entry waited (%s)",
                  code, rest_ms, waiting ? "still waiting" : "already answered");
  fifo_feed (path, bytes, len); /* read once, parsed and hashed */
  g_autofree char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (show, NULL, NULL, &out, NULL, NULL));
  g_object_unref (show);
  g_unlink (path);
  g_assert_true (g_file_set_contents (path, bytes, (gssize)len, NULL));
  g_assert_cmpstr (code, ==, "200");
  g_assert_cmpfloat (rest_ms, <, 1000);
  g_assert_true (waiting);
  json_t *rec = json_loads (out, 0, NULL);
  g_assert_nonnull (rec);
  g_assert_cmpstr (json_string_value (json_object_get (rec, "manifest_sha256")), ==, sha);
  g_assert_cmpuint (
      json_array_size (json_object_get (json_object_get (rec, "manifest"), "segments")), >, 0);
  json_decref (rec);
}

/* Storage that stalls instead of failing (a network share that stops answering): the archive's
 * file system frozen (fsfreeze) for 6 s while a recorded hearing runs. Writes wait; the hearing
 * may not: while it is frozen (the clients' windows end at 10 s, inside the freeze from ~4 s),
 * the parties hear each other in every 100 ms block and decode pictures with each other in
 * them; afterwards the recording holds the whole session and verifies. */
static void
test_storage_that_stalls (void)
{
  g_autofree char *dir = stall_disk_mount ("stall");
  if (!dir)
    return;
  g_autofree char *arch = NULL;
  g_autofree char *hid = archive_on ("state-stall", dir, &arch);
  int st = 0;
  set_state (hid, "in_session");
  gint64 opened = g_get_monotonic_time ();
  measure_in (10);
  Client c[2] = { client (hid, "Red", "ff0000", 440, 13, NULL),
                  client (hid, "Blue", "0000ff", 880, 13, NULL) };
  g_usleep (4 * G_USEC_PER_SEC); /* recording */
  /* frozen from now for 6 s: the thaw is set going first, by a shell that outlives this test
   * whatever becomes of it; the freeze itself must succeed, or nothing here was tested */
  g_autofree char *thaw = g_strdup_printf ("sh -c 'sleep 6; fsfreeze -u %s'", dir);
  g_assert_true (g_spawn_command_line_async (thaw, NULL));
  g_autofree char *freeze = g_strdup_printf ("fsfreeze -f %s", dir);
  gint64 thawed_at = g_get_real_time () + 6 * G_USEC_PER_SEC; /* at the earliest */
  g_assert_true (sh (freeze));
  /* the daemon's main thread, which serves everyone's signaling and the REST API, writes
   * nothing to the archive itself: while the storage is frozen, a party joins and sees and
   * hears the others, and the API answers */
  g_usleep (1500 * 1000); /* a segment closed since the freeze waits for the storage */
  gint64 frozen_at = g_get_real_time ();
  Client late = client_as (hid, "party", "green-late", "Green", "00ff00", 660, 3, NULL);
  g_usleep (1000 * 1000);
  g_autofree char *hpath = g_strdup_printf ("/api/v1/hearings/%s", hid);
  gint64 asked = g_get_monotonic_time ();
  json_decref (hd_test_rest (d, "GET", hpath, op, NULL, &st));
  double rest_ms = (g_get_monotonic_time () - asked) / 1000.0;
  g_test_message ("the disk frozen: REST answered %d in %.0f ms", st, rest_ms);
  g_assert_cmpint (st, ==, 200);
  g_assert_cmpfloat (rest_ms, <, 1000);
  json_t *lr = report (&late);
  gint64 late_done = g_get_real_time ();
  g_assert_cmpfloat (num (lr, NULL, "fps_last_2s"), >=, 20);
  g_assert_cmpfloat (num (lr, "colors", "ff0000"), >, 0.05);
  g_assert_cmpfloat (num (lr, "colors", "0000ff"), >, 0.05);
  g_assert_cmpfloat (num (lr, "power_db", "440"), >, -30);
  g_assert_cmpfloat (num (lr, "power_db", "880"), >, -30);
  json_decref (lr);
  static const char *fr[] = { "440", "880" }, *col[] = { "ff0000", "0000ff" };
  json_t *r[2] = { report (&c[0]), report (&c[1]) };
  for (int i = 0; i < 2; i++) {
    g_test_message ("%s, the disk frozen: hears %s Hz at %.1f dB in its quietest 100 ms block, "
                    "sees %.2f of %s, %.1f fps at the end",
                    col[i], fr[1 - i], num (r[i], "power_min_db", fr[1 - i]),
                    num (r[i], "colors", col[1 - i]), col[1 - i], num (r[i], NULL, "fps_last_2s"));
  }
  for (int i = 0; i < 2; i++) {
    g_assert_cmpfloat (num (r[i], "power_min_db", fr[1 - i]), >, -30);
    g_assert_cmpfloat (num (r[i], "colors", col[1 - i]), >, 0.05);
    json_decref (r[i]);
  }
  set_state (hid, "closed");
  gint64 session_ms = (g_get_monotonic_time () - opened) / 1000;
  g_usleep (3 * G_USEC_PER_SEC);
  /* and what waited was written when the disk thawed: the whole session, verified */
  g_autofree char *rid = NULL;
  json_t *full = only_recording (hid, arch, &rid);
  gint64 composite_ms = track_ms (json_object_get (full, "manifest"), "composite", NULL);
  g_test_message ("composite recorded: %" G_GINT64_FORMAT " ms of a %" G_GINT64_FORMAT
                  " ms session, 6 s of it with the disk frozen",
                  composite_ms, session_ms);
  g_assert_cmpint (ABS (composite_ms - session_ms), <=, 1000);
  /* Green's join is on the record with the time it happened, in the freeze, not the thaw's */
  json_t *ev = json_object_get (json_object_get (full, "manifest"), "events");
  gint64 joined_at = 0;
  for (size_t i = 0; i < json_array_size (ev); i++) {
    json_t *e = json_array_get (ev, i);
    if (g_strcmp0 (json_string_value (json_object_get (e, "type")), "join")
        || g_strcmp0 (json_string_value (json_object_get (e, "who")), "green-late"))
      continue;
    joined_at = entry_at_us (e);
  }
  g_test_message ("Green's join on the record %.2f s after it was started, %.2f s before the thaw",
                  (joined_at - frozen_at) / 1e6, (thawed_at - joined_at) / 1e6);
  g_assert_cmpint (joined_at, >, frozen_at);
  g_assert_cmpint (joined_at, <, MIN (late_done, thawed_at));
  json_decref (verified (rid, arch));
  verify_that_stalls (dir, rid, arch, json_object_get (full, "manifest"), hpath);
  manifest_that_stalls (dir, rid, arch, hpath);
  download_that_stalls (dir, rid, arch, json_object_get (full, "manifest"), hpath);
  json_decref (full);
  own_daemon_end (TRUE);
  stall_disk_umount (dir);
  measure_at = 0;
}

/* Storage that stalls for longer than a track's queue holds ([archive] track_queue_kb, 128 KiB
 * here: ~7 s of this test's composite, plain colours at ~18 KB/s). The track fails instead of
 * holding up what feeds it: while the disk is still frozen, both parties see the composite at full
 * rate and hear each other; the clerk is told; when the disk answers, what waited is written, the
 * failure is on the record, the recording resumes by itself, and it verifies. */
static void
test_storage_that_stalls_too_long (void)
{
  g_autofree char *dir = stall_disk_mount ("stall-long");
  if (!dir)
    return;
  g_autofree char *arch = NULL;
  g_autofree char *hid
      = archive_on_with ("state-stall-long", dir, "HEARINGD_ARCHIVE_TRACK_QUEUE_KB=128", &arch);
  set_state (hid, "in_session");
  measure_in (4 + 11); /* the disk frozen from 4 s to 16 s */
  Client clerk = client_as (hid, "clerk", "red", "Red", "ff0000", 440, 17, NULL);
  Client party = client_as (hid, "party", "blue", "Blue", "0000ff", 880, 17, NULL);
  g_usleep (4 * G_USEC_PER_SEC); /* recording */
  g_autofree char *thaw = g_strdup_printf ("sh -c 'sleep 12; fsfreeze -u %s'", dir);
  g_assert_true (g_spawn_command_line_async (thaw, NULL));
  g_autofree char *freeze = g_strdup_printf ("fsfreeze -f %s", dir);
  gint64 frozen_at = g_get_real_time ();
  g_assert_true (sh (freeze));
  json_t *rc = report (&clerk), *rp = report (&party);
  /* measured 11 s into the freeze, seconds after the composite's 128 KiB filled up */
  g_test_message ("11 s into the freeze: the clerk sees Blue %.2f at %.1f fps (longest pause "
                  "%.0f ms), hears 880 Hz at %.1f dB at the quietest; the party at %.1f fps",
                  num (rc, "colors", "0000ff"), num (rc, NULL, "fps_last_2s"),
                  num (rc, NULL, "longest_gap_ms_last_2s"), num (rc, "power_min_db", "880"),
                  num (rp, NULL, "fps_last_2s"));
  g_assert_cmpfloat (num (rc, NULL, "fps_last_2s"), >=, 25);
  g_assert_cmpfloat (num (rp, NULL, "fps_last_2s"), >=, 25);
  /* the picture never stopped (a full queue that waited: 718 ms without a frame, then a burst) */
  g_assert_cmpfloat (num (rc, NULL, "longest_gap_ms_last_2s"), <, 300);
  g_assert_cmpfloat (num (rc, "colors", "0000ff"), >, 0.05);
  g_assert_cmpfloat (num (rp, "colors", "ff0000"), >, 0.05);
  g_assert_cmpfloat (num (rc, "power_min_db", "880"), >, -30);
  g_assert_cmpfloat (num (rp, "power_min_db", "440"), >, -30);
  g_assert_true (contains (json_object_get (rc, "errors"), "recording_failed"));
  g_assert_false (contains (json_object_get (rp, "errors"), "recording_failed"));
  json_decref (rc);
  json_decref (rp);
  /* the disk answers at 16 s; the recording resumes within the retry's 2 s after the tracks
   * that waited are written */
  g_usleep (5 * G_USEC_PER_SEC);
  set_state (hid, "closed");
  g_usleep (3 * G_USEC_PER_SEC);
  g_autofree char *rid = NULL;
  json_t *full = only_recording (hid, arch, &rid);
  json_t *ev = json_object_get (json_object_get (full, "manifest"), "events");
  gint64 failed_at = 0, resumed_at = 0;
  for (size_t i = 0; i < json_array_size (ev); i++) {
    json_t *e = json_array_get (ev, i);
    const char *type = json_string_value (json_object_get (e, "type"));
    const char *why = json_string_value (json_object_get (e, "reason"));
    gint64 at = entry_at_us (e);
    if (!g_strcmp0 (type, "failure") && !failed_at && why && strstr (why, "stalls"))
      failed_at = at;
    else if (!g_strcmp0 (type, "resume") && failed_at && !resumed_at)
      resumed_at = at;
    g_test_message ("event %s %+.1f s: %s", type, (at - frozen_at) / 1e6, why ? why : "");
  }
  g_assert_cmpint (failed_at, >, frozen_at);
  g_assert_cmpint (failed_at, <, frozen_at + 12 * G_USEC_PER_SEC);  /* written down as it came */
  g_assert_cmpint (resumed_at, >, frozen_at + 12 * G_USEC_PER_SEC); /* once it could go on */
  json_decref (verified (rid, arch));
  json_decref (full);
  own_daemon_end (TRUE);
  stall_disk_umount (dir);
  measure_at = 0;
}

/* Every thread of process `pid` on the CPUs of `set` (threads it makes later inherit it). */
static void
pin_process (const char *pid, const cpu_set_t *set)
{
  g_autofree char *dir = g_strdup_printf ("/proc/%s/task", pid);
  g_autoptr (GDir) tasks = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (tasks);
  for (const char *t; (t = g_dir_read_name (tasks));)
    sched_setaffinity ((pid_t)atoi (t), sizeof *set, set); /* a thread may have ended: ignored */
  cpu_set_t now; /* the process's main thread, at least, is where it was put */
  g_assert_cmpint (sched_getaffinity ((pid_t)atoi (pid), sizeof now, &now), ==, 0);
  g_assert_true (CPU_EQUAL (&now, set));
}

typedef struct {
  int cpu;
  gint64 until; /* g_get_monotonic_time () */
} Spin;

/* A busy thread on one CPU until a deadline: bounded in time. */
static gpointer
spin (gpointer data)
{
  const Spin *s = data;
  cpu_set_t one;
  CPU_ZERO (&one);
  CPU_SET (s->cpu, &one);
  sched_setaffinity (0, sizeof one, &one);
  volatile guint64 n = 0;
  while (g_get_monotonic_time () < s->until)
    for (int i = 0; i < 100000; i++)
      n++;
  return NULL;
}

/* A busy machine: the daemon, with a hearing of three, shares one core with three threads that
 * never rest (the clients have the other core to themselves). The picture keeps its pace and
 * nobody's voice breaks up: over the last second measured, every 100 ms block of each mix
 * carries the others' tones. */
static void
test_a_busy_core (void)
{
  if (g_get_num_processors () < 2) {
    g_test_skip ("needs two CPUs");
    return;
  }
  g_free (own_daemon_begin ("state-busy", NULL));
  const char *pid = g_subprocess_get_identifier (d->proc);
  cpu_set_t all, daemon_cpu, clients_cpu;
  g_assert_cmpint (sched_getaffinity (0, sizeof all, &all), ==, 0);
  CPU_ZERO (&daemon_cpu);
  CPU_SET (0, &daemon_cpu);
  CPU_ZERO (&clients_cpu);
  CPU_SET (1, &clients_cpu);
  pin_process (pid, &daemon_cpu);
  g_autofree char *hid = new_hearing ();
  double f = timing_factor ();
  int seconds = (int)(12 * f);
  gint64 end = g_get_monotonic_time () + (gint64)seconds * G_USEC_PER_SEC;
  measure_in (seconds - 1);
  g_assert_cmpint (sched_setaffinity (0, sizeof clients_cpu, &clients_cpu), ==, 0);
  Client c[3] = { client (hid, "Red", "ff0000", 440, seconds, "--no-decode"),
                  client (hid, "Green", "00ff00", 660, seconds, "--no-decode"),
                  client (hid, "Blue", "0000ff", 880, seconds, "--no-decode") };
  g_assert_cmpint (sched_setaffinity (0, sizeof all, &all), ==, 0);
  g_usleep ((gulong)(4 * f * G_USEC_PER_SEC)); /* everyone in */
  pin_process (pid, &daemon_cpu);              /* the streaming threads made meanwhile */
  Spin busy = { 0, end + G_USEC_PER_SEC / 2 }; /* until the clients have left */
  GThread *spinners[3];
  for (int i = 0; i < 3; i++)
    spinners[i] = g_thread_new ("busy", spin, &busy);
  static const char *fr[] = { "440", "660", "880" };
  double fps[3], least = 0;
  json_t *r[3];
  for (int i = 0; i < 3; i++) {
    r[i] = report (&c[i]);
    fps[i] = num (r[i], NULL, "fps_last_2s");
  }
  for (int i = 0; i < 3; i++)
    g_thread_join (spinners[i]);
  g_test_message ("one core shared with three busy threads: composite %.1f, %.1f, %.1f fps",
                  fps[0], fps[1], fps[2]);
  for (int i = 0; i < 3; i++) {
    g_assert_cmpfloat (fps[i], >=, 25);
    for (int k = 0; k < 3; k++)
      if (k != i) {
        double quietest = num (r[i], "power_min_db", fr[k]);
        least = MIN (least, quietest);
        g_assert_cmpfloat (quietest, >, -30); /* in every 100 ms block */
        g_assert_cmpfloat (num (r[i], "power_db", fr[i]), <, num (r[i], "power_db", fr[k]) - 20);
      }
    json_decref (r[i]);
  }
  g_test_message ("the others' tones in the quietest 100 ms block: at least %.1f dB", least);
  own_daemon_end (TRUE);
  measure_at = 0;
}

/* A village room on a weak link: 5 % of its packets lost each way (nftables, on its own UDP ports
 * only) from 3 s after it joined. The others' sound stays whole and their picture smooth; they
 * hear and see the village (its lost pictures are asked for again, PLI); the village sees the
 * composite smoothly and hears them: the composite's packets it lost are sent again (RTX) when it
 * asks (NACK), so few are lost for good and its picture seldom waits for a keyframe — which,
 * the composite being encoded once, everyone would receive (the counts are reported). A daemon
 * of its own, with [media] video_retransmission on (off by default, docs/operations.md). */
#define WEAK_PORTS "43000-43099"

/* The table whose rules make the village's link weak; FALSE (the test skipped) without nft. */
static gboolean
weak_link_table (void)
{
  if (!sh ("nft add table inet weaklink")) {
    g_test_skip ("needs nftables (nft)");
    return FALSE;
  }
  g_assert_true (sh ("nft 'add chain inet weaklink out { type filter hook output priority 0 ; }'"));
  return TRUE;
}

/* From now on, 5 % of the packets from and to the village's ports are lost. */
static void
weak_link_begin (void)
{
  g_assert_true (sh ("nft add rule inet weaklink out udp sport " WEAK_PORTS
                     " numgen random mod 100 '<' 5 counter drop"));
  g_assert_true (sh ("nft add rule inet weaklink out udp dport " WEAK_PORTS
                     " numgen random mod 100 '<' 5 counter drop"));
}

/* The link whole again: how many packets were lost from [0] and to [1] the village. */
static void
weak_link_end (int dropped[2])
{
  g_autofree char *rules = NULL;
  g_assert_true (
      g_spawn_command_line_sync ("nft list table inet weaklink", &rules, NULL, NULL, NULL));
  g_assert_true (sh ("nft delete table inet weaklink"));
  int k = 0;
  dropped[0] = dropped[1] = 0;
  for (const char *at = rules; k < 2 && (at = strstr (at, "counter packets ")); at++)
    dropped[k++] = atoi (at + strlen ("counter packets "));
}

static void
test_a_village_on_a_weak_link (void)
{
  if (!weak_link_table ())
    return;
  static const char *const rtx[] = { "HEARINGD_MEDIA_VIDEO_RETRANSMISSION=true", NULL };
  g_free (own_daemon_begin ("state-weak", rtx));
  g_autofree char *hid = new_hearing ();
  double f = timing_factor ();
  int seconds = (int)(14 * f);
  measure_in (seconds - 1);
  /* the village asks for its lost picture packets again (NACK) and, like a browser on a lossy
   * link, holds 150 ms in its jitter buffer so that the resent ones (RTX) arrive in time (a
   * browser's buffer follows the round trip: the sanitized daemon's answers take longer, so
   * ×timing_factor; one sanitized CI run with 150 ms lost 32 of 152 packets for good, 36 resent
   * in time) */
  g_autofree char *village
      = g_strdup_printf ("--ports=" WEAK_PORTS " --nack --latency=%d", (int)(150 * f));
  Client c[3] = { client (hid, "Red", "ff0000", 440, seconds, village),
                  client (hid, "Green", "00ff00", 660, seconds, NULL),
                  client (hid, "Blue", "0000ff", 880, seconds, NULL) };
  /* the link turns weak once everyone is in (joining over it is another matter: ICE and DTLS
   * retransmit on timers of their own) */
  g_usleep ((gulong)(3 * f * G_USEC_PER_SEC));
  weak_link_begin ();
  json_t *r[3];
  for (int i = 0; i < 3; i++)
    r[i] = report (&c[i]);
  /* the premise: the village's packets were lost, both ways */
  int dropped[2];
  weak_link_end (dropped);
  g_test_message ("packets lost: %d from the village, %d to it; composite keyframes received: "
                  "%d, %d, %d in %d s",
                  dropped[0], dropped[1], (int)num (r[0], NULL, "keyframes"),
                  (int)num (r[1], NULL, "keyframes"), (int)num (r[2], NULL, "keyframes"), seconds);
  g_assert_cmpint (dropped[0], >, 20);
  g_assert_cmpint (dropped[1], >, 20);
  json_t *rtp = json_object_get (r[0], "video_rtp");
  int recovered = (int)num (rtp, NULL, "rtx_recovered"), lost = (int)num (rtp, NULL, "lost");
  g_test_message ("the village's composite: %d packets resent in time, %d lost for good", recovered,
                  lost);
  /* Retransmission recovers most of what the village noticed missing: more packets resent in
   * time than lost for good (without it, none are resent). And of all the packets dropped on
   * their way to it, the composite's lost for good are at most a quarter: usually 0.00-0.08
   * (0.21-0.49 without retransmission), but the dropped count is small (80-170) and a run now and
   * then loses more: two sanitized clean-clone CI runs 0.20 and 0.21 (32 of 152 with 36 resent,
   * 35 of 173 with 40), a normal one 0.19 (15 of 80), while three reruns of it read 7, 0, 2 of
   * 80-92 with 19-21 resent. */
  g_assert_cmpint (recovered, >, lost);
  g_assert_cmpint (lost, <=, dropped[1] / 4);
  static const char *fr[] = { "440", "660", "880" }, *col[] = { "ff0000", "00ff00", "0000ff" };
  for (int i = 0; i < 3; i++) {
    g_test_message ("%s: %.1f fps", col[i], num (r[i], NULL, "fps_last_2s"));
    for (int j = 0; j < 3; j++)
      if (j != i) {
        g_assert_cmpfloat (num (r[i], "power_db", fr[j]), >, -20); /* heard */
        g_assert_cmpfloat (num (r[i], "colors", col[j]), >, 0.05); /* seen */
      }
  }
  for (int i = 1; i < 3; i++) { /* the others: untouched by the village's link */
    g_assert_cmpfloat (num (r[i], NULL, "fps_last_2s"), >=, 25);
    g_assert_cmpfloat (num (r[i], "power_min_db", fr[3 - i]), >, -30); /* every 100 ms block */
  }
  /* smooth (30 fps measured; 11-30 without retransmission, each loss stopping its picture until
   * a keyframe) */
  g_assert_cmpfloat (num (r[0], NULL, "fps_last_2s"), >=, 20 / f);
  for (int i = 0; i < 3; i++)
    json_decref (r[i]);
  own_daemon_end (TRUE);
  measure_at = 0;
}

/* A village room whose firewall lets no UDP through: its ICE has TCP only, and the daemon's
 * passive TCP candidates (in the configured port range, as its UDP ones) carry its media. Both
 * see and hear each other. The premise is checked: the village's process has no UDP socket and
 * a TCP connection into the daemon's range. */
static void
test_a_village_behind_a_udp_firewall (void)
{
  g_autofree char *hid = new_hearing ();
  double f = timing_factor ();
  int seconds = (int)(10 * f);
  measure_in (seconds - 1);
  Client c[2] = { client (hid, "Red", "ff0000", 440, seconds, "--tcp-only"),
                  client (hid, "Green", "00ff00", 660, seconds, NULL) };
  g_usleep ((gulong)(6 * f * G_USEC_PER_SEC)); /* connected */
  const char *village = g_subprocess_get_identifier (c[0].proc);
  g_autofree char *udp = NULL, *tcp = NULL;
  g_assert_true (g_spawn_command_line_sync ("ss -uanpH", &udp, NULL, NULL, NULL));
  g_assert_true (g_spawn_command_line_sync ("ss -tnpH state established", &tcp, NULL, NULL, NULL));
  g_autofree char *mine = g_strdup_printf ("pid=%s,", village);
  int udp_socks = 0, tcp_media = 0;
  g_auto (GStrv) ul = g_strsplit (udp, "\n", -1), tl = g_strsplit (tcp, "\n", -1);
  for (char **l = ul; *l; l++)
    udp_socks += strstr (*l, mine) != NULL;
  for (char **l = tl; *l; l++)
    tcp_media += strstr (*l, mine) && strstr (*l, "10.77.0.1:41");
  json_t *r[2] = { report (&c[0]), report (&c[1]) };
  g_test_message ("village: %d UDP sockets, %d TCP connections into the daemon's media range; "
                  "%.1f and %.1f fps",
                  udp_socks, tcp_media, num (r[0], NULL, "fps_last_2s"),
                  num (r[1], NULL, "fps_last_2s"));
  g_assert_cmpint (udp_socks, ==, 0);
  g_assert_cmpint (tcp_media, >=, 1);
  static const char *fr[] = { "440", "660" }, *col[] = { "ff0000", "00ff00" };
  for (int i = 0; i < 2; i++) {
    g_assert_cmpfloat (num (r[i], NULL, "fps_last_2s"), >=, 20 / f);
    g_assert_cmpfloat (num (r[i], "power_db", fr[1 - i]), >, -20);
    g_assert_cmpfloat (num (r[i], "colors", col[1 - i]), >, 0.05);
    json_decref (r[i]);
  }
  measure_at = 0;
}

/* The archivist's portal in Chromium: search by case number, the recording verified, played,
 * sought, the clerk's note a click away on the timeline; a screenshot kept. */
static void
test_archive_portal (void)
{
  if (!recorded_rid) {
    g_test_skip ("needs the recording of /media/recording");
    return;
  }
  const char *script = browser_script ("HD_E2E_ARCHIVE");
  if (!script)
    return;
  int st = 0;
  json_t *rec = hd_test_rest (d, "GET", "/api/v1/recordings", op, NULL, &st);
  json_decref (rec);
  g_assert_cmpint (st, ==, 403); /* (the operator cannot) */
  /* an archivist's token (the hearing it is issued on does not limit the archive) */
  g_autofree char *hid = new_hearing ();
  g_autofree char *tpath = g_strdup_printf ("/api/v1/hearings/%s/tokens", hid);
  json_t *r
      = hd_test_rest (d, "POST", tpath, op, "{\"role\":\"archivist\",\"name\":\"Archivist\"}", &st);
  g_assert_cmpint (st, ==, 201);
  g_autofree char *url = g_strdup_printf ("%s/archive.html#token=%s", d->base_url,
                                          json_string_value (json_object_get (r, "token")));
  json_decref (r);
  g_autofree char *shot = artefact ("archive-portal.png");
  const char *const env[] = { "HD_ARCHIVE_URL", url,          "HD_CASE", recorded_case,
                              "HD_RECORDING",   recorded_rid, "HD_NOTE", "Exhibit-3-shown",
                              "HD_SCREENSHOT",  shot,         NULL };
  json_t *b = run_browser (script, "archive portal", env);
  g_assert_true (json_is_true (json_object_get (b, "ok")));
  g_assert_cmpint (json_integer_value (json_object_get (b, "found")), >=, 1);
  g_assert_true (json_is_true (json_object_get (b, "verified")));
  g_assert_nonnull (
      strstr (json_string_value (json_object_get (b, "timeline")), "Exhibit-3-shown"));
  g_assert_cmpfloat (json_number_value (json_object_get (b, "duration")), >, 8);
  g_assert_cmpfloat (json_number_value (json_object_get (b, "advanced")), >, 1.0);
  g_assert_cmpint (json_array_size (json_object_get (b, "unnamed")), ==, 0); /* all labelled */
  g_assert_true (json_is_array (json_object_get (b, "unnamed")));
  g_assert_cmpfloat (fabs (json_number_value (json_object_get (b, "seekedTo")) - 5), <, 0.5);
  g_assert_cmpfloat (fabs (json_number_value (json_object_get (b, "afterNote"))
                           - json_number_value (json_object_get (b, "noteOffset"))),
                     <, 0.5);
  g_assert_true (g_file_test (shot, G_FILE_TEST_EXISTS));
  json_decref (b);
}

static void
test_chromium (void)
{
  const char *script = browser_script ("HD_E2E_MEDIA");
  if (!script)
    return;
  g_autofree char *hid = new_hearing ();
  measure_at = 0; /* the C client measures at its end, while the browser is still there */
  Client c = client (hid, "Red", "ff0000", 440, 12, "--colors=008000,ff0000 --listen=400,440");
  /* Chromium joins through the web client beside the C client. */
  int st = 0;
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s/tokens", hid);
  json_t *t = hd_test_rest (d, "POST", path, op, "{\"role\":\"party\",\"name\":\"Browser\"}", &st);
  g_assert_cmpint (st, ==, 201);
  const char *const env[] = { "HD_JOIN_URL", json_string_value (json_object_get (t, "join_url")),
                              "HD_SECONDS", "12", NULL };
  json_t *b = run_browser (script, "chromium", env);
  json_decref (t);
  g_assert_true (json_is_true (json_object_get (b, "ok")));
  g_assert_cmpstr (json_string_value (json_object_get (b, "connection")), ==, "connected");
  g_assert_cmpint (json_integer_value (json_object_get (b, "framesDecoded")), >, 100);
  g_assert_cmpint (json_integer_value (json_object_get (b, "audioSamples")), >, 48000);
  json_decref (b);
  json_t *r = report (&c);
  g_assert_cmpfloat (num (r, "colors", "008000"), >, 0.05); /* Chromium's fake camera, green */
  g_assert_cmpfloat (num (r, "colors", "ff0000"), >, 0.05);
  g_test_message ("the C client hears Chromium's fake microphone at 400 Hz: %.1f dB, its own "
                  "440 Hz at %.1f dB",
                  num (r, "power_db", "400"), num (r, "power_db", "440"));
  /* Chromium's fake microphone beeps at ~400 Hz; silence here would be below -70 dB. */
  g_assert_cmpfloat (num (r, "power_db", "400"), >, -45);
  json_decref (r);
}

/* The courtroom in Chromium, with media for every role at once, on a daemon with the lobby: the
 * judge (a browser) admits a shared court's party (a browser, with its operator), an
 * observer (a browser) and three C parties from the lobby, denies Li Si (a browser) with a
 * reason, and at a fixed instant mutes Red from the roster. Green measures just before that
 * instant, Blue after it: Red's 1500 Hz is in the mix, then not; Red cannot unmute itself.
 * (1500 Hz: Chromium's fake microphone beeps at 400 Hz, and its edges spill into 440 Hz.) */
static void
test_courtroom_in_chromium (void)
{
  const char *script = browser_script ("HD_E2E_COURTROOM");
  if (!script)
    return;
  double factor = timing_factor ();
  /* a daemon of its own, with the lobby; the composite at 15 fps: four Chromium pages, the
   * daemon and three clients share two cores (at 30 fps the sanitizer run kept them ~80 % busy,
   * and a slower machine ran out of real time) */
  static const char *const lobby[]
      = { "HEARINGD_HEARING_LOBBY=true", "HEARINGD_MEDIA_COMPOSITE_FPS=15", NULL };
  g_free (own_daemon_begin ("state-courtroom", lobby));
  g_autofree char *hid = new_hearing ();
  g_autofree char *tpath = g_strdup_printf ("/api/v1/hearings/%s/tokens", hid);
  static const char *const people[][2] = {
    { "judge", "{\"role\":\"judge\",\"name\":\"Judge Wang\"}" },
    { "zhang", "{\"role\":\"party\",\"name\":\"Zhang San\",\"assisted_by\":\"Chen\"}" },
    { "li", "{\"role\":\"party\",\"name\":\"Li Si\"}" },
    { "press", "{\"role\":\"observer\",\"name\":\"Press\"}" },
  };
  json_t *urls = json_object ();
  for (gsize i = 0; i < G_N_ELEMENTS (people); i++) {
    int st = 0;
    json_t *t = hd_test_rest (d, "POST", tpath, op, people[i][1], &st);
    g_assert_cmpint (st, ==, 201);
    json_object_set (urls, people[i][0], json_object_get (t, "join_url"));
    json_decref (t);
  }
  /* the instant of the judge's mute: time for Chromium to start and the judge to admit all */
  int m = (int)(11 * factor); /* all in by ~4 s here: Chromium up, five admitted */
  gint64 mute_at = g_get_real_time () + (gint64)m * G_USEC_PER_SEC;
  /* The C parties bring sound only, and count the composite's frames without decoding them:
   * beside four Chromium pages, pictures from them would take the test to ~90 % of this
   * machine's two cores under the sanitizers, and a slower machine would run out of real time
   * (other tests cover their pictures). */
  const char *listen = "--no-video --no-decode --listen=400,660,880,1500";
  g_autofree char *unmute = g_strdup_printf (
      "--no-video --no-decode --send=%d:{\"type\":\"mute\",\"audio\":false}", m + 3);
  measure_at = 0;
  Client red = client_as (hid, "party", "red", "Red", "ff0000", 1500, m + 9, unmute);
  measure_at = mute_at - G_USEC_PER_SEC;
  Client green = client_as (hid, "party", "green", "Green", "00ff00", 660, m + 7, listen);
  measure_at = mute_at + 5 * G_USEC_PER_SEC;
  Client blue = client_as (hid, "party", "blue", "Blue", "0000ff", 880, m + 7, listen);
  measure_at = 0;
  g_autofree char *urls_text = json_dumps (urls, JSON_COMPACT);
  json_decref (urls);
  g_autofree char *at = g_strdup_printf ("%" G_GINT64_FORMAT, mute_at / 1000);
  g_autofree char *step_ms = g_strdup_printf ("%d", (int)(15000 * factor));
  g_autofree char *shot = artefact ("courtroom-with-media.png");
  const char *const env[]
      = { "HD_URLS",    urls_text, "HD_MUTE_AT",    at,   "HD_ADMIT", "Red,Green,Blue",
          "HD_STEP_MS", step_ms,   "HD_SCREENSHOT", shot, NULL };
  json_t *b = run_browser (script, "courtroom", env);
  json_t *rr = report (&red), *rg = report (&green), *rb = report (&blue);
  g_test_message ("before the mute Green hears Red's 1500 Hz at %.1f dB; after it Blue hears "
                  "1500 Hz at %.1f dB, Green's 660 Hz at %.1f dB, the browsers' 400 Hz at %.1f dB",
                  num (rg, "power_db", "1500"), num (rb, "power_db", "1500"),
                  num (rb, "power_db", "660"), num (rb, "power_db", "400"));
  g_assert_cmpint (json_array_size (json_object_get (b, "problems")), ==, 0);
  g_assert_true (json_is_true (json_object_get (b, "ok")));
  g_assert_false (json_is_true (json_object_get (b, "lateForMute")));
  g_assert_true (json_is_true (json_object_get (b, "denied")));
  g_assert_false (json_is_true (json_object_get (b, "pressControls"))); /* the observer */
  g_assert_cmpint (json_integer_value (json_object_get (b, "observerMuteButtons")), ==, 0);
  g_assert_cmpint (json_integer_value (json_object_get (b, "speakingMarks")), ==, 1);
  /* the village link dropped: back by itself, on a new connection, without the lobby */
  json_t *rejoin = json_object_get (b, "rejoin");
  g_assert_true (json_is_true (json_object_get (rejoin, "newSocket")));
  g_assert_cmpstr (json_string_value (json_object_get (rejoin, "lobbyShown")), ==, "");
  /* what the judge did on the page is in the recording: the note, off and back on the record */
  g_assert_true (json_is_true (json_object_get (b, "record")));
  {
    int st = 0;
    json_t *t = hd_test_rest (d, "POST", tpath, op, "{\"role\":\"archivist\",\"name\":\"A\"}", &st);
    g_assert_cmpint (st, ==, 201);
    g_autofree char *arch = g_strdup (json_string_value (json_object_get (t, "token")));
    json_decref (t);
    json_t *recs = recordings_of (hid, arch);
    g_assert_cmpint (json_array_size (recs), ==, 1);
    g_autofree char *show
        = g_strdup_printf ("/api/v1/recordings/%s",
                           json_string_value (json_object_get (json_array_get (recs, 0), "id")));
    json_decref (recs);
    json_t *full = hd_test_rest (d, "GET", show, arch, NULL, &st);
    g_assert_cmpint (st, ==, 200);
    json_t *man = json_object_get (full, "manifest");
    json_t *note = json_array_get (json_object_get (man, "notes"), 0);
    g_assert_cmpstr (json_string_value (json_object_get (note, "text")), ==, "Exhibit 3 shown");
    g_assert_cmpstr (json_string_value (json_object_get (note, "author")), ==, "Judge Wang");
    gboolean off = FALSE, on = FALSE;
    json_t *ev = json_object_get (man, "events");
    for (size_t i = 0; i < json_array_size (ev); i++) {
      json_t *e = json_array_get (ev, i);
      const char *type = json_string_value (json_object_get (e, "type"));
      const char *why = json_string_value (json_object_get (e, "reason"));
      off = off || (!g_strcmp0 (type, "pause") && !g_strcmp0 (why, "Sidebar with counsel"));
      on = on || (off && !g_strcmp0 (type, "resume"));
    }
    g_assert_true (off && on);
    json_decref (full);
  }
  g_assert_true (g_str_has_prefix (json_string_value (json_object_get (b, "greeting")),
                                   "Chen: you are helping Zhang San"));
  const char *roster = json_string_value (json_object_get (b, "roster"));
  for (const char *const *who
       = (const char *const[]){ "Zhang San (with Chen) — Party", "Press — Observer", "Red", "Green",
                                "Blue", NULL };
       *who; who++)
    g_assert_nonnull (strstr (roster, *who));
  g_assert_null (strstr (roster, "Li Si"));
  /* every browser receives the composite and the sound; the observer sends nothing */
  for (const char *const *who = (const char *const[]){ "judge", "zhang", "press", NULL }; *who;
       who++) {
    json_t *s = json_object_get (b, *who);
    g_assert_cmpstr (json_string_value (json_object_get (s, "connection")), ==, "connected");
    g_assert_cmpint (json_integer_value (json_object_get (s, "framesDecoded")), >, 60);
    g_assert_cmpint (json_integer_value (json_object_get (s, "audioSamples")), >, 48000);
  }
  g_assert_cmpint (
      json_integer_value (json_object_get (json_object_get (b, "judge"), "framesSent")), >, 0);
  g_assert_cmpint (
      json_integer_value (json_object_get (json_object_get (b, "zhang"), "framesSent")), >, 0);
  g_assert_cmpint (
      json_integer_value (json_object_get (json_object_get (b, "press"), "framesSent")), ==, 0);
  g_assert_cmpint (json_integer_value (json_object_get (json_object_get (b, "press"), "audioSent")),
                   ==, 0);
  json_decref (b);
  /* the judge's mute is enforced in the mix: Red's tone, heard before, is gone after */
  g_assert_cmpfloat (num (rg, "power_db", "1500"), >, -30);
  g_assert_cmpfloat (num (rb, "power_db", "660"), >, -30);
  g_assert_cmpfloat (num (rb, "power_db", "1500"), <, num (rb, "power_db", "660") - 40);
  g_assert_cmpfloat (num (rb, "power_db", "400"), >, -45); /* and the browsers are heard */
  g_assert_true (contains (json_object_get (rr, "errors"), "forbidden")); /* no self-unmute */
  json_decref (rr);
  json_decref (rg);
  json_decref (rb);
  own_daemon_end (FALSE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* a network of its own, and mounts of its own (the full-disk test's tmpfs) */
  if (getuid () != 0 || unshare (CLONE_NEWNET | CLONE_NEWNS) != 0
      || !sh ("mount --make-rprivate /")) {
    g_test_skip ("needs root to make a private network namespace");
    printf ("1..0 # SKIP needs root to make a private network namespace\n");
    return 77;
  }
  if (!sh ("ip link set lo up") || !sh ("ip link add v0 type veth peer name v1")
      || !sh ("ip addr add 10.77.0.1/24 dev v0") || !sh ("ip link set v0 up")
      || !sh ("ip link set v1 up")) {
    printf ("Bail out! cannot set up the test network (ip)\n");
    return 1;
  }
  hd_client_quiet ();
  tmp_root = g_dir_make_tmp ("hd-media-XXXXXX", NULL);
  g_autofree char *state = g_build_filename (tmp_root, "state", NULL);
  d = hd_test_daemon_start (state, FALSE, NULL, daemon_env);
  g_assert_nonnull (d);
  const char *const mint[] = { "--state-dir", state, "operator-token", NULL };
  g_assert_cmpint (hd_test_ctl (&op, NULL, mint), ==, 0);
  g_strstrip (op);
  g_test_add_func ("/media/three-participants-and-a-late-joiner", test_three_participants);
  g_test_add_func ("/media/audio-only-and-video-only", test_audio_only_and_video_only);
  g_test_add_func ("/media/mute-and-kill", test_mute_and_kill);
  g_test_add_func ("/media/comings-and-goings", test_comings_and_goings);
  g_test_add_func ("/media/forged-fingerprint", test_forged_fingerprint);
  g_test_add_func ("/media/two-hearings", test_two_hearings);
  g_test_add_func ("/media/layouts", test_layouts);
  g_test_add_func ("/media/a-busy-core", test_a_busy_core);
  g_test_add_func ("/media/joiners-who-never-connect", test_joiners_who_never_connect);
  g_test_add_func ("/media/a-village-on-a-weak-link", test_a_village_on_a_weak_link);
  g_test_add_func ("/media/a-village-behind-a-udp-firewall", test_a_village_behind_a_udp_firewall);
  g_test_add_func ("/media/h264", test_h264);
  g_test_add_func ("/media/judge-mutes-a-party", test_judge_mutes_a_party);
  g_test_add_func ("/media/recording", test_recording);
  g_test_add_func ("/media/archive-portal", test_archive_portal);
  g_test_add_func ("/media/recording-survives-sigkill", test_recording_survives_sigkill);
  g_test_add_func ("/media/recording-full-disk", test_recording_full_disk);
  g_test_add_func ("/media/storage-that-stalls", test_storage_that_stalls);
  g_test_add_func ("/media/storage-that-stalls-too-long", test_storage_that_stalls_too_long);
  g_test_add_func ("/media/archive-that-stalls-at-the-start",
                   test_archive_that_stalls_at_the_start);
  g_test_add_func ("/media/chromium-beside-a-c-client", test_chromium);
  g_test_add_func ("/media/courtroom-in-chromium", test_courtroom_in_chromium);
  int rc = g_test_run ();
  if (rc != 0) {
    g_autofree char *log = hd_test_daemon_log (d);
    g_printerr ("# daemon log:\n%s\n", log);
  }
  /* The daemon shuts down cleanly after all that media (and, in the sanitizer build, leak-free:
   * LeakSanitizer makes the exit status non-zero otherwise). */
  int status = hd_test_daemon_stop (d);
  if (status != 0) {
    g_autofree char *log = hd_test_daemon_log (d);
    printf ("not ok - hearingd exited with %d\n# %s\n", status, log);
    rc = 1;
  }
  hd_test_daemon_free (d);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp_root);
  if (system (cmd) != 0)
    g_printerr ("# could not remove %s\n", tmp_root);
  return rc;
}
