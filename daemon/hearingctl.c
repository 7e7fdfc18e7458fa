/* hearingctl.c — hearingd's command-line companion. With --state-dir it works on the daemon's
 * files directly (mint tokens with the signing key, verify the audit chain); with --url and
 * --token (or HEARINGD_URL, HEARINGD_TOKEN) it talks to the REST API. Human-readable output, or
 * the API's JSON with --json. Errors: one line on stderr, exit status 1 (usage 2). */
#define G_LOG_DOMAIN "hd-ctl"

#include "config/config.h"
#include "daemon/archive.h"
#include "daemon/audit.h"
#include "daemon/auth.h"
#include "daemon/hearing.h"
#include "daemon/store.h"
#include "daemon/util.h"
#include "signaling/client.h"

#include <jansson.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char *opt_state_dir, *opt_url, *opt_token, *opt_config, *opt_cacert, *opt_public_key;
static gboolean opt_json, opt_insecure;
static char *opt_hearing, *opt_role, *opt_name, *opt_case, *opt_title, *opt_court, *opt_start,
    *opt_visibility, *opt_state, *opt_participant, *opt_track, *opt_output, *opt_assisted_by;
static gint64 opt_ttl;

static G_GNUC_NORETURN void fail (int status, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
fail (int status, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "hearingctl: error: ");
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  fflush (NULL);
  /* Fatal: skip atexit work (a leak check of what start-up had built is noise). */
  _exit (status);
}

/* ---------------------------------------------------------------- REST */

/* One request; the body as it came (*len bytes) and the status. Fails on no answer. */
static char *
rest_raw (const char *method, const char *path, const char *text, int timeout_ms, int *status,
          gsize *len)
{
  const char *url = opt_url ? opt_url : g_getenv ("HEARINGD_URL");
  const char *token = opt_token ? opt_token : g_getenv ("HEARINGD_TOKEN");
  if (!url)
    fail (2, "no daemon to talk to: give --url URL (or HEARINGD_URL), or --state-dir DIR");
  if (!token)
    fail (2, "the REST API needs --token TOKEN (or HEARINGD_TOKEN); "
             "`hearingctl --state-dir DIR operator-token` mints one");
  g_autofree char *base = g_strdup (url);
  while (g_str_has_suffix (base, "/"))
    base[strlen (base) - 1] = '\0';
  g_autofree char *full = g_strdup_printf ("%s%s", base, path);
  HdHttpOptions ho = {
    .ca_file = opt_cacert, .insecure = opt_insecure, .timeout_ms = timeout_ms, .response_len = len
  };
  char *resp = NULL;
  g_autoptr (GError) e = NULL;
  if (!hd_http_fetch (full, method, token, text, &ho, status, &resp, &e))
    fail (1, "%s", e->message);
  return resp;
}

/* An error answer's code and reason, on stderr; exit 1. */
static G_GNUC_NORETURN void
fail_http (int status, const char *resp)
{
  json_t *j = json_loads (resp, 0, NULL);
  const char *code = j ? json_string_value (json_object_get (j, "error")) : NULL;
  const char *reason = j ? json_string_value (json_object_get (j, "reason")) : NULL;
  json_t *problems = j ? json_object_get (j, "problems") : NULL;
  for (size_t i = 0; i < json_array_size (problems); i++)
    fprintf (stderr, "  %s\n", json_string_value (json_array_get (problems, i)));
  fail (1, "HTTP %d %s: %s", status, code ? code : "error", reason ? reason : resp);
}

static json_t *
rest (const char *method, const char *path, json_t *body /* stolen, may be NULL */)
{
  char *text = body ? json_dumps (body, JSON_COMPACT) : NULL;
  json_decref (body);
  int status = 0;
  g_autofree char *resp = rest_raw (method, path, text, 0, &status, NULL);
  free (text);
  if (status < 200 || status > 299)
    fail_http (status, resp);
  json_t *j = json_loads (resp, 0, NULL);
  if (!j)
    fail (1, "the daemon answered HTTP %d with something that is not JSON", status);
  return j;
}

/* ---------------------------------------------------------------- local (state dir) */

typedef struct {
  HdConfig *cfg;
  HdStore *store;
  HdSigner *signer;
  HdCore *core;
} Local;

static void
noop_send (gpointer conn, char *text, gpointer user)
{
  free (text);
}

static void
noop_send_latest (gpointer conn, const char *kind, char *text, gpointer user)
{
  free (text);
}

static void
noop_close (gpointer conn, int code, const char *reason, gpointer user)
{
}

static void
noop_joined (gpointer conn, gpointer user)
{
}

static Local *
local_open (void)
{
  Local *l = g_new0 (Local, 1);
  g_autoptr (GError) e = NULL;
  l->cfg = hd_config_new_defaults ();
  if ((opt_config && !hd_config_load_file (l->cfg, opt_config, &e))
      || !hd_config_load_env (l->cfg, NULL, &e))
    fail (1, "config: %s", e->message);
  g_autofree char *key = g_build_filename (opt_state_dir, "signing-key.pem", NULL);
  g_autofree char *db = g_build_filename (opt_state_dir, "hearingd.db", NULL);
  if (!g_file_test (db, G_FILE_TEST_EXISTS))
    fail (1, "%s has no hearingd.db: is it the daemon's --state-dir?", opt_state_dir);
  l->signer = hd_signer_load (key, FALSE, &e);
  if (!l->signer)
    fail (1, "%s", e->message);
  l->store = hd_store_open (db, &e);
  if (!l->store)
    fail (1, "%s", e->message);
  static const HdCoreIO io = {
    .send = noop_send, .send_latest = noop_send_latest, .close = noop_close, .joined = noop_joined
  };
  l->core = hd_core_new (l->store, l->signer, l->cfg, &io, NULL);
  const char *url = opt_url ? opt_url : g_getenv ("HEARINGD_URL");
  if (url)
    hd_core_set_base_url (l->core, url);
  return l;
}

static void
local_close (Local *l)
{
  hd_core_free (l->core);
  hd_store_close (l->store);
  hd_signer_free (l->signer);
  hd_config_free (l->cfg);
  g_free (l);
}

/* ---------------------------------------------------------------- output */

static void
print_json (json_t *j)
{
  char *s = json_dumps (j, JSON_INDENT (2));
  puts (s);
  free (s);
}

static const char *
str (json_t *o, const char *k)
{
  const char *s = json_string_value (json_object_get (o, k));
  return s ? s : "";
}

static void
print_hearing (json_t *h)
{
  printf ("%s  %-10s  %s  %s\n    %s — %s\n", str (h, "id"), str (h, "state"),
          str (h, "scheduled_start"), str (h, "visibility"), str (h, "case_number"),
          str (h, "title"));
}

static void
print_token (json_t *t)
{
  printf ("token for %s (%s), participant %s, hearing %s\n  expires: %s\n  jti:     %s\n"
          "  join:    %s\n  token:   %s\n",
          str (t, "name"), str (t, "role"), str (t, "participant_id"), str (t, "hearing_id"),
          str (t, "expires_at"), str (t, "jti"), str (t, "join_url"), str (t, "token"));
}

static void
output (json_t *j, void (*human) (json_t *))
{
  if (opt_json)
    print_json (j);
  else
    human (j);
  json_decref (j);
}

/* ---------------------------------------------------------------- commands */

static void
need (const char *value, const char *flag)
{
  if (!value)
    fail (2, "this command needs %s", flag);
}

static json_t *
token_local (void)
{
  need (opt_hearing, "--hearing ID");
  need (opt_role, "--role ROLE");
  need (opt_name, "--name NAME");
  HdRole role = hd_role_parse (opt_role);
  if (role == HD_ROLE_INVALID)
    fail (2,
          "--role %s is not a court role (judge, clerk, party, counsel, witness, interpreter,"
          " observer, operator, archivist)",
          opt_role);
  Local *l = local_open ();
  g_autoptr (GError) e = NULL;
  g_autoptr (HdHearingRow) row = hd_store_hearing_get (l->store, opt_hearing, &e);
  if (!row)
    fail (1, "%s", e->message);
  json_t *t = hd_core_token_issue (l->core, row, role, opt_name, opt_participant, opt_assisted_by,
                                   opt_ttl, "hearingctl", &e);
  if (!t)
    fail (1, "%s", e->message);
  local_close (l);
  return t;
}

static void
cmd_operator_token (void)
{
  need (opt_state_dir, "--state-dir DIR");
  Local *l = local_open ();
  gint64 now = hd_time_now ();
  g_autofree char *sub = hd_random_id ("op-", 4);
  g_autofree char *jti = hd_random_id ("t-", 12);
  HdClaims c = { .iss = l->cfg->issuer,
                 .sub = sub,
                 .name = opt_name ? opt_name : "operator",
                 .hid = HD_AUTH_ANY_HEARING,
                 .role = HD_ROLE_OPERATOR,
                 .iat = now,
                 .nbf = now,
                 .exp = now + (opt_ttl ? opt_ttl : l->cfg->operator_token_ttl_seconds),
                 .jti = jti };
  g_autofree char *token = hd_token_sign (l->signer, &c);
  HdTokenRecord rec = { jti, HD_AUTH_ANY_HEARING, sub, c.name, "operator", c.iat, c.exp };
  g_autoptr (GError) e = NULL;
  if (!hd_store_token_add (l->store, &rec, &e))
    fail (1, "%s", e->message);
  hd_core_audit (
      l->core, "hearingctl", "token.issue", NULL,
      json_pack ("{s:s, s:s, s:I}", "jti", jti, "role", "operator", "exp", (json_int_t)c.exp));
  if (opt_json) {
    json_t *j = json_pack ("{s:s, s:s, s:I}", "token", token, "jti", jti, "exp", (json_int_t)c.exp);
    print_json (j);
    json_decref (j);
  } else {
    puts (token);
  }
  local_close (l);
}

static void
cmd_audit_verify (void)
{
  json_t *j;
  if (opt_state_dir && !opt_url && !g_getenv ("HEARINGD_URL")) {
    Local *l = local_open ();
    HdAuditVerdict v;
    g_autoptr (GError) e = NULL;
    if (!hd_audit_verify (l->store, &v, &e))
      fail (1, "%s", e->message);
    j = json_pack ("{s:b, s:I, s:s}", "ok", v.ok, "rows", (json_int_t)v.rows, "head_hash",
                   v.head_hash);
    if (!v.ok) {
      json_object_set_new (j, "first_bad_seq", json_integer (v.first_bad_seq));
      json_object_set_new (j, "problem", json_string (v.problem));
    }
    local_close (l);
  } else {
    j = rest ("GET", "/api/v1/audit/verify", NULL);
  }
  gboolean ok = json_is_true (json_object_get (j, "ok"));
  if (opt_json)
    print_json (j);
  else if (ok)
    printf ("audit chain intact: %" JSON_INTEGER_FORMAT " rows, head %s\n",
            json_integer_value (json_object_get (j, "rows")), str (j, "head_hash"));
  else
    printf ("audit chain BROKEN at row %" JSON_INTEGER_FORMAT ": %s\n",
            json_integer_value (json_object_get (j, "first_bad_seq")), str (j, "problem"));
  json_decref (j);
  if (!ok)
    exit (3);
}

/* `verify FOLDER --public-key PEM`: offline, from the recording's folder and the published key
 * alone. Exit 3 when anything is wrong, each problem on its own line. */
static void
print_verdict (json_t *j)
{
  if (opt_json) {
    print_json (j);
    return;
  }
  json_t *problems = json_object_get (j, "problems");
  if (json_is_true (json_object_get (j, "ok")))
    printf ("recording intact: %" JSON_INTEGER_FORMAT " segments, manifest %s\n",
            json_integer_value (json_object_get (j, "segments")),
            json_is_true (json_object_get (j, "signed")) ? "signed"
                                                         : "not yet signed (still recording)");
  else
    printf ("recording NOT intact: %zu problems\n", json_array_size (problems));
  for (size_t i = 0; i < json_array_size (problems); i++)
    printf ("  %s\n", json_string_value (json_array_get (problems, i)));
}

static void
cmd_verify_folder (const char *dir)
{
  g_autofree char *pub = NULL;
  g_autoptr (GError) e = NULL;
  if (!opt_public_key)
    fail (2, "verify FOLDER needs --public-key FILE (the daemon's state-dir/public-key.pem, or "
             "GET /api/v1/public-key)");
  if (!g_file_get_contents (opt_public_key, &pub, NULL, &e))
    fail (1, "%s", e->message);
  HdArchiveVerdict v;
  if (!hd_archive_verify (dir, pub, &v, &e))
    fail (1, "%s", e->message);
  json_t *problems = json_array ();
  for (guint i = 0; i < v.problems->len; i++)
    json_array_append_new (problems, json_string (v.problems->pdata[i]));
  json_t *j = json_pack ("{s:b, s:b, s:i, s:o}", "ok", v.ok, "signed", v.signed_, "segments",
                         (int)v.segments, "problems", problems);
  gboolean ok = v.ok;
  hd_archive_verdict_clear (&v);
  print_verdict (j);
  json_decref (j);
  if (!ok)
    exit (3);
}

/* `recordings list|show|verify` over REST (archivist token). */
static void
cmd_recordings (int argc, char **argv)
{
  if (argc < 1)
    fail (2, "recordings list|show ID|verify ID");
  const char *sub = argv[0];
  if (g_str_equal (sub, "list")) {
    GString *q = g_string_new ("/api/v1/recordings?");
    if (opt_case) {
      g_autofree char *v = g_uri_escape_string (opt_case, NULL, FALSE);
      g_string_append_printf (q, "case_number=%s&", v);
    }
    if (opt_state) /* --state filters the recording's status here */
      g_string_append_printf (q, "status=%s&", opt_state);
    if (opt_name) {
      g_autofree char *v = g_uri_escape_string (opt_name, NULL, FALSE);
      g_string_append_printf (q, "participant=%s&", v);
    }
    json_t *j = rest ("GET", q->str, NULL);
    g_string_free (q, TRUE);
    if (opt_json)
      print_json (j);
    else {
      json_t *list = json_object_get (j, "recordings"), *r;
      size_t i;
      if (json_array_size (list) == 0)
        puts ("no recordings");
      json_array_foreach (list, i, r) printf (
          "%s  %-12s %s  %s  %" JSON_INTEGER_FORMAT " s  %" JSON_INTEGER_FORMAT " segments\n",
          str (r, "id"), str (r, "status"), str (r, "case_number"), str (r, "started_at"),
          json_integer_value (json_object_get (r, "duration_ms")) / 1000,
          json_integer_value (json_object_get (r, "segments")));
    }
    json_decref (j);
    return;
  }
  if (argc < 2 || !hd_id_valid (argv[1]))
    fail (2, "recordings %s needs a recording id", sub);
  if (g_str_equal (sub, "export")) {
    const char *track = opt_track ? opt_track : "composite";
    g_autofree char *t = g_uri_escape_string (track, NULL, FALSE);
    g_autofree char *path = g_strdup_printf ("/api/v1/recordings/%s/export?track=%s", argv[1], t);
    int status = 0;
    gsize len = 0;
    g_autofree char *body = rest_raw ("GET", path, NULL, 30 * 60 * 1000, &status, &len);
    if (status != 200)
      fail_http (status, body);
    g_autofree char *out
        = opt_output ? g_strdup (opt_output) : g_strdup_printf ("%s-%s.webm", argv[1], track);
    g_autoptr (GError) e = NULL;
    if (!g_file_set_contents (out, body, (gssize)len, &e))
      fail (1, "%s", e->message);
    g_autofree char *sha = hd_sha256_hex (body, len);
    printf ("%s: %zu bytes, SHA-256 %s\n", out, len, sha);
    return;
  }
  if (g_str_equal (sub, "show")) {
    g_autofree char *path = g_strdup_printf ("/api/v1/recordings/%s", argv[1]);
    json_t *j = rest ("GET", path, NULL);
    print_json (j);
    json_decref (j);
  } else if (g_str_equal (sub, "verify")) {
    g_autofree char *path = g_strdup_printf ("/api/v1/recordings/%s/verify", argv[1]);
    json_t *j = rest ("POST", path, NULL);
    gboolean ok = json_is_true (json_object_get (j, "ok"));
    print_verdict (j);
    json_decref (j);
    if (!ok)
      exit (3);
  } else {
    fail (2, "recordings list|show ID|verify ID|export ID");
  }
}

static void
print_list (json_t *j)
{
  json_t *list = json_object_get (j, "hearings"), *h;
  size_t i;
  if (json_array_size (list) == 0)
    puts ("no hearings");
  json_array_foreach (list, i, h) print_hearing (h);
}

static void
cmd_hearing (int argc, char **argv)
{
  if (argc < 1)
    fail (2, "hearing needs a subcommand: create, list, show, open, start, recess, resume, close");
  const char *sub = argv[0];
  if (g_str_equal (sub, "create")) {
    need (opt_case, "--case-number TEXT");
    need (opt_title, "--title TEXT");
    need (opt_court, "--court TEXT");
    need (opt_start, "--start RFC3339-TIME");
    json_t *b = json_pack ("{s:s, s:s, s:s, s:s}", "case_number", opt_case, "title", opt_title,
                           "court", opt_court, "scheduled_start", opt_start);
    if (opt_visibility)
      json_object_set_new (b, "visibility", json_string (opt_visibility));
    output (rest ("POST", "/api/v1/hearings", b), print_hearing);
    return;
  }
  if (g_str_equal (sub, "list")) {
    GString *path = g_string_new ("/api/v1/hearings");
    char sep = '?';
    if (opt_state) {
      g_autofree char *v = g_uri_escape_string (opt_state, NULL, FALSE);
      g_string_append_printf (path, "%cstate=%s", sep, v);
      sep = '&';
    }
    if (opt_case) {
      g_autofree char *v = g_uri_escape_string (opt_case, NULL, FALSE);
      g_string_append_printf (path, "%ccase_number=%s", sep, v);
    }
    output (rest ("GET", path->str, NULL), print_list);
    g_string_free (path, TRUE);
    return;
  }
  if (argc < 2)
    fail (2, "hearing %s needs a hearing id", sub);
  if (!hd_id_valid (argv[1]))
    fail (2, "'%s' is not a hearing id", argv[1]);
  g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s", argv[1]);
  if (g_str_equal (sub, "show")) {
    output (rest ("GET", path, NULL), print_hearing);
    return;
  }
  static const char *verbs[][2] = { { "open", "open" },
                                    { "start", "in_session" },
                                    { "recess", "recess" },
                                    { "resume", "in_session" },
                                    { "close", "closed" } };
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (g_str_equal (sub, verbs[i][0])) {
      output (rest ("PATCH", path, json_pack ("{s:s}", "state", verbs[i][1])), print_hearing);
      return;
    }
  fail (2, "unknown hearing subcommand '%s'", sub);
}

static const char *usage_text
    = "COMMAND\n\n"
      "Commands:\n"
      "  operator-token                     mint an operator token (needs --state-dir)\n"
      "  token --hearing ID --role ROLE --name NAME [--ttl S] [--participant ID]\n"
      "        [--assisted-by NAME]\n"
      "                                     issue a join token (REST, or locally with "
      "--state-dir)\n"
      "  revoke JTI                         revoke a token\n"
      "  hearing create --case-number C --title T --court C --start TIME [--visibility V]\n"
      "  hearing list [--state S] [--case-number C]\n"
      "  hearing show|open|start|recess|resume|close ID\n"
      "  audit verify                       check the audit hash chain (exit 3 if broken)\n"
      "  verify FOLDER --public-key FILE    check a recording folder offline (exit 3 if not "
      "intact)\n"
      "  recordings list [--case-number C] [--state STATUS] [--name PARTICIPANT]\n"
      "  recordings show|verify ID          (archivist token)\n"
      "  recordings export ID [--track composite|PARTICIPANT] [--output FILE]\n"
      "                                     one WebM of a track, its segments remuxed";

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "state-dir", 's', 0, G_OPTION_ARG_FILENAME, &opt_state_dir, "The daemon's state folder",
      "DIR" },
    { "url", 'u', 0, G_OPTION_ARG_STRING, &opt_url, "The daemon's base URL (HEARINGD_URL)", "URL" },
    { "token", 't', 0, G_OPTION_ARG_STRING, &opt_token, "Bearer token (HEARINGD_TOKEN)", "TOKEN" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config, "The daemon's config file", "FILE" },
    { "cacert", 0, 0, G_OPTION_ARG_FILENAME, &opt_cacert, "Trust this PEM certificate", "FILE" },
    { "insecure", 'k', 0, G_OPTION_ARG_NONE, &opt_insecure, "Accept any TLS certificate", NULL },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL },
    { "hearing", 0, 0, G_OPTION_ARG_STRING, &opt_hearing, "Hearing id", "ID" },
    { "role", 0, 0, G_OPTION_ARG_STRING, &opt_role, "Court role", "ROLE" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &opt_name, "Participant's name", "NAME" },
    { "participant", 0, 0, G_OPTION_ARG_STRING, &opt_participant, "Participant id", "ID" },
    { "assisted-by", 0, 0, G_OPTION_ARG_STRING, &opt_assisted_by,
      "Shared court's operator joining on the participant's behalf", "NAME" },
    { "ttl", 0, 0, G_OPTION_ARG_INT64, &opt_ttl, "Token lifetime in seconds", "S" },
    { "case-number", 0, 0, G_OPTION_ARG_STRING, &opt_case, "Case number", "TEXT" },
    { "track", 0, 0, G_OPTION_ARG_STRING, &opt_track, "Recording track to export", "TRACK" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "File to write", "FILE" },
    { "title", 0, 0, G_OPTION_ARG_STRING, &opt_title, "Hearing title", "TEXT" },
    { "court", 0, 0, G_OPTION_ARG_STRING, &opt_court, "Court", "TEXT" },
    { "start", 0, 0, G_OPTION_ARG_STRING, &opt_start, "Scheduled start (RFC 3339)", "TIME" },
    { "visibility", 0, 0, G_OPTION_ARG_STRING, &opt_visibility, "public, closed or sealed", "V" },
    { "state", 0, 0, G_OPTION_ARG_STRING, &opt_state, "Filter by state", "STATE" },
    { "public-key", 0, 0, G_OPTION_ARG_FILENAME, &opt_public_key,
      "The daemon's public key (PEM), for verify", "FILE" },
    { NULL },
  };
  setlocale (LC_ALL, "C.UTF-8");
  g_autoptr (GOptionContext) oc = g_option_context_new (usage_text);
  g_option_context_add_main_entries (oc, entries, NULL);
  g_autoptr (GError) e = NULL;
  if (!g_option_context_parse (oc, &argc, &argv, &e))
    fail (2, "%s (try --help)", e->message);
  hd_client_quiet ();
  if (argc < 2)
    fail (2, "no command (try --help)");
  const char *cmd = argv[1];
  if (g_str_equal (cmd, "operator-token"))
    cmd_operator_token ();
  else if (g_str_equal (cmd, "token")) {
    json_t *t;
    if (opt_state_dir && !opt_token && !g_getenv ("HEARINGD_TOKEN"))
      t = token_local ();
    else {
      need (opt_hearing, "--hearing ID");
      need (opt_role, "--role ROLE");
      need (opt_name, "--name NAME");
      if (!hd_id_valid (opt_hearing))
        fail (2, "'%s' is not a hearing id", opt_hearing);
      json_t *b = json_pack ("{s:s, s:s}", "role", opt_role, "name", opt_name);
      if (opt_ttl)
        json_object_set_new (b, "ttl_seconds", json_integer (opt_ttl));
      if (opt_participant)
        json_object_set_new (b, "participant_id", json_string (opt_participant));
      if (opt_assisted_by)
        json_object_set_new (b, "assisted_by", json_string (opt_assisted_by));
      g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s/tokens", opt_hearing);
      t = rest ("POST", path, b);
    }
    output (t, print_token);
  } else if (g_str_equal (cmd, "revoke")) {
    if (argc < 3 || !hd_id_valid (argv[2]))
      fail (2, "revoke needs a token's jti");
    if (opt_state_dir && !opt_token && !g_getenv ("HEARINGD_TOKEN")) {
      Local *l = local_open ();
      if (!hd_core_token_revoke (l->core, argv[2], "hearingctl", &e))
        fail (1, "%s", e->message);
      local_close (l);
      printf ("revoked %s (sessions using it are cut off when the daemon next checks)\n", argv[2]);
    } else {
      g_autofree char *path = g_strdup_printf ("/api/v1/tokens/%s", argv[2]);
      json_t *j = rest ("DELETE", path, NULL);
      if (opt_json)
        print_json (j);
      else
        printf ("revoked %s\n", argv[2]);
      json_decref (j);
    }
  } else if (g_str_equal (cmd, "hearing"))
    cmd_hearing (argc - 2, argv + 2);
  else if (g_str_equal (cmd, "audit") && argc >= 3 && g_str_equal (argv[2], "verify"))
    cmd_audit_verify ();
  else if (g_str_equal (cmd, "verify") && argc >= 3)
    cmd_verify_folder (argv[2]);
  else if (g_str_equal (cmd, "recordings"))
    cmd_recordings (argc - 2, argv + 2);
  else
    fail (2, "unknown command '%s' (try --help)", cmd);
  return 0;
}
