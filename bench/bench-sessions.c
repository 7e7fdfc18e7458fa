/* bench-sessions — concurrent authenticated idle WebSocket sessions and join round-trip times.
 *
 * Each run starts hearingd (plain HTTP on 127.0.0.1, port 0, a fresh state dir), creates
 * hearings of PER_HEARING participants over REST, mints one token per session with the daemon's
 * signing key, then opens sessions in phases at rising join rates (each join: WebSocket connect,
 * {"type":"join"} → welcome; join RTT = join sent → welcome received). Sessions are kept open, so
 * the last phase ends with TOTAL sessions held; then every held session is pinged once to prove
 * it is alive. Baseline, same invocation: ping → pong RTT on already-joined sessions at the same
 * rate. Prints per rate the median over RUNS of p50/p99 join RTT, the ratio to the ping baseline,
 * and the daemon's resident memory per held session. Only loopback traffic; every loop is bounded
 * in count and time. Never fails on time. */
#include "daemon/auth.h"
#include "daemon/util.h"
#include "tests/integration/harness.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define PER_HEARING 10

typedef struct {
  int rate;  /* joins per second */
  int count; /* joins in the phase */
} Phase;

static const Phase phases[] = { { 100, 500 }, { 250, 1500 }, { 500, 3000 } };
#define N_PHASES G_N_ELEMENTS (phases)

typedef struct {
  char *token;
  gint64 sent_at; /* join or ping sent (monotonic µs) */
  gint64 rtt;     /* join RTT */
  gint64 ping_rtt;
  gboolean welcomed, failed, pong;
  int phase;
} Sess;

typedef struct {
  Sess *s;
  int n, welcomed, failed, pongs;
} Bench;

static void
on_open (HdWsClient *c, gpointer user)
{
  Sess *s = hd_ws_get_data (c);
  g_autofree char *m = g_strdup_printf ("{\"type\":\"join\",\"token\":\"%s\"}", s->token);
  s->sent_at = g_get_monotonic_time ();
  hd_ws_send_text (c, m);
}

static void
on_message (HdWsClient *c, const char *text, gsize len, gpointer user)
{
  Bench *b = user;
  Sess *s = hd_ws_get_data (c);
  gint64 now = g_get_monotonic_time ();
  json_t *j = json_loadb (text, len, 0, NULL);
  const char *type = json_string_value (json_object_get (j, "type"));
  if (!s->welcomed && !s->failed) {
    if (!g_strcmp0 (type, "welcome")) {
      s->welcomed = TRUE;
      s->rtt = now - s->sent_at;
      b->welcomed++;
    } else if (!g_strcmp0 (type, "error")) {
      s->failed = TRUE;
      b->failed++;
      if (b->failed < 5)
        fprintf (stderr, "  join refused: %.*s\n", (int)len, text);
    }
  } else if (!s->pong && !g_strcmp0 (type, "pong")) {
    s->pong = TRUE;
    s->ping_rtt = now - s->sent_at;
    b->pongs++;
  }
  json_decref (j);
}

static int
cmp64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return x < y ? -1 : x > y;
}

static double
pct (GArray *v, double p)
{
  if (v->len == 0)
    return -1;
  g_array_sort (v, cmp64);
  guint i = MIN (v->len - 1, (guint)(p * v->len));
  return g_array_index (v, gint64, i) / 1000.0;
}

static long
rss_kib (GSubprocess *p)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (p));
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  const char *v = strstr (text, "VmRSS:");
  return v ? atol (v + 6) : -1;
}

typedef struct {
  double p50[N_PHASES], p99[N_PHASES], base50[N_PHASES], base99[N_PHASES];
  int held, alive, server_sessions;
  double kib_per_session;
} RunResult;

static gboolean
run_once (int total, RunResult *res)
{
  g_autofree char *root = g_dir_make_tmp ("hd-bench-XXXXXX", NULL);
  g_autofree char *state = g_build_filename (root, "state", NULL);
  const char *const env[]
      = { g_getenv ("BENCH_DEBUG") ? "HEARINGD_LOG_LEVEL=debug" : "HEARINGD_LOG_LEVEL=warning",
          "HEARINGD_SERVER_MAX_SESSIONS=20000",
          "HEARINGD_LIMITS_JOIN_TIMEOUT_SECONDS=60",
          "HEARINGD_MEDIA_ENABLED=false",
          "HEARINGD_HEARING_LOBBY=false",
          NULL };
  HdTestDaemon *d = hd_test_daemon_start (state, FALSE, NULL, env);
  if (!d)
    return FALSE;
  if (g_getenv ("BENCH_DEBUG"))
    fprintf (stderr, "  daemon on port %d\n", d->port);
  g_autofree char *keyp = g_build_filename (state, "signing-key.pem", NULL);
  g_autoptr (HdSigner) signer = hd_signer_load (keyp, FALSE, NULL);
  gint64 now = hd_time_now ();
  HdClaims op = { .iss = "hearingd",
                  .sub = "op-bench",
                  .name = "bench",
                  .hid = "*",
                  .role = HD_ROLE_OPERATOR,
                  .iat = now,
                  .nbf = now,
                  .exp = now + 3600,
                  .jti = "t-bench" };
  g_autofree char *optok = hd_token_sign (signer, &op);

  Bench b = { .n = total };
  b.s = g_new0 (Sess, total);
  char *hid = NULL;
  for (int i = 0; i < total; i++) {
    if (i % PER_HEARING == 0) {
      int status = 0;
      json_t *h = hd_test_rest (d, "POST", "/api/v1/hearings", optok,
                                "{\"case_number\":\"(2026)bench\",\"title\":\"bench\",\"court\":"
                                "\"c\",\"scheduled_start\":\"2026-12-01T09:00:00Z\"}",
                                &status);
      g_free (hid);
      hid = g_strdup (json_string_value (json_object_get (h, "id")));
      json_decref (h);
      g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s", hid);
      json_decref (hd_test_rest (d, "PATCH", path, optok, "{\"state\":\"open\"}", &status));
    }
    g_autofree char *sub = g_strdup_printf ("p-%d", i);
    g_autofree char *jti = g_strdup_printf ("t-%d", i);
    HdClaims c = { .iss = "hearingd",
                   .sub = sub,
                   .name = "Participant",
                   .hid = hid,
                   .role = HD_ROLE_PARTY,
                   .iat = now,
                   .nbf = now,
                   .exp = now + 3600,
                   .jti = jti };
    b.s[i].token = hd_token_sign (signer, &c);
  }
  g_free (hid);

  HdWsContext *ctx = hd_ws_context_new (FALSE);
  hd_ws_context_set_open_func (ctx, on_open, &b);
  hd_ws_context_set_message_func (ctx, on_message, &b);
  HdWsClient **clients = g_new0 (HdWsClient *, total);
  int started = 0;
  for (guint ph = 0; ph < N_PHASES; ph++) {
    int end_at = MIN (total, started + phases[ph].count);
    int first = started;
    gint64 t0 = g_get_monotonic_time ();
    gint64 deadline
        = t0 + (gint64)(phases[ph].count * G_USEC_PER_SEC / phases[ph].rate) + 20 * G_USEC_PER_SEC;
    while ((started < end_at || b.welcomed + b.failed < end_at)
           && g_get_monotonic_time () < deadline) {
      gint64 el = g_get_monotonic_time () - t0;
      int due = first + (int)(el * phases[ph].rate / G_USEC_PER_SEC) + 1;
      while (started < MIN (due, end_at)) {
        b.s[started].phase = ph;
        clients[started] = hd_ws_connect (ctx, "127.0.0.1", d->port, FALSE, "/ws", "hearing.v1");
        hd_ws_set_data (clients[started], &b.s[started]);
        started++;
      }
      gint64 s0 = g_get_monotonic_time ();
      hd_ws_context_service (ctx, 1);
      gint64 took = g_get_monotonic_time () - s0;
      if (took > 20000 && g_getenv ("BENCH_DEBUG"))
        fprintf (stderr, "    service took %.1f ms (started %d)\n", took / 1000.0, started);
    }
    /* Baseline: pings at the same rate on sessions already joined in this phase. */
    GArray *bl = g_array_new (FALSE, FALSE, sizeof (gint64));
    int nping = MIN (phases[ph].count, 1000), sent = 0;
    gint64 p0 = g_get_monotonic_time ();
    gint64 pdead = p0 + (gint64)(nping * G_USEC_PER_SEC / phases[ph].rate) + 10 * G_USEC_PER_SEC;
    for (int i = first; i < end_at; i++)
      b.s[i].pong = FALSE;
    int target_pongs = b.pongs + nping;
    while ((sent < nping || b.pongs < target_pongs) && g_get_monotonic_time () < pdead) {
      gint64 el = g_get_monotonic_time () - p0;
      int due = (int)(el * phases[ph].rate / G_USEC_PER_SEC) + 1;
      while (sent < MIN (due, nping)) {
        Sess *s = &b.s[first + sent];
        if (s->welcomed) {
          s->sent_at = g_get_monotonic_time ();
          hd_ws_send_text (clients[first + sent], "{\"type\":\"ping\"}");
        } else {
          target_pongs--;
        }
        sent++;
      }
      hd_ws_context_service (ctx, 1);
    }
    if (g_getenv ("BENCH_DEBUG"))
      for (int i = first; i < end_at; i += (end_at - first) / 20)
        fprintf (stderr, "    phase %u session %d: join rtt %.1f ms\n", ph, i, b.s[i].rtt / 1000.0);
    GArray *v = g_array_new (FALSE, FALSE, sizeof (gint64));
    for (int i = first; i < end_at; i++) {
      if (b.s[i].welcomed)
        g_array_append_val (v, b.s[i].rtt);
      if (b.s[i].pong && i - first < nping)
        g_array_append_val (bl, b.s[i].ping_rtt);
    }
    res->p50[ph] = pct (v, 0.50);
    res->p99[ph] = pct (v, 0.99);
    res->base50[ph] = pct (bl, 0.50);
    res->base99[ph] = pct (bl, 0.99);
    g_array_unref (v);
    g_array_unref (bl);
  }
  /* hold, then check every session is alive */
  hd_ws_context_service (ctx, 2000);
  int open_now = 0;
  int before = b.pongs;
  for (int i = 0; i < started; i++) {
    b.s[i].pong = FALSE;
    if (hd_ws_is_open (clients[i]) && b.s[i].welcomed) {
      open_now++;
      b.s[i].sent_at = g_get_monotonic_time ();
      hd_ws_send_text (clients[i], "{\"type\":\"ping\"}");
    }
    if (i % 200 == 199)
      hd_ws_context_service (ctx, 1);
  }
  gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (b.pongs - before < open_now && g_get_monotonic_time () < end)
    hd_ws_context_service (ctx, 5);
  if (g_getenv ("BENCH_DEBUG")) {
    int pend = 0, closed = 0;
    for (int i = 0; i < started; i++) {
      pend += hd_ws_pending (clients[i]) > 0;
      closed += hd_ws_is_closed (clients[i]);
    }
    fprintf (stderr, "  clients with unsent frames: %d, closed: %d\n", pend, closed);
  }
  {
    int st = 0;
    json_t *h = hd_test_rest (d, "GET", "/healthz", NULL, NULL, &st);
    res->server_sessions = (int)json_integer_value (json_object_get (h, "sessions"));
    json_decref (h);
  }
  res->held = open_now;
  res->alive = b.pongs - before;
  long rss = rss_kib (d->proc);
  res->kib_per_session = open_now ? (double)rss / open_now : -1;
  fprintf (stderr,
           "  run: %d joined, %d refused, %d held (daemon counts %d), %d answered a ping;"
           " daemon RSS %ld KiB\n",
           b.welcomed, b.failed, open_now, res->server_sessions, res->alive, rss);

  hd_ws_context_free (ctx);
  hd_test_daemon_stop (d);
  hd_test_daemon_free (d);
  for (int i = 0; i < total; i++)
    g_free (b.s[i].token);
  g_free (b.s);
  g_free (clients);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", root);
  if (system (cmd) != 0)
    fprintf (stderr, "could not remove %s\n", root);
  return TRUE;
}

static double
median (double *v, int n)
{
  double t[16];
  memcpy (t, v, n * sizeof *v);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (t[j] < t[i]) {
        double x = t[i];
        t[i] = t[j];
        t[j] = x;
      }
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

int
main (int argc, char **argv)
{
  int runs = argc > 1 ? atoi (argv[1]) : 3;
  runs = CLAMP (runs, 1, 15);
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit (RLIMIT_NOFILE, &rl);
  }
  hd_client_quiet ();
  int total = 0;
  for (guint i = 0; i < N_PHASES; i++)
    total += phases[i].count;
  RunResult r[16];
  for (int i = 0; i < runs; i++) {
    fprintf (stderr, "run %d/%d: %d sessions in %d-participant hearings\n", i + 1, runs, total,
             PER_HEARING);
    if (!run_once (total, &r[i])) {
      fprintf (stderr, "hearingd did not start\n");
      return 1;
    }
  }
  printf ("bench-sessions: %d runs, medians; join RTT = join sent -> welcome received\n", runs);
  printf ("%-10s %-8s %-10s %-10s %-12s %-12s %-8s\n", "rate/s", "joins", "p50 ms", "p99 ms",
          "ping p50 ms", "ping p99 ms", "p99 ratio");
  for (guint ph = 0; ph < N_PHASES; ph++) {
    double a[16], b[16], c[16], e[16];
    for (int i = 0; i < runs; i++) {
      a[i] = r[i].p50[ph];
      b[i] = r[i].p99[ph];
      c[i] = r[i].base50[ph];
      e[i] = r[i].base99[ph];
    }
    double p99 = median (b, runs), b99 = median (e, runs);
    printf ("%-10d %-8d %-10.2f %-10.2f %-12.2f %-12.2f %-8.2f\n", phases[ph].rate,
            phases[ph].count, median (a, runs), p99, median (c, runs), b99,
            b99 > 0 ? p99 / b99 : -1);
  }
  double held[16], alive[16], kib[16];
  for (int i = 0; i < runs; i++) {
    held[i] = r[i].held;
    alive[i] = r[i].alive;
    kib[i] = r[i].kib_per_session;
  }
  printf ("sessions held: %.0f (alive after hold: %.0f); daemon RSS per session: %.1f KiB\n",
          median (held, runs), median (alive, runs), median (kib, runs));
  return 0;
}
