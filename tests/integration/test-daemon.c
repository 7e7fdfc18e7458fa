/* Integration test: hearingd on 127.0.0.1 port 0 with a temporary state dir; REST, two and more
 * WebSocket clients (libwebsockets, signaling/client.c), every bad input with its exact error,
 * while another client keeps receiving pongs and roster updates; hearingctl; shutdown and
 * restart; start-up errors; TLS. Only loopback traffic. */
#include "daemon/auth.h"
#include "daemon/store.h"
#include "daemon/util.h"
#include "tests/integration/harness.h"

#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static char *tmp_root;
static char *state_dir;
static HdTestDaemon *daemon_;
static char *op_token; /* operator */
static char *hid;      /* the test hearing, open */
static char *hid2;     /* a second hearing */

#define WAIT 4000

/* Signaling only: this test runs on the host's loopback, and media (ICE gathering on every
 * interface) belongs in the media tests' private network namespace. */
static const char *const daemon_env[]
    = { "HEARINGD_LIMITS_JOIN_TIMEOUT_SECONDS=2", "HEARINGD_LOG_LEVEL=info",
        "HEARINGD_MEDIA_ENABLED=false", "HEARINGD_HEARING_LOBBY=false", NULL };

static json_t *
rest (const char *method, const char *path, const char *token, const char *body, int expect)
{
  int status = 0;
  json_t *j = hd_test_rest (daemon_, method, path, token, body, &status);
  if (status != expect) {
    char *s = j ? json_dumps (j, 0) : g_strdup ("(no body)");
    g_error ("%s %s: HTTP %d, expected %d: %s", method, path, status, expect, s);
  }
  g_assert_nonnull (j);
  return j;
}

static void
rest_error (const char *method, const char *path, const char *token, const char *body, int expect,
            const char *code)
{
  json_t *j = rest (method, path, token, body, expect);
  g_assert_cmpstr (json_string_value (json_object_get (j, "error")), ==, code);
  g_assert_nonnull (json_string_value (json_object_get (j, "reason")));
  json_decref (j);
}

static char *
issue (const char *h, const char *role, const char *name, char **jti)
{
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s/tokens", h);
  g_autofree char *body = g_strdup_printf ("{\"role\":\"%s\",\"name\":\"%s\"}", role, name);
  json_t *j = rest ("POST", path, op_token, body, 201);
  g_assert_true (
      g_str_has_prefix (json_string_value (json_object_get (j, "join_url")), daemon_->base_url));
  char *t = g_strdup (json_string_value (json_object_get (j, "token")));
  if (jti)
    *jti = g_strdup (json_string_value (json_object_get (j, "jti")));
  json_decref (j);
  return t;
}

/* ---------------------------------------------------------------- WebSocket helpers */

static HdWsClient *
ws_open (HdWsContext *ctx, const char *path, const char *proto)
{
  HdWsClient *c = hd_ws_connect (ctx, "127.0.0.1", daemon_->port, daemon_->tls, path, proto);
  return c;
}

static json_t *
ws_join (HdWsContext *ctx, HdWsClient *c, const char *token, const char *hearing)
{
  g_autofree char *m
      = hearing ? g_strdup_printf (
            "{\"type\":\"join\",\"id\":\"j1\",\"token\":\"%s\",\"hearing\":\"%s\"}", token, hearing)
                : g_strdup_printf ("{\"type\":\"join\",\"id\":\"j1\",\"token\":\"%s\"}", token);
  hd_ws_send_text (c, m);
  /* the answer is a welcome or an error */
  gint64 end = g_get_monotonic_time () + WAIT * 1000;
  while (g_get_monotonic_time () < end) {
    g_autofree char *t = hd_ws_wait_message (ctx, c, WAIT);
    if (!t)
      break;
    json_t *j = json_loads (t, 0, NULL);
    const char *type = json_string_value (json_object_get (j, "type"));
    if (!g_strcmp0 (type, "welcome") || !g_strcmp0 (type, "error"))
      return j;
    json_decref (j);
  }
  return NULL;
}

static void
expect_error (HdWsContext *ctx, HdWsClient *c, const char *code, const char *ref)
{
  json_t *j = hd_test_ws_expect (ctx, c, "error", WAIT);
  if (!j)
    g_error ("no error %s arrived", code);
  g_assert_cmpstr (json_string_value (json_object_get (j, "code")), ==, code);
  g_assert_nonnull (json_string_value (json_object_get (j, "reason")));
  if (ref)
    g_assert_cmpstr (json_string_value (json_object_get (j, "ref")), ==, ref);
  json_decref (j);
}

/* The bystander still gets a pong and the daemon still answers /healthz. */
static void
bystander_ok (HdWsContext *ctx, HdWsClient *a)
{
  hd_ws_send_text (a, "{\"type\":\"ping\",\"id\":\"alive\"}");
  json_t *p = hd_test_ws_expect (ctx, a, "pong", WAIT);
  g_assert_nonnull (p);
  g_assert_cmpstr (json_string_value (json_object_get (p, "ref")), ==, "alive");
  json_decref (p);
}

static gsize
roster_size (json_t *r)
{
  return json_array_size (json_object_get (r, "participants"));
}

/* Roster updates queue up; wait for the one with `n` participants (NULL if it never comes). */
static json_t *
expect_roster (HdWsContext *ctx, HdWsClient *c, gsize n)
{
  json_t *r;
  while ((r = hd_test_ws_expect (ctx, c, "roster", WAIT))) {
    if (roster_size (r) == n)
      return r;
    json_decref (r);
  }
  g_error ("no roster of %zu participants arrived", n);
  return NULL;
}

/* ---------------------------------------------------------------- tokens forged for refusals */

static char *
forge (const char *header, const char *role, const char *h, gint64 nbf, gint64 exp,
       gboolean other_key)
{
  g_autofree char *key = g_build_filename (state_dir, "signing-key.pem", NULL);
  static const guint8 seed[32] = { 42 };
  g_autoptr (HdSigner) s
      = other_key ? hd_signer_new_from_seed (seed) : hd_signer_load (key, FALSE, NULL);
  g_autofree char *payload = g_strdup_printf (
      "{\"iss\":\"hearingd\",\"sub\":\"p-forged\",\"name\":\"F\",\"hid\":\"%s\",\"role\":\"%s\","
      "\"iat\":%" G_GINT64_FORMAT ",\"nbf\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT
      ",\"jti\":\"t-forged\"}",
      h, role, nbf, nbf, exp);
  return hd_token_sign_raw (s, header, payload);
}

static char *
hs256_with_public_key (void)
{
  g_autofree char *key = g_build_filename (state_dir, "signing-key.pem", NULL);
  g_autoptr (HdSigner) s = hd_signer_load (key, FALSE, NULL);
  guint8 pub[32], mac[32];
  unsigned int n = 0;
  g_assert_true (hd_signer_public_raw (s, pub));
  const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  gint64 now = hd_time_now ();
  g_autofree char *payload = g_strdup_printf (
      "{\"iss\":\"hearingd\",\"sub\":\"p-x\",\"name\":\"F\",\"hid\":\"%s\",\"role\":\"judge\","
      "\"iat\":%" G_GINT64_FORMAT ",\"nbf\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT
      ",\"jti\":\"t-x\"}",
      hid, now, now, now + 600);
  g_autofree char *h = hd_b64url_encode ((const guint8 *)hdr, strlen (hdr));
  g_autofree char *p = hd_b64url_encode ((const guint8 *)payload, strlen (payload));
  g_autofree char *input = g_strdup_printf ("%s.%s", h, p);
  HMAC (EVP_sha256 (), pub, 32, (const guint8 *)input, strlen (input), mac, &n);
  g_autofree char *sig = hd_b64url_encode (mac, n);
  return g_strdup_printf ("%s.%s", input, sig);
}

/* ---------------------------------------------------------------- tests */

/* Connections that close before (or in the middle of) their first request — a browser's
 * speculative pre-connects, port scanners — once crashed the daemon (no session data yet). */
/* The REST authorization matrix: every route, asked by nobody, an operator, a judge, a party, an
 * observer and an archivist (an archivist route on an unknown recording answers 404 to the
 * archivist: past the role check). Then ids that try to climb out of the archive. */
static void
test_authorization_matrix (void)
{
  const char *who[] = { NULL,
                        op_token,
                        issue (hid, "judge", "J", NULL),
                        issue (hid, "party", "P", NULL),
                        issue (hid, "observer", "O", NULL),
                        issue (hid, "archivist", "A", NULL) };
  g_autofree char *h = g_strdup_printf ("/api/v1/hearings/%s", hid);
  g_autofree char *tokens = g_strdup_printf ("%s/tokens", h);
  g_autofree char *grants = g_strdup_printf ("%s/grants", h);
  g_autofree char *grant1 = g_strdup_printf ("%s/grants/p-nobody", h);
  static const char *create
      = "{\"case_number\":\"M-1\",\"title\":\"t\",\"court\":\"c\","
        "\"scheduled_start\":\"2026-12-01T09:00:00Z\",\"visibility\":\"public\"}";
  const struct {
    const char *method, *path, *body;
    int want[6]; /* nobody, operator, judge, party, observer, archivist */
  } rows[] = {
    { "GET", "/api/v1/hearings", NULL, { 401, 200, 403, 403, 403, 200 } },
    { "POST", "/api/v1/hearings", create, { 401, 201, 403, 403, 403, 403 } },
    { "GET", h, NULL, { 401, 200, 200, 200, 200, 200 } },
    { "PATCH", h, "{\"title\":\"renamed\"}", { 401, 200, 403, 403, 403, 403 } },
    { "POST", tokens, "{\"role\":\"party\",\"name\":\"X\"}", { 401, 201, 403, 403, 403, 403 } },
    { "GET", grants, NULL, { 401, 200, 403, 403, 403, 403 } },
    { "POST",
      grants,
      "{\"subject\":\"p-a\",\"reason\":\"order 1\"}",
      { 401, 201, 403, 403, 403, 403 } },
    { "DELETE", grant1, NULL, { 401, 404, 403, 403, 403, 403 } },
    { "GET", "/api/v1/audit/verify", NULL, { 401, 200, 403, 403, 403, 200 } },
    { "GET", "/api/v1/recordings", NULL, { 401, 403, 403, 403, 403, 200 } },
    { "GET", "/api/v1/recordings/r-none", NULL, { 401, 403, 403, 403, 403, 404 } },
    { "POST", "/api/v1/recordings/r-none/verify", NULL, { 401, 403, 403, 403, 403, 404 } },
    { "GET",
      "/api/v1/recordings/r-none/files/composite/00-00-00000.webm",
      NULL,
      { 401, 403, 403, 403, 403, 404 } },
    { "GET",
      "/api/v1/recordings/r-none/export?track=composite",
      NULL,
      { 401, 403, 403, 403, 403, 404 } },
    { "PUT",
      "/api/v1/recordings/r-none/hold",
      "{\"hold\":true,\"reason\":\"r\"}",
      { 401, 403, 403, 403, 403, 404 } },
    { "DELETE", "/api/v1/recordings/r-none", NULL, { 401, 403, 403, 403, 403, 404 } },
    { "GET", "/api/v1/public-key", NULL, { 200, 200, 200, 200, 200, 200 } },
  };
  for (gsize r = 0; r < G_N_ELEMENTS (rows); r++)
    for (gsize k = 0; k < G_N_ELEMENTS (who); k++) {
      int st = 0;
      json_t *j = hd_test_rest (daemon_, rows[r].method, rows[r].path, who[k], rows[r].body, &st);
      if (st != rows[r].want[k])
        g_error (
            "%s %s as %s: HTTP %d, expected %d", rows[r].method, rows[r].path,
            (const char *[]){ "nobody", "operator", "judge", "party", "observer", "archivist" }[k],
            st, rows[r].want[k]);
      json_decref (j);
    }
  /* climbing out of the archive: refused before any file is looked at */
  static const char *climbs[]
      = { "/api/v1/recordings/..%2F..%2Fetc/files/passwd/x",
          "/api/v1/recordings/r-none/files/..%2F..%2F/passwd",
          "/api/v1/recordings/r-none/files/composite/..%2F..%2Fmanifest.json",
          "/api/v1/recordings/%2Fetc%2Fpasswd" };
  for (gsize i = 0; i < G_N_ELEMENTS (climbs); i++) {
    int st = 0;
    json_decref (hd_test_rest (daemon_, "GET", climbs[i], who[5], NULL, &st));
    g_assert_cmpint (st, ==, 404);
  }
  for (gsize k = 2; k < G_N_ELEMENTS (who); k++)
    g_free ((char *)who[k]);
}

static void
test_idle_connections (void)
{
  static const char *sends[] = { NULL, "GET /hea", "GET /healthz HTTP/1.1\r\nHost: x", "\r\n\r\n",
                                 "\x16\x03\x01\x02\x00\x01" /* a TLS hello to plain HTTP */ };
  for (gsize i = 0; i < G_N_ELEMENTS (sends); i++)
    for (int round = 0; round < 3; round++) {
      g_autoptr (GSocketClient) sc = g_socket_client_new ();
      g_autoptr (GSocketConnection) c
          = g_socket_client_connect_to_host (sc, "127.0.0.1", daemon_->port, NULL, NULL);
      g_assert_nonnull (c);
      if (sends[i])
        g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (c)), sends[i],
                                   strlen (sends[i]), NULL, NULL, NULL);
      g_usleep (20000);
      g_io_stream_close (G_IO_STREAM (c), NULL, NULL);
    }
  g_usleep (200000);
  json_t *j = rest ("GET", "/healthz", NULL, NULL, 200);
  g_assert_cmpstr (json_string_value (json_object_get (j, "status")), ==, "ok");
  json_decref (j);
}

static void
test_rest (void)
{
  json_t *j = rest ("GET", "/healthz", NULL, NULL, 200);
  g_assert_cmpstr (json_string_value (json_object_get (j, "status")), ==, "ok");
  json_decref (j);

  /* the web client's files */
  static const char *files[][2] = { { "/", "shared-court" },
                                    { "/join.html", "join.js" },
                                    { "/join.js", "hearing.v1" },
                                    { "/style.css", "font-size" } };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *url = g_strdup_printf ("%s%s", daemon_->base_url, files[i][0]);
    g_autofree char *page = NULL;
    int status = 0;
    g_assert_true (hd_http_fetch (url, "GET", NULL, NULL, NULL, &status, &page, NULL));
    g_assert_cmpint (status, ==, 200);
    g_assert_nonnull (strstr (page, files[i][1]));
  }
  g_autofree char *missing = g_strdup_printf ("%s/nothing-here.html", daemon_->base_url);
  g_autofree char *page404 = NULL;
  int st404 = 0;
  g_assert_true (hd_http_fetch (missing, "GET", NULL, NULL, NULL, &st404, &page404, NULL));
  g_assert_cmpint (st404, ==, 404);

  rest_error ("GET", "/api/v1/hearings", NULL, NULL, 401, "unauthorized");
  rest_error ("GET", "/api/v1/hearings", "not.a.token", NULL, 401, "token_malformed");
  const char *create = "{\"case_number\":\"(2026)浙0109民初1234号\",\"title\":\"Loan dispute\","
                       "\"court\":\"Xiaoshan\",\"scheduled_start\":\"2026-12-01T09:30:00+08:00\"}";
  j = rest ("POST", "/api/v1/hearings", op_token, create, 201);
  hid = g_strdup (json_string_value (json_object_get (j, "id")));
  g_assert_cmpstr (json_string_value (json_object_get (j, "state")), ==, "scheduled");
  g_assert_cmpstr (json_string_value (json_object_get (j, "visibility")), ==, "public");
  json_decref (j);
  j = rest ("POST", "/api/v1/hearings", op_token,
            "{\"case_number\":\"(2026)浙0109民初9号\",\"title\":\"Other\",\"court\":\"X\","
            "\"scheduled_start\":\"2026-12-02T09:30:00Z\",\"visibility\":\"sealed\"}",
            201);
  hid2 = g_strdup (json_string_value (json_object_get (j, "id")));
  json_decref (j);

  /* bad bodies */
  rest_error ("POST", "/api/v1/hearings", op_token, "{\"case_number\":", 400, "bad_json");
  rest_error ("POST", "/api/v1/hearings", op_token, "[]", 400, "bad_json");
  rest_error ("POST", "/api/v1/hearings", op_token, "{\"title\":\"t\"}", 400, "bad_field");
  rest_error ("POST", "/api/v1/hearings", op_token,
              "{\"case_number\":\"1\",\"title\":\"t\",\"court\":\"c\",\"scheduled_start\":"
              "\"2026-12-01T09:30:00Z\",\"judge\":\"me\"}",
              400, "bad_field");
  rest_error ("POST", "/api/v1/hearings", op_token,
              "{\"case_number\":1,\"title\":\"t\",\"court\":\"c\",\"scheduled_start\":\"x\"}", 400,
              "bad_field");
  rest_error ("POST", "/api/v1/hearings", op_token,
              "{\"case_number\":\"1\",\"title\":\"t\",\"court\":\"c\",\"scheduled_start\":"
              "\"2026-12-01T09:30:00Z\",\"visibility\":\"secret\"}",
              400, "invalid_field");
  rest_error ("POST", "/api/v1/hearings", op_token,
              "{\"case_number\":\"1\",\"title\":\"t\",\"court\":\"c\",\"scheduled_start\":"
              "\"next tuesday\"}",
              400, "invalid_field");
  g_autofree char *huge = g_strdup_printf ("{\"title\":\"%0*d\"}", 70000, 0);
  rest_error ("POST", "/api/v1/hearings", op_token, huge, 413, "body_too_large");

  /* list with filters (the case number travels percent-encoded) */
  j = rest ("GET", "/api/v1/hearings?state=scheduled", op_token, NULL, 200);
  g_assert_cmpuint (json_array_size (json_object_get (j, "hearings")), ==, 2);
  json_decref (j);
  g_autofree char *cn = g_uri_escape_string ("(2026)浙0109民初1234号", NULL, FALSE);
  g_autofree char *q = g_strdup_printf ("/api/v1/hearings?case_number=%s", cn);
  j = rest ("GET", q, op_token, NULL, 200);
  g_assert_cmpuint (json_array_size (json_object_get (j, "hearings")), ==, 1);
  g_assert_cmpstr (json_string_value (
                       json_object_get (json_array_get (json_object_get (j, "hearings"), 0), "id")),
                   ==, hid);
  json_decref (j);
  rest_error ("GET", "/api/v1/hearings?state=dancing", op_token, NULL, 400, "invalid_field");

  /* transitions */
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s", hid);
  rest_error ("PATCH", path, op_token, "{\"state\":\"in_session\"}", 409, "illegal_transition");
  rest_error ("PATCH", path, op_token, "{\"state\":\"sleeping\"}", 400, "invalid_field");
  rest_error ("PATCH", path, op_token, "{\"colour\":\"red\"}", 400, "bad_field");
  j = rest ("PATCH", path, op_token, "{\"state\":\"open\",\"title\":\"Loan dispute (民间借贷)\"}",
            200);
  g_assert_cmpstr (json_string_value (json_object_get (j, "state")), ==, "open");
  json_decref (j);
  rest_error ("GET", "/api/v1/hearings/h-doesnotexist", op_token, NULL, 404, "hearing_not_found");
  rest_error ("GET", "/api/v1/hearings/bad%20id", op_token, NULL, 404, "not_found");
  rest_error ("GET", "/api/v1/nothing", op_token, NULL, 404, "not_found");
  rest_error ("DELETE", "/api/v1/hearings", op_token, NULL, 405, "method_not_allowed");

  /* roles: a party may read its own hearing only; a judge may change the state only */
  g_autofree char *party = issue (hid, "party", "Zhang San", NULL);
  g_autofree char *judge = issue (hid, "judge", "Judge Wang", NULL);
  j = rest ("GET", path, party, NULL, 200);
  g_assert_cmpint (json_integer_value (json_object_get (j, "participants_connected")), ==, 0);
  json_decref (j);
  g_autofree char *path2 = g_strdup_printf ("/api/v1/hearings/%s", hid2);
  rest_error ("GET", path2, party, NULL, 403, "token_wrong_hearing");
  rest_error ("GET", "/api/v1/hearings", party, NULL, 403, "forbidden");
  rest_error ("POST", "/api/v1/hearings", judge, create, 403, "forbidden");
  rest_error ("PATCH", path, judge, "{\"title\":\"mine\"}", 403, "forbidden");
  rest_error ("PATCH", path, party, "{\"state\":\"closed\"}", 403, "forbidden");
  g_autofree char *tpath = g_strdup_printf ("/api/v1/hearings/%s/tokens", hid);
  rest_error ("POST", tpath, op_token, "{\"role\":\"bailiff\",\"name\":\"x\"}", 400,
              "unknown_role");
  rest_error ("POST", tpath, op_token, "{\"role\":\"party\"}", 400, "bad_field");
  /* a shared court's operator joins for a party, never for the judge */
  rest_error ("POST", tpath, op_token,
              "{\"role\":\"judge\",\"name\":\"J\",\"assisted_by\":\"Chen\"}", 400, "invalid_field");
  rest_error ("POST", tpath, op_token, "{\"role\":\"party\",\"name\":\"P\",\"assisted_by\":7}", 400,
              "bad_field");
  json_t *helped = rest ("POST", tpath, op_token,
                         "{\"role\":\"party\",\"name\":\"P\",\"assisted_by\":\"Chen\"}", 201);
  g_assert_cmpstr (json_string_value (json_object_get (helped, "assisted_by")), ==, "Chen");
  json_decref (helped);
  rest_error ("DELETE", "/api/v1/tokens/t-unknown", op_token, NULL, 404, "token_not_found");
}

static void
test_ws_join_and_bad_input (void)
{
  HdWsContext *ctx = hd_ws_context_new (TRUE);
  g_autofree char *tj = issue (hid, "judge", "Judge Wang", NULL);
  g_autofree char *tp = issue (hid, "party", "Zhang San", NULL);
  g_autofree char *tc = issue (hid, "counsel", "Counsel Zhao", NULL);

  /* A: the judge, the bystander who must see nothing go wrong */
  HdWsClient *a = ws_open (ctx, "/ws", "hearing.v1");
  json_t *w = ws_join (ctx, a, tj, hid);
  g_assert_nonnull (w);
  g_assert_cmpstr (json_string_value (json_object_get (w, "type")), ==, "welcome");
  g_assert_cmpstr (json_string_value (json_object_get (w, "ref")), ==, "j1");
  g_assert_cmpstr (json_string_value (json_object_get (json_object_get (w, "participant"), "role")),
                   ==, "judge");
  g_assert_cmpstr (json_string_value (json_object_get (json_object_get (w, "hearing"), "id")), ==,
                   hid);
  g_assert_cmpstr (
      json_string_value (json_object_get (json_object_get (w, "hearing"), "case_number")), ==,
      "(2026)浙0109民初1234号");
  g_assert_cmpstr (json_string_value (json_object_get (json_object_get (w, "hearing"), "state")),
                   ==, "open");
  g_assert_true (json_array_size (json_object_get (w, "permissions")) > 3);
  json_decref (w);
  json_t *r = expect_roster (ctx, a, 1);
  json_decref (r);

  /* B: the party, who will misbehave after joining */
  HdWsClient *b = ws_open (ctx, "/ws", "hearing.v1");
  w = ws_join (ctx, b, tp, NULL);
  g_assert_cmpstr (json_string_value (json_object_get (w, "type")), ==, "welcome");
  json_decref (w);
  r = expect_roster (ctx, a, 2);
  json_t *first = json_array_get (json_object_get (r, "participants"), 1);
  g_assert_cmpstr (json_string_value (json_object_get (first, "name")), ==, "Zhang San");
  g_assert_cmpstr (json_string_value (json_object_get (first, "role")), ==, "party");
  json_decref (r);
  r = expect_roster (ctx, b, 2);
  json_decref (r);

  /* every bad message from B gets its exact error; A carries on */
  static const struct {
    const char *text, *code, *ref;
  } bad[] = {
    { "{\"type\":\"ping\"", "bad_json", NULL },
    { "[\"ping\"]", "bad_message", NULL },
    { "{\"id\":\"b1\"}", "bad_message", "b1" },
    { "{\"type\":\"teleport\",\"id\":\"b2\"}", "unknown_type", "b2" },
    { "{\"type\":\"join\",\"id\":\"b3\"}", "bad_field", "b3" },
    { "{\"type\":\"ping\",\"id\":\"b4\",\"extra\":true}", "bad_field", "b4" },
    { "{\"type\":\"join\",\"id\":\"b5\",\"token\":12}", "bad_field", "b5" },
    { "{\"type\":\"ping\",\"id\":[1]}", "bad_field", NULL },
    { "{\"type\":\"join\",\"id\":\"b6\",\"token\":\"x\"}", "already_joined", "b6" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    hd_ws_send_text (b, bad[i].text);
    expect_error (ctx, b, bad[i].code, bad[i].ref);
    bystander_ok (ctx, a);
  }
  hd_ws_send (b, "\x01\x02\x03", 3, TRUE);
  expect_error (ctx, b, "binary_not_supported", NULL);
  bystander_ok (ctx, a);

  /* C joins and leaves: A sees both roster changes, B survived all of the above */
  HdWsClient *c = ws_open (ctx, "/ws", "hearing.v1");
  w = ws_join (ctx, c, tc, hid);
  g_assert_cmpstr (json_string_value (json_object_get (w, "type")), ==, "welcome");
  json_decref (w);
  r = expect_roster (ctx, a, 3);
  json_decref (r);
  hd_ws_send_text (c, "{\"type\":\"leave\",\"id\":\"bye\"}");
  json_t *bye = hd_test_ws_expect (ctx, c, "bye", WAIT);
  g_assert_nonnull (bye);
  json_decref (bye);
  g_assert_true (hd_ws_wait_closed (ctx, c, WAIT));
  g_assert_cmpint (hd_ws_close_code (c), ==, 1000);
  r = expect_roster (ctx, a, 2);
  json_decref (r);
  r = expect_roster (ctx, b, 2);
  json_decref (r);

  /* rate limit: a burst of 60 pings from B; with a full bucket the first 40 (rate_burst) pass */
  g_usleep (2100000);
  for (int i = 0; i < 60; i++)
    hd_ws_send_text (b, "{\"type\":\"ping\"}");
  int pongs = 0, limited = 0;
  while (pongs + limited < 60) { /* media offers and candidates may arrive in between */
    g_autofree char *m = hd_ws_wait_message (ctx, b, WAIT);
    g_assert_nonnull (m);
    if (strstr (m, "\"pong\""))
      pongs++;
    else if (strstr (m, "\"rate_limited\""))
      limited++;
  }
  g_test_message ("burst of 60: %d pongs, %d rate_limited", pongs, limited);
  g_assert_cmpint (pongs + limited, ==, 60);
  g_assert_cmpint (limited, >=, 15);
  g_assert_cmpint (pongs, >=, 40);
  bystander_ok (ctx, a);
  g_usleep (G_USEC_PER_SEC); /* let B's bucket refill */
  hd_ws_send_text (b, "{\"type\":\"ping\",\"id\":\"again\"}");
  json_t *p = hd_test_ws_expect (ctx, b, "pong", WAIT);
  g_assert_nonnull (p);
  json_decref (p);

  /* fatal input closes with the RFC's code, and only that connection */
  hd_ws_send (b, "{\"type\":\"ping\",\"x\":\"\xff\xfe\"}", 22, FALSE);
  g_assert_true (hd_ws_wait_closed (ctx, b, WAIT));
  g_assert_cmpint (hd_ws_close_code (b), ==, 1007);
  r = expect_roster (ctx, a, 1);
  json_decref (r);
  bystander_ok (ctx, a);

  HdWsClient *big = ws_open (ctx, "/ws", "hearing.v1");
  g_assert_true (hd_ws_wait_open (ctx, big, WAIT));
  g_autofree char *huge = g_strdup_printf ("{\"type\":\"ping\",\"pad\":\"%0*d\"}", 70000, 0);
  hd_ws_send_text (big, huge);
  g_assert_true (hd_ws_wait_closed (ctx, big, WAIT));
  g_assert_cmpint (hd_ws_close_code (big), ==, 1009);
  bystander_ok (ctx, a);

  /* no join within the deadline (2 s here): error, then 1008 */
  HdWsClient *idle = ws_open (ctx, "/ws", "hearing.v1");
  g_assert_true (hd_ws_wait_open (ctx, idle, WAIT));
  gint64 t0 = g_get_monotonic_time ();
  expect_error (ctx, idle, "join_timeout", NULL);
  g_assert_true (hd_ws_wait_closed (ctx, idle, WAIT));
  g_assert_cmpint (hd_ws_close_code (idle), ==, 1008);
  g_test_message ("join deadline hit after %.1f s", (g_get_monotonic_time () - t0) / 1e6);

  /* wrong endpoint, missing subprotocol */
  HdWsClient *wrong = ws_open (ctx, "/chat", "hearing.v1");
  g_assert_true (hd_ws_wait_closed (ctx, wrong, WAIT));
  g_assert_cmpint (hd_ws_close_code (wrong), ==, 1008);
  HdWsClient *noproto = ws_open (ctx, "/ws", NULL);
  g_assert_true (hd_ws_wait_closed (ctx, noproto, WAIT));
  g_assert_cmpint (hd_ws_close_code (noproto), ==, 1002);
  bystander_ok (ctx, a);
  hd_ws_context_free (ctx);
}

/* A judge of the test hearing, joined; returns the client. */
static HdWsClient *
judge_joined (HdWsContext *ctx)
{
  g_autofree char *tj = issue (hid, "judge", "Judge Wang", NULL);
  HdWsClient *a = ws_open (ctx, "/ws", "hearing.v1");
  json_t *w = ws_join (ctx, a, tj, hid);
  g_assert_nonnull (w);
  g_assert_cmpstr (json_string_value (json_object_get (w, "type")), ==, "welcome");
  json_decref (w);
  return a;
}

static void
test_ws_token_refusals (void)
{
  HdWsContext *ctx = hd_ws_context_new (TRUE);
  HdWsClient *a = judge_joined (ctx);

  gint64 now = hd_time_now ();
  const char *ed = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
  g_autofree char *good_claims_other_key = forge (ed, "party", hid, now, now + 600, TRUE);
  g_autofree char *none = NULL;
  {
    g_autofree char *t = forge (ed, "party", hid, now, now + 600, FALSE);
    g_auto (GStrv) parts = g_strsplit (t, ".", 3);
    g_autofree char *h = hd_b64url_encode ((const guint8 *)"{\"alg\":\"none\"}", 14);
    none = g_strdup_printf ("%s.%s.%s", h, parts[1], parts[2]);
  }
  g_autofree char *hs = hs256_with_public_key ();
  g_autofree char *expired = forge (ed, "party", hid, now - 7200, now - 3600, FALSE);
  g_autofree char *early = forge (ed, "party", hid, now + 3600, now + 7200, FALSE);
  g_autofree char *bailiff = forge (ed, "bailiff", hid, now, now + 600, FALSE);
  g_autofree char *for2 = issue (hid2, "party", "Other", NULL);
  g_autofree char *jti = NULL;
  g_autofree char *revoked = issue (hid, "witness", "Witness", &jti);
  g_autofree char *rpath = g_strdup_printf ("/api/v1/tokens/%s", jti);
  json_decref (rest ("DELETE", rpath, op_token, NULL, 200));

  static const char *codes[]
      = { "token_malformed", "token_bad_alg",       "token_bad_alg",      "token_bad_signature",
          "token_expired",   "token_not_yet_valid", "token_unknown_role", "token_wrong_hearing",
          "token_revoked",   "hearing_not_open" };
  const char *tokens[] = { "abc.def", none,    hs,  good_claims_other_key, expired, early, bailiff,
                           for2,      revoked, for2 };
  const char *hearings[] = { NULL, NULL, NULL, NULL, NULL, NULL, NULL, hid, NULL, NULL };
  /* A refused join leaves the connection open for another try (two tries per connection
   * here, so the 2 s join deadline of this test daemon never interferes on a slow machine). */
  HdWsClient *y = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (codes); i++) {
    if (i % 2 == 0)
      y = ws_open (ctx, "/ws", "hearing.v1");
    json_t *e = ws_join (ctx, y, tokens[i], hearings[i]);
    g_assert_nonnull (e);
    g_assert_cmpstr (json_string_value (json_object_get (e, "type")), ==, "error");
    g_assert_cmpstr (json_string_value (json_object_get (e, "code")), ==, codes[i]);
    g_assert_cmpstr (json_string_value (json_object_get (e, "ref")), ==, "j1");
    json_decref (e);
    bystander_ok (ctx, a);
  }

  /* revoking a token cuts its live session off, and the others see the roster shrink */
  g_autofree char *jti2 = NULL;
  g_autofree char *tw = issue (hid, "witness", "Witness Sun", &jti2);
  y = ws_open (ctx, "/ws", "hearing.v1");
  json_t *w = ws_join (ctx, y, tw, NULL);
  g_assert_cmpstr (json_string_value (json_object_get (w, "type")), ==, "welcome");
  json_decref (w);
  json_t *r = expect_roster (ctx, a, 2);
  json_decref (r);
  g_autofree char *rpath2 = g_strdup_printf ("/api/v1/tokens/%s", jti2);
  json_decref (rest ("DELETE", rpath2, op_token, NULL, 200));
  g_assert_true (hd_ws_wait_closed (ctx, y, WAIT));
  g_assert_cmpint (hd_ws_close_code (y), ==, 1008);
  r = expect_roster (ctx, a, 1);
  json_decref (r);
  bystander_ok (ctx, a);

  /* the API reports who is connected */
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s", hid);
  json_t *h = rest ("GET", path, op_token, NULL, 200);
  g_assert_cmpint (json_integer_value (json_object_get (h, "participants_connected")), ==, 1);
  json_decref (h);
  hd_ws_context_free (ctx);
}

static char *
answer_json (const char *corpus_file)
{
  g_autofree char *path = g_build_filename (g_getenv ("HD_SOURCE_ROOT"), "tests", "fuzz", "corpus",
                                            "sdp", corpus_file, NULL);
  g_autofree char *sdp = NULL;
  g_assert_true (g_file_get_contents (path, &sdp, NULL, NULL));
  json_t *j = json_pack ("{s:s, s:s, s:s}", "type", "answer", "id", corpus_file, "sdp", sdp);
  char *t = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  char *g = g_strdup (t);
  free (t);
  return g;
}

static void
test_ws_mute_and_sdp (void)
{
  HdWsContext *ctx = hd_ws_context_new (TRUE);
  g_autofree char *tj = issue (hid, "judge", "Judge Wang", NULL);
  g_autofree char *tp = issue (hid, "party", "Zhang San", NULL);
  HdWsClient *a = ws_open (ctx, "/ws", "hearing.v1");
  json_t *w = ws_join (ctx, a, tj, hid);
  g_assert_cmpstr (json_string_value (json_object_get (w, "type")), ==, "welcome");
  g_assert_true (json_is_array (json_object_get (w, "ice_servers")));
  json_decref (w);
  HdWsClient *b = ws_open (ctx, "/ws", "hearing.v1");
  g_assert_true (hd_ws_wait_open (ctx, b, WAIT));
  hd_ws_send_text (b, "{\"type\":\"mute\",\"id\":\"m0\",\"audio\":true}");
  expect_error (ctx, b, "not_joined", "m0");
  w = ws_join (ctx, b, tp, NULL);
  g_assert_cmpstr (json_string_value (json_object_get (w, "type")), ==, "welcome");
  json_decref (w);
  json_decref (expect_roster (ctx, a, 2));

  /* the roster tells everyone who is muted */
  hd_ws_send_text (b, "{\"type\":\"mute\",\"audio\":true}");
  json_t *r = expect_roster (ctx, a, 2);
  json_t *p = json_array_get (json_object_get (r, "participants"), 1);
  g_assert_true (json_is_true (json_object_get (p, "audio_muted")));
  g_assert_true (json_is_false (json_object_get (p, "video_muted")));
  json_decref (r);
  hd_ws_send_text (b, "{\"type\":\"mute\",\"audio\":false,\"video\":true}");
  r = expect_roster (ctx, a, 2);
  p = json_array_get (json_object_get (r, "participants"), 1);
  g_assert_true (json_is_false (json_object_get (p, "audio_muted")));
  g_assert_true (json_is_true (json_object_get (p, "video_muted")));
  json_decref (r);

  /* SDP: DTLS-SRTP only; each refusal has its code, and the session goes on */
  static const char *cases[][2] = { { "crypto", "sdp_crypto_forbidden" },
                                    { "nofp", "sdp_no_fingerprint" },
                                    { "avpf", "sdp_insecure_profile" },
                                    { "answer", "media_unavailable" } };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *m = answer_json (cases[i][0]);
    hd_ws_send_text (b, m);
    expect_error (ctx, b, cases[i][1], cases[i][0]);
  }
  hd_ws_send_text (b, "{\"type\":\"answer\",\"id\":\"x\",\"sdp\":\"hello\"}");
  expect_error (ctx, b, "sdp_invalid", "x");
  hd_ws_send_text (b,
                   "{\"type\":\"candidate\",\"id\":\"c\",\"candidate\":\"\",\"sdpMLineIndex\":0}");
  expect_error (ctx, b, "media_unavailable", "c");
  /* a party escalating over the raw WebSocket: every judge's and clerk's control refused,
   * named by the id it came with; nothing changes for anyone */
  static const char *escalations[][2] = {
    { "{\"type\":\"admit\",\"id\":\"e1\",\"participant\":\"p-x\"}", "e1" },
    { "{\"type\":\"deny\",\"id\":\"e2\",\"participant\":\"p-x\",\"reason\":\"r\"}", "e2" },
    { "{\"type\":\"remove\",\"id\":\"e3\",\"participant\":\"p-x\"}", "e3" },
    { "{\"type\":\"hearing_state\",\"id\":\"e4\",\"state\":\"closed\"}", "e4" },
    { "{\"type\":\"recording\",\"id\":\"e5\",\"action\":\"pause\",\"reason\":\"r\"}", "e5" },
    { "{\"type\":\"layout\",\"id\":\"e6\",\"mode\":\"speaker\"}", "e6" },
    { "{\"type\":\"note\",\"id\":\"e7\",\"text\":\"mine\"}", "e7" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (escalations); i++) {
    hd_ws_send_text (b, escalations[i][0]);
    expect_error (ctx, b, "forbidden", escalations[i][1]);
  }
  /* muting the judge: the judge's id, from the roster */
  g_autofree char *mute_judge = NULL;
  {
    hd_ws_send_text (a, "{\"type\":\"mute\",\"video\":false}");
    json_t *rr = expect_roster (ctx, b, 2);
    const char *jid = json_string_value (
        json_object_get (json_array_get (json_object_get (rr, "participants"), 0), "id"));
    mute_judge = g_strdup_printf (
        "{\"type\":\"mute\",\"id\":\"e8\",\"participant\":\"%s\",\"audio\":true}", jid);
    json_decref (rr);
  }
  hd_ws_send_text (b, mute_judge);
  expect_error (ctx, b, "forbidden", "e8");
  bystander_ok (ctx, a);
  bystander_ok (ctx, b);
  hd_ws_context_free (ctx);
}

static void
test_hearingctl (void)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *url = daemon_->base_url;
  const char *const create[] = { "--url",
                                 url,
                                 "--token",
                                 op_token,
                                 "--json",
                                 "hearing",
                                 "create",
                                 "--case-number",
                                 "(2026)浙0109民初77号",
                                 "--title",
                                 "Circuit trial",
                                 "--court",
                                 "Xiaoshan",
                                 "--start",
                                 "2026-12-03T14:00:00+08:00",
                                 NULL };
  g_assert_cmpint (hd_test_ctl (&out, &err, create), ==, 0);
  json_t *j = json_loads (out, 0, NULL);
  g_assert_nonnull (j);
  g_autofree char *id = g_strdup (json_string_value (json_object_get (j, "id")));
  json_decref (j);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  const char *const open[] = { "--url", url, "--token", op_token, "hearing", "open", id, NULL };
  g_assert_cmpint (hd_test_ctl (&out, &err, open), ==, 0);
  g_assert_nonnull (strstr (out, "open"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  const char *const list[] = { "--url",   url,    "--token",       op_token,
                               "hearing", "list", "--case-number", "(2026)浙0109民初77号",
                               NULL };
  g_assert_cmpint (hd_test_ctl (&out, &err, list), ==, 0);
  g_assert_nonnull (strstr (out, id));
  g_assert_nonnull (strstr (out, "Circuit trial"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  const char *const tok[]
      = { "--url", url,      "--token",     op_token, "--json",         "token", "--hearing",
          id,      "--role", "interpreter", "--name", "Interpreter Ma", NULL };
  g_assert_cmpint (hd_test_ctl (&out, &err, tok), ==, 0);
  j = json_loads (out, 0, NULL);
  g_assert_cmpstr (json_string_value (json_object_get (j, "role")), ==, "interpreter");
  g_autofree char *jti = g_strdup (json_string_value (json_object_get (j, "jti")));
  json_decref (j);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* a token minted locally with the state dir is accepted by the running daemon */
  const char *const ltok[] = { "--state-dir", state_dir, "--json", "token", "--hearing", id,
                               "--role",      "party",   "--name", "Local", NULL };
  g_assert_cmpint (hd_test_ctl (&out, &err, ltok), ==, 0);
  j = json_loads (out, 0, NULL);
  HdWsContext *ctx = hd_ws_context_new (TRUE);
  HdWsClient *c = ws_open (ctx, "/ws", "hearing.v1");
  json_t *w = ws_join (ctx, c, json_string_value (json_object_get (j, "token")), NULL);
  g_assert_cmpstr (json_string_value (json_object_get (w, "type")), ==, "welcome");
  json_decref (w);
  json_decref (j);
  hd_ws_context_free (ctx);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  const char *const rev[] = { "--url", url, "--token", op_token, "revoke", jti, NULL };
  g_assert_cmpint (hd_test_ctl (&out, &err, rev), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  const char *const close[] = { "--url", url, "--token", op_token, "hearing", "close", id, NULL };
  g_assert_cmpint (hd_test_ctl (&out, &err, close), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* errors: one line, non-zero */
  g_assert_cmpint (hd_test_ctl (&out, &err, open), ==, 1);
  g_assert_true (g_str_has_prefix (err, "hearingctl: error: HTTP 409 hearing_closed: hearing "));
  g_assert_true (strchr (err, '\n') == err + strlen (err) - 1);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *const bogus[] = { "--url", url, "--token", op_token, "dance", NULL };
  g_assert_cmpint (hd_test_ctl (&out, &err, bogus), ==, 2);
  g_assert_cmpstr (err, ==, "hearingctl: error: unknown command 'dance' (try --help)\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
}

static void
test_audit_verify (void)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *const av[]
      = { "--url", daemon_->base_url, "--token", op_token, "audit", "verify", NULL };
  g_assert_cmpint (hd_test_ctl (&out, &err, av), ==, 0);
  g_assert_true (g_str_has_prefix (out, "audit chain intact: "));
  json_t *j = rest ("GET", "/api/v1/audit/verify", op_token, NULL, 200);
  g_assert_true (json_is_true (json_object_get (j, "ok")));
  /* joins, leaves, refusals, tokens, hearing changes: dozens of rows by now */
  g_assert_cmpint (json_integer_value (json_object_get (j, "rows")), >, 40);
  json_decref (j);
}

static void
test_shutdown_and_restart (void)
{
  HdWsContext *ctx = hd_ws_context_new (TRUE);
  HdWsClient *a = judge_joined (ctx);
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s", hid);
  json_decref (rest ("PATCH", path, op_token, "{\"state\":\"in_session\"}", 200));

  /* a second daemon on the same port: a clear one-line error, exit 1 */
  g_autofree char *other = g_build_filename (tmp_root, "other", NULL);
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%d", daemon_->port);
  const char *bin = g_getenv ("HD_HEARINGD");
  const char *argv[] = { bin, "--state-dir", other, "--listen", listen, "--plain-http", NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, NULL));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_autofree char *expect
      = g_strdup_printf ("hearingd: error: cannot listen on %s: Address already in use\n", listen);
  g_assert_true (g_str_has_suffix (err, expect));

  /* SIGTERM: the session is told, closed with 1001, the daemon exits 0 */
  g_subprocess_send_signal (daemon_->proc, SIGTERM);
  json_t *bye = hd_test_ws_expect (ctx, a, "bye", WAIT);
  g_assert_nonnull (bye);
  json_decref (bye);
  g_assert_true (hd_ws_wait_closed (ctx, a, WAIT));
  g_assert_cmpint (hd_ws_close_code (a), ==, 1001);
  g_assert_cmpint (hd_test_daemon_stop (daemon_), ==, 0);
  hd_test_daemon_free (daemon_);
  hd_ws_context_free (ctx);

  /* restarted on the same state dir: the hearing and its state are there */
  daemon_ = hd_test_daemon_start (state_dir, FALSE, NULL, daemon_env);
  g_assert_nonnull (daemon_);
  json_t *h = rest ("GET", path, op_token, NULL, 200);
  g_assert_cmpstr (json_string_value (json_object_get (h, "state")), ==, "in_session");
  json_decref (h);
}

static void
expect_start_failure (const char *const *args, const char *const *env, const char *fragment)
{
  const char *bin = g_getenv ("HD_HEARINGD");
  GPtrArray *a = g_ptr_array_new ();
  g_ptr_array_add (a, (gpointer)bin);
  for (const char *const *p = args; *p; p++)
    g_ptr_array_add (a, (gpointer)*p);
  g_ptr_array_add (a, NULL);
  g_auto (GStrv) envp = g_get_environ ();
  for (const char *const *e = env; e && *e; e++) {
    g_auto (GStrv) kv = g_strsplit (*e, "=", 2);
    envp = g_environ_setenv (envp, kv[0], kv[1], TRUE);
  }
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **)a->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               &err, &status, NULL));
  g_ptr_array_unref (a);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  if (!strstr (err, fragment))
    g_error ("stderr '%s' lacks '%s'", err, fragment);
  /* one line */
  g_assert_cmpint (strchr (err, '\n') - err, ==, (int)strlen (err) - 1);
}

static void
test_startup_errors (void)
{
  g_autofree char *dir = g_build_filename (tmp_root, "bad", NULL);
  g_mkdir (dir, 0700);
  const char *const a1[] = { "--state-dir", dir, "--listen", "127.0.0.1:0", NULL };
  const char *const e1[] = { "HEARINGD_LIMITS_RATE_BURST=lots", NULL };
  expect_start_failure (a1, e1,
                        "hearingd: error: config: environment HEARINGD_LIMITS_RATE_BURST: "
                        "[limits] rate_burst = 'lots': must be an integer from 1 to 100000");
  g_autofree char *conf = g_build_filename (dir, "x.conf", NULL);
  g_file_set_contents (conf, "[server]\nlisten = 127.0.0.1:99999\n", -1, NULL);
  const char *const a2[] = { "--state-dir", dir, "--config", conf, NULL };
  g_autofree char *f2
      = g_strdup_printf ("%s: [server] listen = '127.0.0.1:99999': port must be", conf);
  expect_start_failure (a2, NULL, f2);
  const char *const a3[] = { "--state-dir", dir, "--listen", "0.0.0.0:0", "--plain-http", NULL };
  expect_start_failure (a3, NULL, "plain HTTP is allowed only on a loopback address");
  const char *const a4[] = { "--state-dir", conf, "--listen", "127.0.0.1:0", NULL };
  expect_start_failure (a4, NULL, "cannot be created");
  g_autofree char *key = g_build_filename (dir, "signing-key.pem", NULL);
  g_file_set_contents (key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", -1,
                       NULL);
  const char *const a5[] = { "--state-dir", dir, "--listen", "127.0.0.1:0", "--plain-http", NULL };
  expect_start_failure (a5, NULL, "is not a PEM Ed25519 private key");
  const char *const a6[] = { "--state-dir", dir, "--nonsense", NULL };
  expect_start_failure (a6, NULL, "Unknown option --nonsense");
  g_autofree char *dir7 = g_build_filename (tmp_root, "bad-iface", NULL);
  const char *const a7[] = { "--state-dir", dir7, "--listen", "127.0.0.1:0", "--plain-http", NULL };
  const char *const e7[] = { "HEARINGD_ICE_INTERFACES=lo,nosuch0", NULL };
  expect_start_failure (a7, e7, "[ice] interfaces: no interface \"nosuch0\" with an IPv4 address");
}

static void
test_tls (void)
{
  g_autofree char *dir = g_build_filename (tmp_root, "tls", NULL);
  HdTestDaemon *saved = daemon_;
  daemon_ = hd_test_daemon_start (dir, TRUE, NULL, daemon_env);
  g_assert_nonnull (daemon_);
  /* verified against the certificate it made: SAN 127.0.0.1 */
  json_t *j = rest ("GET", "/healthz", NULL, NULL, 200);
  json_decref (j);
  g_autofree char *index = NULL;
  HdHttpOptions o = { .ca_file = NULL, .insecure = TRUE };
  int status = 0;
  g_autofree char *url = g_strdup_printf ("%s/", daemon_->base_url);
  g_assert_true (hd_http_fetch (url, "GET", NULL, NULL, &o, &status, &index, NULL));
  g_assert_cmpint (status, ==, 200);
  g_assert_nonnull (strstr (index, "<html") ? index : strstr (index, "<!doctype"));
  /* wss: connects; no join within the deadline would close it, so just ping */
  HdWsContext *ctx = hd_ws_context_new (TRUE);
  HdWsClient *c = ws_open (ctx, "/ws", "hearing.v1");
  g_assert_true (hd_ws_wait_open (ctx, c, WAIT));
  hd_ws_send_text (c, "{\"type\":\"ping\",\"id\":1}");
  json_t *p = hd_test_ws_expect (ctx, c, "pong", WAIT);
  g_assert_nonnull (p);
  json_decref (p);
  hd_ws_context_free (ctx);
  g_assert_cmpint (hd_test_daemon_stop (daemon_), ==, 0);
  hd_test_daemon_free (daemon_);
  daemon_ = saved;
}

static void
test_tamper_detected (void)
{
  g_assert_cmpint (hd_test_daemon_stop (daemon_), ==, 0);
  g_autofree char *db = g_build_filename (state_dir, "hearingd.db", NULL);
  g_autoptr (HdStore) s = hd_store_open (db, NULL);
  g_assert_true (hd_store_exec (s, "UPDATE audit SET actor = 'nobody' WHERE seq = 5", NULL));
  g_autofree char *out = NULL, *err = NULL;
  const char *const av[] = { "--state-dir", state_dir, "audit", "verify", NULL };
  g_assert_cmpint (hd_test_ctl (&out, &err, av), ==, 3);
  g_assert_true (g_str_has_prefix (out, "audit chain BROKEN at row 5: "));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  hd_client_quiet ();
  tmp_root = g_dir_make_tmp ("hd-int-XXXXXX", NULL);
  state_dir = g_build_filename (tmp_root, "state", NULL);
  daemon_ = hd_test_daemon_start (state_dir, FALSE, NULL, daemon_env);
  g_assert_nonnull (daemon_);
  const char *const mint[] = { "--state-dir", state_dir, "operator-token", NULL };
  g_assert_cmpint (hd_test_ctl (&op_token, NULL, mint), ==, 0);
  g_strstrip (op_token);

  g_test_add_func ("/daemon/rest", test_rest);
  g_test_add_func ("/daemon/authorization-matrix", test_authorization_matrix);
  g_test_add_func ("/daemon/idle-connections", test_idle_connections);
  g_test_add_func ("/daemon/ws-join-and-bad-input", test_ws_join_and_bad_input);
  g_test_add_func ("/daemon/ws-token-refusals", test_ws_token_refusals);
  g_test_add_func ("/daemon/ws-mute-and-sdp", test_ws_mute_and_sdp);
  g_test_add_func ("/daemon/hearingctl", test_hearingctl);
  g_test_add_func ("/daemon/audit-verify", test_audit_verify);
  g_test_add_func ("/daemon/shutdown-and-restart", test_shutdown_and_restart);
  g_test_add_func ("/daemon/startup-errors", test_startup_errors);
  g_test_add_func ("/daemon/tls", test_tls);
  g_test_add_func ("/daemon/tamper-detected", test_tamper_detected);
  int rc = g_test_run ();
  if (daemon_ && daemon_->proc && g_subprocess_get_identifier (daemon_->proc))
    hd_test_daemon_stop (daemon_);
  g_autofree char *log = daemon_ ? hd_test_daemon_log (daemon_) : NULL;
  if (rc != 0 && log)
    g_printerr ("# daemon log:\n%s\n", log);
  hd_test_daemon_free (daemon_);
  g_free (op_token);
  g_free (hid);
  g_free (hid2);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp_root);
  if (system (cmd) != 0)
    g_printerr ("# could not remove %s\n", tmp_root);
  g_free (state_dir);
  g_free (tmp_root);
  return rc;
}
