/* api.c — REST routes. Every route names the roles it admits; the bearer token is verified with
 * the route's hearing as the expected hid. Bodies are unpacked with JSON_STRICT. */
#define _GNU_SOURCE /* nftw */
#define G_LOG_DOMAIN "hd-api"

#include "daemon/api.h"
#include "daemon/archive.h"
#include "daemon/audit.h"
#include "daemon/util.h"

#include <fcntl.h>
#include <ftw.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  int status;
  json_t *body;
  char *file_path; /* a file download instead of JSON: these bytes of this file */
  gboolean file_open; /* … or of this file, open (file_fd, handed on to the server) */
  int file_fd;
  goffset file_offset;
  gsize file_len;
  const char *file_type;
  char *content_range; /* for 206 */
  char *disposition;   /* Content-Disposition */
} Reply;

static Reply
reply (int status, json_t *body)
{
  return (Reply){ .status = status, .body = body };
}

static int to_http (const HdHttpRequest *req, Reply r, HdHttpReply *out);

static Reply
err (int status, const char *code, const char *reason)
{
  /* Reasons may quote input cut at a byte count: keep the JSON valid. */
  g_autofree char *r = g_utf8_make_valid (reason, -1);
  return reply (status, json_pack ("{s:s, s:s}", "error", code, "reason", r));
}

static Reply
core_err (GError *e)
{
  int status = e->code == HD_CORE_ERROR_INVALID              ? 400
               : e->code == HD_CORE_ERROR_NOT_FOUND          ? 404
               : e->code == HD_CORE_ERROR_ILLEGAL_TRANSITION ? 409
               : e->code == HD_CORE_ERROR_CLOSED             ? 409
                                                             : 500;
  return err (status, hd_core_error_code (e->code), e->message);
}

typedef struct {
  HdClaims claims;
  char actor[96];
} Caller;

/* Authenticate: a bearer token valid for `hid` (NULL: any) whose role is in `roles` (bitmask of
 * 1 << HdRole). On refusal fills *out and returns FALSE. */
static gboolean
authenticate (HdApi *api, const HdHttpRequest *req, const char *hid, guint roles, Caller *who,
              Reply *out)
{
  HdCore *core = api->core;
  memset (who, 0, sizeof *who);
  who->claims.role = HD_ROLE_INVALID;
  const char *a = req->authorization;
  /* A <video> element cannot send a header: recording media (GET …/files/…, …/export) also
   * takes the token as ?access_token= (RFC 6750 §2.3). Nowhere else. */
  g_autofree char *from_query = NULL;
  const char *qt = g_hash_table_lookup (req->query, "access_token");
  if (!a && qt && *qt && g_str_equal (req->method, "GET")
      && g_str_has_prefix (req->path, "/api/v1/recordings/")
      && (strstr (req->path, "/files/") || g_str_has_suffix (req->path, "/export")))
    a = from_query = g_strdup_printf ("Bearer %s", qt);
  if (!a || g_ascii_strncasecmp (a, "Bearer ", 7) != 0 || !a[7]) {
    *out = err (401, "unauthorized", "send Authorization: Bearer <token>");
    hd_core_audit (core, "anonymous", "api.refuse", hid,
                   json_pack ("{s:s, s:s, s:s, s:s}", "code", "unauthorized", "method", req->method,
                              "path", req->path, "peer", req->peer ? req->peer : ""));
    return FALSE;
  }
  g_autoptr (GError) e = NULL;
  if (!hd_token_verify (hd_core_signer (core), a + 7, hd_core_config (core)->issuer, hid,
                        hd_time_now (), hd_core_is_revoked, hd_core_store (core), &who->claims,
                        &e)) {
    const char *code = hd_auth_error_code (e->code);
    *out = err (e->code == HD_AUTH_ERROR_WRONG_HEARING ? 403 : 401, code, e->message);
    hd_core_audit (core, "anonymous", "api.refuse", hid,
                   json_pack ("{s:s, s:s, s:s, s:s}", "code", code, "method", req->method, "path",
                              req->path, "peer", req->peer ? req->peer : ""));
    return FALSE;
  }
  g_snprintf (who->actor, sizeof who->actor, "%s:%s", hd_role_name (who->claims.role),
              who->claims.sub);
  if (!(roles & (1u << who->claims.role))) {
    g_autofree char *why = g_strdup_printf (
        "role %s may not %s %s", hd_role_name (who->claims.role), req->method, req->path);
    *out = err (403, "forbidden", why);
    hd_core_audit (core, who->actor, "api.refuse", hid,
                   json_pack ("{s:s, s:s, s:s}", "code", "forbidden", "method", req->method, "path",
                              req->path));
    hd_claims_clear (&who->claims);
    return FALSE;
  }
  return TRUE;
}

#define ROLE(r) (1u << HD_ROLE_##r)
#define ALL_HEARING_ROLES (0x1ffu)

static json_t *
parse_body (const HdHttpRequest *req, Reply *out)
{
  json_error_t je;
  if (!req->body) {
    *out = err (400, "bad_json", "a JSON object body is required");
    return NULL;
  }
  json_t *j = json_loadb (req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
  if (!j || !json_is_object (j)) {
    g_autofree char *why = g_strdup_printf ("body is not a JSON object: %s", j ? "" : je.text);
    json_decref (j);
    *out = err (400, "bad_json", why);
    return NULL;
  }
  return j;
}

static Reply
bad_fields (json_error_t *je)
{
  g_autofree char *why = g_strdup_printf ("body: %s", je->text);
  return err (400, "bad_field", why);
}

static Reply
hearings_create (HdApi *api, const HdHttpRequest *req)
{
  Reply r;
  Caller who;
  if (!authenticate (api, req, NULL, ROLE (OPERATOR), &who, &r))
    return r;
  g_autoptr (GError) e = NULL;
  g_autoptr (HdHearingRow) row = NULL;
  json_t *j = parse_body (req, &r);
  const char *cn = NULL, *title = NULL, *court = NULL, *start = NULL, *vis = NULL;
  json_error_t je;
  if (!j)
    goto out;
  if (json_unpack_ex (j, &je, JSON_STRICT, "{s:s, s:s, s:s, s:s, s?s}", "case_number", &cn, "title",
                      &title, "court", &court, "scheduled_start", &start, "visibility", &vis)
      != 0) {
    r = bad_fields (&je);
    goto out;
  }
  row = hd_core_hearing_create (api->core, cn, title, court, start, vis, who.actor, &e);
  r = row ? reply (201, hd_hearing_to_json (row)) : core_err (e);
out:
  json_decref (j);
  hd_claims_clear (&who.claims);
  return r;
}

static Reply
hearings_list (HdApi *api, const HdHttpRequest *req)
{
  Reply r;
  Caller who;
  if (!authenticate (api, req, NULL, ROLE (OPERATOR) | ROLE (ARCHIVIST), &who, &r))
    return r;
  hd_claims_clear (&who.claims);
  const char *state = g_hash_table_lookup (req->query, "state");
  const char *cn = g_hash_table_lookup (req->query, "case_number");
  if (state && !hd_hearing_state_valid (state))
    return err (400, "invalid_field",
                "state must be scheduled, open, in_session, recess or closed");
  g_autoptr (GError) e = NULL;
  g_autoptr (GPtrArray) rows = hd_store_hearing_list (hd_core_store (api->core), state, cn, &e);
  if (!rows)
    return err (500, "internal_error", e->message);
  json_t *list = json_array ();
  for (guint i = 0; i < rows->len; i++)
    json_array_append_new (list, hd_hearing_to_json (rows->pdata[i]));
  return reply (200, json_pack ("{s:o}", "hearings", list));
}

static HdHearingRow *
load_hearing (HdApi *api, const char *id, Reply *r)
{
  g_autoptr (GError) e = NULL;
  HdHearingRow *row = hd_store_hearing_get (hd_core_store (api->core), id, &e);
  if (!row)
    *r = g_error_matches (e, HD_STORE_ERROR, HD_STORE_ERROR_NOT_FOUND)
             ? err (404, "hearing_not_found", "no such hearing")
             : err (500, "internal_error", e->message);
  return row;
}

static Reply
hearing_show (HdApi *api, const HdHttpRequest *req, const char *id)
{
  Reply r;
  Caller who;
  if (!authenticate (api, req, id, ALL_HEARING_ROLES, &who, &r))
    return r;
  hd_claims_clear (&who.claims);
  g_autoptr (HdHearingRow) row = load_hearing (api, id, &r);
  if (!row)
    return r;
  json_t *j = hd_hearing_to_json (row);
  json_object_set_new (j, "participants_connected",
                       json_integer (hd_core_participant_count (api->core, id)));
  return reply (200, j);
}

static Reply
hearing_patch (HdApi *api, const HdHttpRequest *req, const char *id)
{
  Reply r;
  Caller who;
  if (!authenticate (api, req, id, ROLE (OPERATOR) | ROLE (JUDGE), &who, &r))
    return r;
  g_autoptr (HdHearingRow) row = NULL;
  g_autoptr (GError) e = NULL;
  json_t *j = parse_body (req, &r);
  const char *cn = NULL, *title = NULL, *court = NULL, *start = NULL, *vis = NULL, *state = NULL;
  json_error_t je;
  if (!j)
    goto out;
  if (json_unpack_ex (j, &je, JSON_STRICT, "{s?s, s?s, s?s, s?s, s?s, s?s}", "case_number", &cn,
                      "title", &title, "court", &court, "scheduled_start", &start, "visibility",
                      &vis, "state", &state)
      != 0) {
    r = bad_fields (&je);
    goto out;
  }
  if (who.claims.role == HD_ROLE_JUDGE && (cn || title || court || start || vis)) {
    r = err (403, "forbidden", "a judge may change only the hearing's state");
    goto out;
  }
  row = load_hearing (api, id, &r);
  if (!row)
    goto out;
  if (hd_core_hearing_update (api->core, row, cn, title, court, start, vis, state, who.actor, &e))
    r = reply (200, hd_hearing_to_json (row));
  else
    r = core_err (e);
out:
  json_decref (j);
  hd_claims_clear (&who.claims);
  return r;
}

static Reply
token_issue (HdApi *api, const HdHttpRequest *req, const char *id)
{
  Reply r;
  Caller who;
  if (!authenticate (api, req, NULL, ROLE (OPERATOR), &who, &r))
    return r;
  g_autoptr (HdHearingRow) row = NULL;
  g_autoptr (GError) e = NULL;
  json_t *j = parse_body (req, &r);
  const char *role = NULL, *name = NULL, *pid = NULL, *assisted_by = NULL;
  json_int_t ttl = 0;
  json_error_t je;
  if (!j)
    goto out;
  if (json_unpack_ex (j, &je, JSON_STRICT, "{s:s, s:s, s?I, s?s, s?s}", "role", &role, "name",
                      &name, "ttl_seconds", &ttl, "participant_id", &pid, "assisted_by",
                      &assisted_by)
      != 0) {
    r = bad_fields (&je);
    goto out;
  }
  HdRole rl = hd_role_parse (role);
  if (rl == HD_ROLE_INVALID) {
    r = err (400, "unknown_role",
             "role must be judge, clerk, party, counsel, witness, interpreter, observer, "
             "operator or archivist");
    goto out;
  }
  row = load_hearing (api, id, &r);
  if (!row)
    goto out;
  json_t *t = hd_core_token_issue (api->core, row, rl, name, pid, assisted_by, ttl, who.actor, &e);
  r = t ? reply (201, t) : core_err (e);
out:
  json_decref (j);
  hd_claims_clear (&who.claims);
  return r;
}

static Reply
token_revoke (HdApi *api, const HdHttpRequest *req, const char *jti)
{
  Reply r;
  Caller who;
  if (!authenticate (api, req, NULL, ROLE (OPERATOR), &who, &r))
    return r;
  g_autoptr (GError) e = NULL;
  if (hd_core_token_revoke (api->core, jti, who.actor, &e))
    r = reply (200, json_pack ("{s:s, s:b}", "jti", jti, "revoked", 1));
  else
    r = e->code == HD_CORE_ERROR_NOT_FOUND ? err (404, "token_not_found", e->message)
                                           : core_err (e);
  hd_claims_clear (&who.claims);
  return r;
}

static Reply
audit_verify (HdApi *api, const HdHttpRequest *req)
{
  Reply r;
  Caller who;
  if (!authenticate (api, req, NULL, ROLE (OPERATOR) | ROLE (ARCHIVIST), &who, &r))
    return r;
  hd_claims_clear (&who.claims);
  HdAuditVerdict v;
  g_autoptr (GError) e = NULL;
  if (!hd_audit_verify (hd_core_store (api->core), &v, &e))
    return err (500, "internal_error", e->message);
  json_t *j = json_pack ("{s:b, s:I, s:s}", "ok", v.ok, "rows", (json_int_t)v.rows, "head_hash",
                         v.head_hash);
  if (!v.ok) {
    json_object_set_new (j, "first_bad_seq", json_integer (v.first_bad_seq));
    json_object_set_new (j, "problem", json_string (v.problem));
  }
  return reply (200, j);
}

/* ---------------------------------------------------------------- recordings (archivists) */

/* The catalogue entry `id` if the caller may read it: archivists (sealed hearings' recordings
 * are refused until per-hearing grants exist). Every refusal is audit-logged. */
static json_t *
load_recording_entry (HdApi *api, const HdHttpRequest *req, const char *id, Caller *who, Reply *r)
{
  if (!authenticate (api, req, NULL, ROLE (ARCHIVIST), who, r))
    return NULL;
  json_t *rec = hd_store_recording_get (hd_core_store (api->core), id);
  if (!rec) {
    *r = err (404, "not_found", "no such recording");
    hd_core_audit (api->core, who->actor, "recording.refuse", "",
                   json_pack ("{s:s, s:s}", "recording", id, "code", "not_found"));
    return NULL;
  }
  const char *hid = json_string_value (json_object_get (rec, "hearing_id"));
  g_autoptr (GError) e = NULL;
  HdHearingRow *row = hd_store_hearing_get (hd_core_store (api->core), hid, &e);
  gboolean sealed = row && g_str_equal (row->visibility, "sealed");
  hd_hearing_row_free (row);
  if (sealed && !hd_store_grant_exists (hd_core_store (api->core), hid, who->claims.sub)) {
    *r = err (403, "sealed", "the hearing is sealed: its recordings need a grant");
    hd_core_audit (api->core, who->actor, "recording.refuse", hid,
                   json_pack ("{s:s, s:s}", "recording", id, "code", "sealed"));
    json_decref (rec);
    return NULL;
  }
  return rec;
}

/* As load_recording_entry; on refusal the caller's claims are already cleared. */
static json_t *
load_recording (HdApi *api, const HdHttpRequest *req, const char *id, Caller *who, Reply *r)
{
  json_t *rec = load_recording_entry (api, req, id, who, r);
  if (!rec)
    hd_claims_clear (&who->claims);
  return rec;
}

/* As load_recording, for routes that read the recording's files: a deleted one is 410. */
static json_t *
load_recording_files (HdApi *api, const HdHttpRequest *req, const char *id, Caller *who, Reply *r)
{
  json_t *rec = load_recording (api, req, id, who, r);
  if (rec && !g_strcmp0 (json_string_value (json_object_get (rec, "status")), "deleted")) {
    *r = err (410, "deleted", "the recording's files have been deleted (its retention ended)");
    json_decref (rec);
    hd_claims_clear (&who->claims);
    return NULL;
  }
  return rec;
}

static Reply
recordings_list (HdApi *api, const HdHttpRequest *req)
{
  Reply r;
  Caller who;
  if (!authenticate (api, req, NULL, ROLE (ARCHIVIST), &who, &r))
    return r;
  HdRecordingQuery q = {
    .case_number = g_hash_table_lookup (req->query, "case_number"),
    .status = g_hash_table_lookup (req->query, "status"),
    .court = g_hash_table_lookup (req->query, "court"),
    .hearing_id = g_hash_table_lookup (req->query, "hearing"),
    .from = g_hash_table_lookup (req->query, "from"),
    .to = g_hash_table_lookup (req->query, "to"),
  };
  g_autofree char *who_name = NULL;
  const char *participant = g_hash_table_lookup (req->query, "participant");
  if (participant)
    q.participant = who_name = g_utf8_casefold (participant, -1);
  gint64 t;
  if ((q.from && !hd_time_parse (q.from, &t)) || (q.to && !hd_time_parse (q.to, &t))) {
    hd_claims_clear (&who.claims);
    return err (400, "invalid_field", "from and to are ISO 8601 times (2026-12-01T00:00:00Z)");
  }
  g_autoptr (GError) e = NULL;
  json_t *list = hd_store_recording_list (hd_core_store (api->core), &q, &e);
  if (!list) {
    hd_claims_clear (&who.claims);
    return err (500, "internal_error", e->message);
  }
  /* the folders stay server-side */
  for (size_t i = 0; i < json_array_size (list); i++)
    json_object_del (json_array_get (list, i), "dir");
  hd_core_audit (api->core, who.actor, "recording.search", "",
                 json_pack ("{s:s?, s:s?, s:s?, s:i}", "case_number", q.case_number, "status",
                            q.status, "participant", participant, "results",
                            (int)json_array_size (list)));
  hd_claims_clear (&who.claims);
  return reply (200, json_pack ("{s:o}", "recordings", list));
}

/* A request that needs a recording's manifest (GET …/recordings/{id}, a download, an export): the
 * catalogue is read and the caller checked on the main thread, the manifest (megabytes for a
 * hearing of hours, on a share that may stall) on a worker thread, and the answer made and
 * audited back on the main thread. Everything the worker touches is its own. */
typedef struct ManifestRead ManifestRead;
struct ManifestRead {
  HdApi *api;
  guint64 ticket;
  char *method, *path, *range, *actor, *rid, *dir;
  json_t *rec;        /* the catalogue entry */
  char *track, *name; /* the track (an export) or file (a download) asked for */
  Reply (*answer) (HdApi *api, ManifestRead *x); /* main thread, once it is read */
  /* the worker's */
  json_t *manifest;
  char *manifest_sha;  /* of the file's bytes */
  char *canonical_sha; /* of the manifest with the journal, canonical (an export's name) */
  const char *file_sha; /* a download: the file's SHA-256 as listed (NULL: not listed) */
  int fd;               /* … and the file, open (-1: it cannot be), */
  gboolean regular;     /* a regular file */
  gsize size;           /* of this many bytes */
};

static void
manifest_read_free (ManifestRead *x)
{
  g_free (x->method);
  g_free (x->path);
  g_free (x->range);
  g_free (x->actor);
  g_free (x->rid);
  g_free (x->dir);
  json_decref (x->rec);
  g_free (x->track);
  g_free (x->name);
  json_decref (x->manifest);
  g_free (x->manifest_sha);
  g_free (x->canonical_sha);
  if (x->fd >= 0)
    close (x->fd);
  g_free (x);
}

static void
manifest_read_work (GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
  ManifestRead *x = data;
  /* with the segments closed since it was last rewritten (a running recording) */
  x->manifest = x->dir ? hd_archive_load_hashed (x->dir, &x->manifest_sha, NULL) : NULL;
  if (x->manifest && x->name) { /* a download: the file the manifest lists, opened here too */
    g_autofree char *want = g_strdup_printf ("%s/%s", x->track, x->name);
    for (int list = 0; list < 2 && !x->file_sha; list++) {
      json_t *entries = json_object_get (x->manifest, list ? "partial" : "segments");
      for (size_t i = 0; i < json_array_size (entries) && !x->file_sha; i++) {
        json_t *e = json_array_get (entries, i);
        if (!g_strcmp0 (json_string_value (json_object_get (e, "file")), want))
          x->file_sha = json_string_value (json_object_get (e, "sha256"));
      }
    }
    g_autofree char *path = g_build_filename (x->dir, want, NULL);
    /* O_NONBLOCK: a FIFO where a segment should be is refused below, not waited on */
    x->fd = x->file_sha ? g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0) : -1;
    struct stat st;
    x->regular = x->fd >= 0 && fstat (x->fd, &st) == 0 && S_ISREG (st.st_mode);
    x->size = x->regular ? (gsize)st.st_size : 0;
  }
  if (x->manifest && x->track && !x->name) { /* an export */
    char *text = json_dumps (x->manifest, JSON_COMPACT | JSON_SORT_KEYS);
    x->canonical_sha = text ? hd_sha256_hex (text, strlen (text)) : NULL;
    free (text);
  }
  g_task_return_boolean (task, TRUE);
}

static void
manifest_read_done (GObject *source, GAsyncResult *res, gpointer data)
{
  ManifestRead *x = data;
  HdApi *api = x->api;
  api->manifest_reads--;
  HdHttpRequest req = { .method = x->method, .path = x->path };
  HdHttpReply out = { 0 };
  int status = to_http (&req, x->answer (api, x), &out);
  /* (DEFERRED: answered later still, when the export being made is done) */
  if (status != HD_HTTP_DEFERRED && !api->complete (x->ticket, status, &out, api->complete_user))
    g_debug ("%s %s: the client of request %" G_GUINT64_FORMAT " left", x->method, x->path,
             x->ticket);
  manifest_read_free (x);
}

/* Read `rec`'s manifest off the main thread and answer with `answer` (takes rec and who's actor;
 * at once, on this thread, where the API has no way to answer later). */
static Reply
manifest_read (HdApi *api, const HdHttpRequest *req, const char *id, json_t *rec, Caller *who,
               const char *track, const char *name, Reply (*answer) (HdApi *, ManifestRead *))
{
  ManifestRead *x = g_new0 (ManifestRead, 1);
  x->fd = -1;
  x->api = api;
  x->ticket = req->ticket;
  x->method = g_strdup (req->method);
  x->path = g_strdup (req->path);
  x->range = g_strdup (req->range);
  x->actor = g_strdup (who->actor);
  x->rid = g_strdup (id);
  x->dir = g_strdup (json_string_value (json_object_get (rec, "dir")));
  x->rec = rec;
  x->track = g_strdup (track);
  x->name = g_strdup (name);
  x->answer = answer;
  hd_claims_clear (&who->claims);
  GTask *task = g_task_new (NULL, NULL, api->complete ? manifest_read_done : NULL, x);
  g_task_set_task_data (task, x, NULL);
  if (!api->complete) {
    g_task_run_in_thread_sync (task, manifest_read_work);
    g_object_unref (task);
    Reply r = answer (api, x);
    manifest_read_free (x);
    return r;
  }
  api->manifest_reads++;
  g_task_run_in_thread (task, manifest_read_work);
  g_object_unref (task);
  return reply (HD_HTTP_DEFERRED, NULL);
}

static Reply
recording_show_answer (HdApi *api, ManifestRead *x)
{
  json_t *rec = json_incref (x->rec);
  json_object_del (rec, "dir");
  json_object_set (rec, "manifest", x->manifest ? x->manifest : json_null ());
  json_object_set_new (rec, "manifest_sha256",
                       x->manifest_sha ? json_string (x->manifest_sha) : json_null ());
  hd_core_audit (
      api->core, x->actor, "recording.read",
      json_string_value (json_object_get (rec, "hearing_id")),
      json_pack ("{s:s, s:s?}", "recording", x->rid, "manifest_sha256", x->manifest_sha));
  return reply (200, rec);
}

static Reply
recording_show (HdApi *api, const HdHttpRequest *req, const char *id)
{
  Reply r;
  Caller who;
  json_t *rec = load_recording (api, req, id, &who, &r);
  if (!rec)
    return r;
  return manifest_read (api, req, id, rec, &who, NULL, NULL, recording_show_answer);
}

/* One verification being made (POST …/verify): everything the worker thread touches is its
 * own copy. A recording of hours is gigabytes to hash: on the main thread it would hold up
 * every hearing's signaling for as long. */
typedef struct {
  HdApi *api;
  guint64 ticket;
  char *rid, *hid, *dir, *pubkey, *actor, *method, *path;
  /* the worker's result */
  gboolean read;
  HdArchiveVerdict v;
  char *error, *manifest_sha;
} Verification;

static void
verification_free (Verification *x)
{
  if (x->read)
    hd_archive_verdict_clear (&x->v);
  g_free (x->rid);
  g_free (x->hid);
  g_free (x->dir);
  g_free (x->pubkey);
  g_free (x->actor);
  g_free (x->method);
  g_free (x->path);
  g_free (x->error);
  g_free (x->manifest_sha);
  g_free (x);
}

/* Worker thread: the manifest's hash (for the audit) and the verdict. */
static void
verify_work (GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
  Verification *x = data;
  g_autofree char *mpath = g_build_filename (x->dir, HD_ARCHIVE_MANIFEST, NULL);
  gint64 mbytes = 0;
  x->manifest_sha = hd_sha256_file (mpath, &mbytes);
  g_autoptr (GError) e = NULL;
  x->read = hd_archive_verify (x->dir, x->pubkey, &x->v, &e);
  if (!x->read)
    x->error = g_strdup (e->message);
  g_task_return_boolean (task, TRUE);
}

/* The verdict as the API answers it, audited. Main thread. */
static Reply
verify_reply (HdApi *api, Verification *x)
{
  json_t *problems = json_array ();
  for (guint i = 0; x->read && i < x->v.problems->len; i++)
    json_array_append_new (problems, json_string (x->v.problems->pdata[i]));
  if (!x->read)
    json_array_append_new (problems, json_string (x->error));
  gboolean ok = x->read && x->v.ok;
  json_t *j = json_pack ("{s:s, s:b, s:b, s:i, s:o}", "recording", x->rid, "ok", ok, "signed",
                         x->read && x->v.signed_, "segments", x->read ? (int)x->v.segments : 0,
                         "problems", problems);
  hd_core_audit (api->core, x->actor, "recording.verify", x->hid,
                 json_pack ("{s:s, s:b, s:i, s:s?}", "recording", x->rid, "ok", ok, "problems",
                            (int)json_array_size (problems), "manifest_sha256", x->manifest_sha));
  return reply (200, j);
}

/* Main thread: the verification is done: its request is answered. */
static void
verify_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Verification *x = data;
  HdApi *api = x->api;
  api->verifications--;
  HdHttpRequest req = { .method = x->method, .path = x->path };
  HdHttpReply out = { 0 };
  int status = to_http (&req, verify_reply (api, x), &out);
  if (!api->complete (x->ticket, status, &out, api->complete_user))
    g_debug ("verify %s: the client of request %" G_GUINT64_FORMAT " left", x->rid, x->ticket);
  verification_free (x);
}

/* POST /api/v1/recordings/{id}/verify: on a worker thread, answered when it is done (at once,
 * on this thread, where the API has no way to answer later). */
static Reply
recording_verify (HdApi *api, const HdHttpRequest *req, const char *id)
{
  Reply r;
  Caller who;
  json_t *rec = load_recording_files (api, req, id, &who, &r);
  if (!rec)
    return r;
  Verification *x = g_new0 (Verification, 1);
  x->api = api;
  x->ticket = req->ticket;
  x->rid = g_strdup (id);
  x->hid = g_strdup (json_string_value (json_object_get (rec, "hearing_id")));
  x->dir = g_strdup (json_string_value (json_object_get (rec, "dir")));
  x->pubkey = hd_signer_public_pem (hd_core_signer (api->core));
  x->actor = g_strdup (who.actor);
  x->method = g_strdup (req->method);
  x->path = g_strdup (req->path);
  json_decref (rec);
  hd_claims_clear (&who.claims);
  GTask *task = g_task_new (NULL, NULL, api->complete ? verify_done : NULL, x);
  g_task_set_task_data (task, x, NULL);
  if (!api->complete) {
    g_task_run_in_thread_sync (task, verify_work);
    g_object_unref (task);
    r = verify_reply (api, x);
    verification_free (x);
    return r;
  }
  api->verifications++;
  g_task_run_in_thread (task, verify_work);
  g_object_unref (task);
  return reply (HD_HTTP_DEFERRED, NULL);
}

/* The bytes of a file of `total` bytes (`present`: it is there, a regular file) that the
 * request's Range asks for (all without one): a 200 or 206 with the offset and length set but
 * not the file, a 416, or a 404 when the file is missing or empty. */
static Reply
serve_bytes (const HdHttpRequest *req, gboolean present, gsize total, const char *type)
{
  Reply r;
  goffset start = 0, stop = (goffset)total - 1;
  gboolean partial = FALSE, ok = present;
  if (ok && req->range) {
    /* the Range header, parsed by libsoup against the file's size */
    SoupMessageHeaders *h = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
    soup_message_headers_append (h, "Range", req->range);
    SoupRange *ranges = NULL;
    int nr = 0;
    ok = soup_message_headers_get_ranges (h, (goffset)total, &ranges, &nr) && nr == 1;
    if (ok) {
      start = ranges[0].start;
      stop = ranges[0].end;
      partial = TRUE;
    }
    /* libsoup hands back a range starting past the end as it came: the bounds are ours */
    ok = ok && start >= 0 && start <= stop && stop < (goffset)total;
    if (ranges)
      soup_message_headers_free_ranges (h, ranges);
    soup_message_headers_unref (h);
    if (!ok) {
      g_autofree char *why = g_strdup_printf (
          "Range must be one satisfiable byte range of the file's %zu bytes (bytes=START-END)",
          total);
      r = err (416, "range_not_satisfiable", why);
    }
  } else if (!ok) {
    r = err (404, "not_found", "the file is listed but missing (run verify)");
  }
  if (ok && total == 0) {
    r = err (404, "not_found", "the file is empty");
  } else if (ok) {
    r = reply (partial ? 206 : 200, NULL);
    r.file_offset = start;
    r.file_len = (gsize)(stop - start + 1);
    r.file_type = type;
    if (partial)
      r.content_range = g_strdup_printf ("bytes %" G_GOFFSET_FORMAT "-%" G_GOFFSET_FORMAT "/%zu",
                                         start, stop, total);
  }
  return r;
}

/* The bytes of the file at `path` that the request asks for (serve_bytes). Nothing is read
 * here: the server streams it. */
static Reply
serve_file (const HdHttpRequest *req, const char *path, const char *type)
{
  GStatBuf st;
  gboolean present = g_stat (path, &st) == 0 && S_ISREG (st.st_mode);
  Reply r = serve_bytes (req, present, present ? (gsize)st.st_size : 0, type);
  if (r.status == 200 || r.status == 206)
    r.file_path = g_strdup (path);
  return r;
}

/* A file of a recording, as listed in its manifest (segments or partial), with HTTP Range.
 * Nothing that the manifest does not name is ever opened: no path is built from the request
 * but the manifest's own entry. The manifest is read off the main thread (manifest_read). */
static Reply
recording_file_answer (HdApi *api, ManifestRead *x)
{
  const char *hid = json_string_value (json_object_get (x->rec, "hearing_id"));
  g_autofree char *want = g_strdup_printf ("%s/%s", x->track, x->name);
  if (!x->file_sha) {
    hd_core_audit (
        api->core, x->actor, "recording.refuse", hid,
        json_pack ("{s:s, s:s, s:s}", "recording", x->rid, "file", want, "code", "not_found"));
    return err (404, "not_found", "the recording has no such file");
  }
  HdHttpRequest req = { .method = x->method, .path = x->path, .range = x->range };
  Reply r = serve_bytes (&req, x->regular, x->size,
                         g_str_has_suffix (x->name, ".mkv") ? "video/x-matroska" : "video/webm");
  if (r.status == 200 || r.status == 206) {
    r.file_open = TRUE;
    r.file_fd = x->fd; /* the server's now */
    x->fd = -1;
    hd_core_audit (api->core, x->actor, "recording.download", hid,
                   json_pack ("{s:s, s:s, s:s, s:I, s:I}", "recording", x->rid, "file", want,
                              "sha256", x->file_sha, "from", (json_int_t)r.file_offset, "to",
                              (json_int_t)(r.file_offset + (goffset)r.file_len - 1)));
  }
  return r;
}

static Reply
recording_file (HdApi *api, const HdHttpRequest *req, const char *id, const char *track,
                const char *name)
{
  Reply r;
  Caller who;
  json_t *rec = load_recording_files (api, req, id, &who, &r);
  if (!rec)
    return r;
  return manifest_read (api, req, id, rec, &who, track, name, recording_file_answer);
}

/* ---------------------------------------------------------------- access, retention, holds */

/* POST /api/v1/hearings/{id}/grants {"subject","reason"}: archivist `subject` (their token's
 * participant id) may read this sealed hearing's recordings. GET lists them. Operator. */
static Reply
grants (HdApi *api, const HdHttpRequest *req, const char *id)
{
  Reply r;
  Caller who;
  if (!authenticate (api, req, NULL, ROLE (OPERATOR), &who, &r))
    return r;
  HdHearingRow *row = load_hearing (api, id, &r);
  if (!row) {
    hd_claims_clear (&who.claims);
    return r;
  }
  hd_hearing_row_free (row);
  HdStore *store = hd_core_store (api->core);
  if (g_str_equal (req->method, "GET")) {
    hd_claims_clear (&who.claims);
    return reply (
        200, json_pack ("{s:s, s:o}", "hearing_id", id, "grants", hd_store_grant_list (store, id)));
  }
  json_t *j = parse_body (req, &r);
  const char *subject = NULL, *reason = NULL;
  json_error_t je;
  if (j
      && json_unpack_ex (j, &je, JSON_STRICT, "{s:s, s:s}", "subject", &subject, "reason", &reason)
             != 0)
    r = bad_fields (&je);
  else if (j && !hd_id_valid (subject))
    r = err (400, "invalid_field",
             "subject is an archivist's participant id (1-64 of A-Z a-z 0-9 _ -)");
  else if (j && (!*reason || strlen (reason) > 500))
    r = err (400, "invalid_field", "reason must be 1 to 500 bytes (the order that allows it)");
  else if (j) {
    g_autofree char *now = hd_time_iso (g_get_real_time ());
    g_autoptr (GError) e = NULL;
    if (hd_store_grant_add (store, id, subject, who.actor, now, reason, &e)) {
      hd_core_audit (api->core, who.actor, "grant.add", id,
                     json_pack ("{s:s, s:s}", "subject", subject, "reason", reason));
      r = reply (201, json_pack ("{s:s, s:s, s:s, s:s, s:s}", "hearing_id", id, "subject", subject,
                                 "granted_by", who.actor, "granted_at", now, "reason", reason));
    } else {
      r = err (500, "internal_error", e->message);
    }
  }
  json_decref (j);
  hd_claims_clear (&who.claims);
  return r;
}

/* DELETE /api/v1/hearings/{id}/grants/{subject}. Operator. */
static Reply
grant_revoke (HdApi *api, const HdHttpRequest *req, const char *id, const char *subject)
{
  Reply r;
  Caller who;
  if (!authenticate (api, req, NULL, ROLE (OPERATOR), &who, &r))
    return r;
  int n = hd_store_grant_remove (hd_core_store (api->core), id, subject);
  if (n < 0)
    r = err (500, "internal_error", "the grant could not be removed");
  else if (n == 0)
    r = err (404, "not_found", "no such grant");
  else {
    hd_core_audit (api->core, who.actor, "grant.revoke", id,
                   json_pack ("{s:s}", "subject", subject));
    r = reply (200,
               json_pack ("{s:s, s:s, s:b}", "hearing_id", id, "subject", subject, "revoked", 1));
  }
  hd_claims_clear (&who.claims);
  return r;
}

/* Days a recording of a hearing of `visibility` is kept. */
static int
retention_days (HdApi *api, const char *visibility)
{
  const HdConfig *cfg = hd_core_config (api->core);
  return !g_strcmp0 (visibility, "sealed")   ? cfg->retention_sealed_days
         : !g_strcmp0 (visibility, "closed") ? cfg->retention_closed_days
                                             : cfg->retention_public_days;
}

/* The earliest time the recording may be deleted (ISO 8601), or NULL while it runs. */
static char *
retain_until (HdApi *api, json_t *rec)
{
  const char *ended = json_string_value (json_object_get (rec, "ended_at"));
  gint64 t;
  if (!ended || !hd_time_parse (ended, &t))
    return NULL;
  g_autoptr (GError) e = NULL;
  HdHearingRow *row = hd_store_hearing_get (
      hd_core_store (api->core), json_string_value (json_object_get (rec, "hearing_id")), &e);
  int days = retention_days (api, row ? row->visibility : "sealed"); /* unknown: the longest */
  hd_hearing_row_free (row);
  return hd_time_iso ((t + (gint64)days * 86400) * G_USEC_PER_SEC);
}

/* PUT /api/v1/recordings/{id}/hold {"hold": bool, "reason": "…"}: a legal hold keeps the
 * recording whatever its retention. Archivist. */
static Reply
recording_hold (HdApi *api, const HdHttpRequest *req, const char *id)
{
  Reply r;
  Caller who;
  json_t *rec = load_recording (api, req, id, &who, &r);
  if (!rec)
    return r;
  json_t *j = parse_body (req, &r);
  int hold = 0;
  const char *reason = NULL;
  json_error_t je;
  if (j
      && json_unpack_ex (j, &je, JSON_STRICT, "{s:b, s:s}", "hold", &hold, "reason", &reason) != 0)
    r = bad_fields (&je);
  else if (j && (!*reason || strlen (reason) > 500))
    r = err (400, "invalid_field", "reason must be 1 to 500 bytes (the order or case behind it)");
  else if (j && !g_strcmp0 (json_string_value (json_object_get (rec, "status")), "deleted"))
    r = err (410, "deleted", "the recording has been deleted");
  else if (j) {
    g_autoptr (GError) e = NULL;
    if (hd_store_recording_hold (hd_core_store (api->core), id, hold, reason, &e)) {
      hd_core_audit (api->core, who.actor, hold ? "recording.hold" : "recording.release",
                     json_string_value (json_object_get (rec, "hearing_id")),
                     json_pack ("{s:s, s:s}", "recording", id, "reason", reason));
      r = reply (200, json_pack ("{s:s, s:b, s:s}", "recording", id, "legal_hold", hold, "reason",
                                 reason));
    } else {
      r = err (500, "internal_error", e->message);
    }
  }
  json_decref (j);
  json_decref (rec);
  hd_claims_clear (&who.claims);
  return r;
}

static int
remove_one (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  return flag == FTW_DP ? g_rmdir (path) : g_unlink (path);
}

/* DELETE /api/v1/recordings/{id}: its files go once its retention is over and no legal hold
 * keeps it; the catalogue entry stays (status "deleted"), and the audit log keeps the
 * manifest's SHA-256 and what was deleted. Archivist. */
static Reply
recording_delete (HdApi *api, const HdHttpRequest *req, const char *id)
{
  Reply r;
  Caller who;
  json_t *rec = load_recording (api, req, id, &who, &r);
  if (!rec)
    return r;
  const char *status = json_string_value (json_object_get (rec, "status"));
  const char *hid = json_string_value (json_object_get (rec, "hearing_id"));
  const char *dir = json_string_value (json_object_get (rec, "dir"));
  g_autofree char *until = retain_until (api, rec);
  g_autofree char *now = hd_time_iso (g_get_real_time ());
  const char *code = NULL;
  g_autofree char *why = NULL;
  if (!g_strcmp0 (status, "deleted")) {
    code = "deleted";
    why = g_strdup ("the recording has been deleted already");
  } else if (!until) {
    code = "recording_active";
    why = g_strdup ("the recording is still being made");
  } else if (json_is_true (json_object_get (rec, "legal_hold"))) {
    code = "legal_hold";
    why = g_strdup_printf ("a legal hold keeps it: %s",
                           json_string_value (json_object_get (rec, "hold_reason")));
  } else if (strcmp (now, until) < 0) {
    code = "retention_not_expired";
    why = g_strdup_printf ("it is kept until %s", until);
  } else if (!dir || !g_str_has_suffix (dir, id)) {
    code = "internal_error"; /* never remove anything but a recording's own folder */
    why = g_strdup ("the catalogue's folder for this recording is not its own");
  }
  if (code) {
    hd_core_audit (
        api->core, who.actor, "recording.refuse", hid,
        json_pack ("{s:s, s:s, s:s}", "recording", id, "action", "delete", "code", code));
    r = err (g_str_equal (code, "deleted")          ? 410
             : g_str_equal (code, "internal_error") ? 500
                                                    : 409,
             code, why);
  } else {
    g_autofree char *mpath = g_build_filename (dir, HD_ARCHIVE_MANIFEST, NULL);
    gint64 mbytes = 0;
    g_autofree char *msha = hd_sha256_file (mpath, &mbytes);
    g_autofree char *exports
        = api->export_dir ? g_build_filename (api->export_dir, id, NULL) : NULL;
    gboolean gone = nftw (dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0;
    if (exports && g_file_test (exports, G_FILE_TEST_IS_DIR))
      nftw (exports, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    g_autoptr (GError) e = NULL;
    if (!hd_store_recording_deleted (hd_core_store (api->core), id, now, &e))
      g_warning ("recording %s: %s", id, e->message);
    hd_core_audit (api->core, who.actor, "recording.delete", hid,
                   json_pack ("{s:s, s:s?, s:I, s:I, s:b}", "recording", id, "manifest_sha256",
                              msha, "bytes", json_integer_value (json_object_get (rec, "bytes")),
                              "segments", json_integer_value (json_object_get (rec, "segments")),
                              "complete", gone));
    r = gone ? reply (200, json_pack ("{s:s, s:s, s:s?}", "recording", id, "deleted_at", now,
                                      "manifest_sha256", msha))
             : err (500, "delete_incomplete", "some files of the recording could not be removed");
  }
  json_decref (rec);
  hd_claims_clear (&who.claims);
  return r;
}

/* ---------------------------------------------------------------- exports */

/* One export being made: its requests wait for it. Everything the worker thread touches is its
 * own copy. */
typedef struct {
  guint64 ticket;
  char *range, *actor, *method, *path;
} Waiter;

typedef struct {
  HdApi *api;
  char *key, *rid, *hid, *track, *dir, *pubkey, *out, *meta, *manifest_sha;
  gboolean mkv;
  GPtrArray *waiters; /* Waiter* */
  HdExportSource sources[2];
  guint n_sources;
  GStrv files[2];
  /* the worker's result */
  int status;
  char *code, *reason, *sha256;
  json_t *problems;
  gint64 bytes;
} Export;

static void
waiter_free (Waiter *w)
{
  g_free (w->range);
  g_free (w->actor);
  g_free (w->method);
  g_free (w->path);
  g_free (w);
}

static void
export_free (Export *x)
{
  g_free (x->key);
  g_free (x->rid);
  g_free (x->hid);
  g_free (x->track);
  g_free (x->dir);
  g_free (x->pubkey);
  g_free (x->out);
  g_free (x->meta);
  g_free (x->manifest_sha);
  g_ptr_array_unref (x->waiters);
  for (guint i = 0; i < 2; i++)
    g_strfreev (x->files[i]);
  g_free (x->code);
  g_free (x->reason);
  g_free (x->sha256);
  json_decref (x->problems);
  g_free (x);
}

/* The files of `track` in the manifest, in recording order; NULL if it has none. */
static GStrv
track_files (json_t *manifest, const char *dir, const char *track, gboolean *mkv)
{
  json_t *segs = json_object_get (manifest, "segments");
  GPtrArray *list = g_ptr_array_new ();
  GArray *starts = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (size_t i = 0; i < json_array_size (segs); i++) {
    json_t *s = json_array_get (segs, i);
    if (g_strcmp0 (json_string_value (json_object_get (s, "track")), track))
      continue;
    const char *file = json_string_value (json_object_get (s, "file"));
    gint64 start = json_integer_value (json_object_get (s, "start_ms"));
    guint at = list->len; /* insertion by start: the order of the recording */
    while (at > 0 && g_array_index (starts, gint64, at - 1) > start)
      at--;
    g_ptr_array_insert (list, (gint)at, g_build_filename (dir, file, NULL));
    g_array_insert_val (starts, at, start);
    *mkv = *mkv || g_str_has_suffix (file, ".mkv");
  }
  g_array_unref (starts);
  if (!list->len) {
    g_ptr_array_unref (list);
    return NULL;
  }
  g_ptr_array_add (list, NULL);
  return (GStrv)g_ptr_array_free (list, FALSE);
}

/* Worker thread: verify the recording, remux the track, hash the result. */
static void
export_work (GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
  Export *x = data;
  HdArchiveVerdict v;
  g_autoptr (GError) e = NULL;
  if (!hd_archive_verify (x->dir, x->pubkey, &v, &e)) {
    x->status = 500;
    x->code = g_strdup ("internal_error");
    x->reason = g_strdup (e->message);
    g_task_return_boolean (task, TRUE);
    return;
  }
  if (!v.ok) { /* evidence that does not verify is not handed out as one clean file */
    x->status = 409;
    x->code = g_strdup ("recording_not_intact");
    x->reason = g_strdup ("the recording does not verify; POST …/verify names what is wrong");
    x->problems = json_array ();
    for (guint i = 0; i < v.problems->len; i++)
      json_array_append_new (x->problems, json_string (v.problems->pdata[i]));
    hd_archive_verdict_clear (&v);
    g_task_return_boolean (task, TRUE);
    return;
  }
  hd_archive_verdict_clear (&v);
  g_autofree char *tmp = g_strconcat (x->out, ".part", NULL);
  if (!x->api->remux (x->sources, x->n_sources, x->mkv, tmp, &e)
      || !(x->sha256 = hd_sha256_file (tmp, &x->bytes))) {
    g_unlink (tmp);
    x->status = 500;
    x->code = g_strdup ("export_failed");
    x->reason = g_strdup (e ? e->message : "the export cannot be read back");
    g_task_return_boolean (task, TRUE);
    return;
  }
  json_t *meta
      = json_pack ("{s:s, s:s, s:s, s:I, s:s}", "recording", x->rid, "track", x->track, "sha256",
                   x->sha256, "bytes", (json_int_t)x->bytes, "manifest_sha256", x->manifest_sha);
  char *text = json_dumps (meta, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (meta);
  gboolean ok = g_file_set_contents (x->meta, text, -1, &e) && g_rename (tmp, x->out) == 0;
  free (text);
  if (!ok) {
    g_unlink (tmp);
    x->status = 500;
    x->code = g_strdup ("export_failed");
    x->reason = g_strdup_printf ("cannot keep the export in %s", x->out);
  } else {
    x->status = 200;
  }
  g_task_return_boolean (task, TRUE);
}

/* Answer one request for a ready export (or its failure). */
static Reply
export_reply (HdApi *api, const HdHttpRequest *req, const char *actor, const char *rid,
              const char *hid, const char *track, const char *out, const char *sha256, gboolean mkv)
{
  Reply r = serve_file (req, out, mkv ? "video/x-matroska" : "video/webm");
  if (r.file_path) {
    r.disposition
        = g_strdup_printf ("attachment; filename=\"%s-%s.%s\"", rid, track, mkv ? "mkv" : "webm");
    hd_core_audit (api->core, actor, "recording.export", hid,
                   json_pack ("{s:s, s:s, s:s, s:I, s:I}", "recording", rid, "track", track,
                              "sha256", sha256, "from", (json_int_t)r.file_offset, "to",
                              (json_int_t)(r.file_offset + (goffset)r.file_len - 1)));
  }
  return r;
}

/* Main thread: the export is ready (or failed): every waiting request is answered. */
static void
export_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Export *x = data;
  HdApi *api = x->api;
  g_hash_table_remove (api->exports, x->key);
  for (guint i = 0; i < x->waiters->len; i++) {
    Waiter *w = x->waiters->pdata[i];
    HdHttpRequest req = { .method = w->method, .path = w->path, .range = w->range };
    Reply r;
    if (x->status == 200) {
      r = export_reply (api, &req, w->actor, x->rid, x->hid, x->track, x->out, x->sha256, x->mkv);
    } else {
      r = err (x->status, x->code, x->reason);
      if (x->problems)
        json_object_set (r.body, "problems", x->problems);
      hd_core_audit (
          api->core, w->actor, "recording.refuse", x->hid,
          json_pack ("{s:s, s:s, s:s}", "recording", x->rid, "track", x->track, "code", x->code));
    }
    HdHttpReply out = { 0 };
    int status = to_http (&req, r, &out);
    if (!api->complete (w->ticket, status, &out, api->complete_user))
      g_debug ("export %s: the client of request %" G_GUINT64_FORMAT " left", x->key, w->ticket);
  }
  export_free (x);
}

/* Main thread, the manifest read (manifest_read): served from an export made before from this
 * very manifest, or made now (on a worker thread) and answered when it is. */
static Reply
recording_export_answer (HdApi *api, ManifestRead *x)
{
  Reply r;
  HdHttpRequest rq
      = { .method = x->method, .path = x->path, .range = x->range, .ticket = x->ticket };
  const HdHttpRequest *req = &rq;
  const char *id = x->rid, *track = x->track, *dir = x->dir;
  const char *hid = json_string_value (json_object_get (x->rec, "hearing_id"));
  /* the manifest as it stands, journal included: its hash names the export made from it */
  json_t *m = x->manifest;
  const char *msha = x->canonical_sha;
  gboolean mkv = FALSE;
  GStrv files[2] = { NULL, NULL };
  gboolean composite = g_str_equal (track, "composite");
  if (composite) {
    files[0] = track_files (m, dir, "composite", &mkv);
  } else {
    g_autofree char *a = g_strdup_printf ("%s-audio", track);
    g_autofree char *v = g_strdup_printf ("%s-video", track);
    files[0] = track_files (m, dir, a, &mkv);
    files[1] = track_files (m, dir, v, &mkv);
  }
  if (!msha || (!files[0] && !files[1])) {
    g_strfreev (files[0]);
    g_strfreev (files[1]);
    hd_core_audit (
        api->core, x->actor, "recording.refuse", hid,
        json_pack ("{s:s, s:s, s:s}", "recording", id, "track", track, "code", "not_found"));
    return err (404, "not_found", "the recording has no closed segments of that track");
  }
  g_autofree char *folder = g_build_filename (api->export_dir, id, NULL);
  g_mkdir_with_parents (folder, 0750);
  g_autofree char *name = g_strdup_printf ("%s.%s", track, mkv ? "mkv" : "webm");
  g_autofree char *out = g_build_filename (folder, name, NULL);
  g_autofree char *metaname = g_strdup_printf ("%s.json", track);
  g_autofree char *meta = g_build_filename (folder, metaname, NULL);
  /* made before from this very manifest: served as it is */
  json_t *made = json_load_file (meta, 0, NULL);
  const char *made_sha = json_string_value (json_object_get (made, "sha256"));
  GStatBuf st;
  if (made_sha && !g_strcmp0 (json_string_value (json_object_get (made, "manifest_sha256")), msha)
      && g_stat (out, &st) == 0
      && st.st_size == json_integer_value (json_object_get (made, "bytes"))) {
    r = export_reply (api, req, x->actor, id, hid, track, out, made_sha, mkv);
    json_decref (made);
    g_strfreev (files[0]);
    g_strfreev (files[1]);
    return r;
  }
  json_decref (made);
  Waiter *w = g_new0 (Waiter, 1);
  w->ticket = req->ticket;
  w->range = g_strdup (req->range);
  w->actor = g_strdup (x->actor);
  w->method = g_strdup (req->method);
  w->path = g_strdup (req->path);
  g_autofree char *key = g_strdup_printf ("%s/%s", id, track);
  Export *e = g_hash_table_lookup (api->exports, key);
  if (e) { /* being made: this request waits for it too */
    g_ptr_array_add (e->waiters, w);
    g_strfreev (files[0]);
    g_strfreev (files[1]);
  } else {
    e = g_new0 (Export, 1);
    e->api = api;
    e->key = g_strdup (key);
    e->rid = g_strdup (id);
    e->hid = g_strdup (hid);
    e->track = g_strdup (track);
    e->dir = g_strdup (dir);
    e->pubkey = hd_signer_public_pem (hd_core_signer (api->core));
    e->out = g_strdup (out);
    e->meta = g_strdup (meta);
    e->manifest_sha = g_strdup (msha);
    e->mkv = mkv;
    e->waiters = g_ptr_array_new_with_free_func ((GDestroyNotify)waiter_free);
    g_ptr_array_add (e->waiters, w);
    for (guint i = 0; i < 2; i++) {
      e->files[i] = files[i];
      if (files[i])
        e->sources[e->n_sources++] = (HdExportSource){
          .files = (const char *const *)files[i],
          .video = composite || i == 1,
          .audio = composite || i == 0,
        };
    }
    g_hash_table_insert (api->exports, e->key, e);
    GTask *task = g_task_new (NULL, NULL, export_done, e);
    g_task_set_task_data (task, e, NULL);
    g_task_run_in_thread (task, export_work);
    g_object_unref (task);
  }
  return reply (HD_HTTP_DEFERRED, NULL);
}

/* GET /api/v1/recordings/{id}/export?track=composite|<participant id>: one WebM of the track,
 * its segments remuxed (never re-encoded), made once per manifest (kept in the export folder)
 * after the recording verifies, served with Range. */
static Reply
recording_export (HdApi *api, const HdHttpRequest *req, const char *id)
{
  if (!api->remux || !api->complete || !api->export_dir)
    return err (503, "export_unavailable", "this daemon does not export recordings");
  const char *track = g_hash_table_lookup (req->query, "track");
  if (!track || !(g_str_equal (track, "composite") || hd_id_valid (track)))
    return err (400, "invalid_field",
                "track must be \"composite\" or a participant id (1-64 of A-Z a-z 0-9 _ -)");
  Reply r;
  Caller who;
  json_t *rec = load_recording_files (api, req, id, &who, &r);
  if (!rec)
    return r;
  return manifest_read (api, req, id, rec, &who, track, NULL, recording_export_answer);
}

void
hd_api_shutdown (HdApi *api)
{
  /* a running export or verification may finish (its answers go out on the main loop) for up
   * to 10 s; one still running then is abandoned with the process (its client gets no answer) */
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (((api->exports && g_hash_table_size (api->exports) > 0) || api->verifications > 0
          || api->manifest_reads > 0)
         && g_get_monotonic_time () < until)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (10000);
  if (api->verifications > 0)
    g_warning ("%u verification(s) still running at shutdown: abandoned", api->verifications);
  if (api->manifest_reads > 0)
    g_warning ("%u manifest read(s) still running at shutdown: abandoned", api->manifest_reads);
  if (api->exports && g_hash_table_size (api->exports) > 0) {
    g_warning ("%u export(s) still running at shutdown: abandoned",
               g_hash_table_size (api->exports));
    return; /* their worker threads still hold the table */
  }
  g_clear_pointer (&api->exports, g_hash_table_unref);
}

static Reply
route (HdApi *api, const HdHttpRequest *req)
{
  const char *m = req->method;
  if (g_str_equal (req->path, "/healthz")) {
    if (!g_str_equal (m, "GET"))
      return err (405, "method_not_allowed", "GET only");
    return reply (200,
                  json_pack ("{s:s, s:s, s:i, s:i}", "status", "ok", "version", "0.1.0", "schema",
                             hd_store_schema_version (hd_core_store (api->core)), "sessions",
                             api->sessions ? api->sessions (api->sessions_user) : 0));
  }
  if (!g_str_has_prefix (req->path, "/api/v1/"))
    return err (404, "not_found", "no such route; the API lives under /api/v1/");
  g_auto (GStrv) seg = g_strsplit (req->path + strlen ("/api/v1/"), "/", 0);
  guint n = g_strv_length (seg);
  if (n > 0 && !*seg[n - 1]) /* trailing slash */
    n--;
  /* /recordings/{id}/files/{track}/{file}: the last two are a file of the recording */
  gboolean files = n == 5 && g_str_equal (seg[0], "recordings") && g_str_equal (seg[2], "files");
  for (guint i = 1; i < (files ? 3 : n); i++)
    if (!hd_id_valid (seg[i]))
      return err (404, "not_found", "identifiers are 1-64 of A-Z a-z 0-9 _ -");
  gboolean get = g_str_equal (m, "GET"), post = g_str_equal (m, "POST");
  if (files) {
    if (!get)
      return err (405, "method_not_allowed", "GET");
    return recording_file (api, req, seg[1], seg[3], seg[4]);
  }
  if (n == 1 && g_str_equal (seg[0], "hearings")) {
    if (post)
      return hearings_create (api, req);
    if (get)
      return hearings_list (api, req);
    return err (405, "method_not_allowed", "GET or POST");
  }
  if (n == 2 && g_str_equal (seg[0], "hearings")) {
    if (get)
      return hearing_show (api, req, seg[1]);
    if (g_str_equal (m, "PATCH"))
      return hearing_patch (api, req, seg[1]);
    return err (405, "method_not_allowed", "GET or PATCH");
  }
  if (n == 3 && g_str_equal (seg[0], "hearings") && g_str_equal (seg[2], "tokens")) {
    if (post)
      return token_issue (api, req, seg[1]);
    return err (405, "method_not_allowed", "POST");
  }
  if (n == 2 && g_str_equal (seg[0], "tokens")) {
    if (g_str_equal (m, "DELETE"))
      return token_revoke (api, req, seg[1]);
    return err (405, "method_not_allowed", "DELETE");
  }
  if (n == 2 && g_str_equal (seg[0], "audit") && g_str_equal (seg[1], "verify")) {
    if (get)
      return audit_verify (api, req);
    return err (405, "method_not_allowed", "GET");
  }
  if (n == 1 && g_str_equal (seg[0], "recordings")) {
    if (get)
      return recordings_list (api, req);
    return err (405, "method_not_allowed", "GET");
  }
  if (n == 2 && g_str_equal (seg[0], "recordings")) {
    if (get)
      return recording_show (api, req, seg[1]);
    if (g_str_equal (m, "DELETE"))
      return recording_delete (api, req, seg[1]);
    return err (405, "method_not_allowed", "GET or DELETE");
  }
  if (n == 3 && g_str_equal (seg[0], "recordings") && g_str_equal (seg[2], "hold")) {
    if (g_str_equal (m, "PUT"))
      return recording_hold (api, req, seg[1]);
    return err (405, "method_not_allowed", "PUT");
  }
  if (n == 3 && g_str_equal (seg[0], "hearings") && g_str_equal (seg[2], "grants")) {
    if (get || post)
      return grants (api, req, seg[1]);
    return err (405, "method_not_allowed", "GET or POST");
  }
  if (n == 4 && g_str_equal (seg[0], "hearings") && g_str_equal (seg[2], "grants")) {
    if (g_str_equal (m, "DELETE"))
      return grant_revoke (api, req, seg[1], seg[3]);
    return err (405, "method_not_allowed", "DELETE");
  }
  if (n == 3 && g_str_equal (seg[0], "recordings") && g_str_equal (seg[2], "export")) {
    if (get)
      return recording_export (api, req, seg[1]);
    return err (405, "method_not_allowed", "GET");
  }
  if (n == 3 && g_str_equal (seg[0], "recordings") && g_str_equal (seg[2], "verify")) {
    if (post)
      return recording_verify (api, req, seg[1]);
    return err (405, "method_not_allowed", "POST");
  }
  if (n == 1 && g_str_equal (seg[0], "public-key")) {
    if (!get)
      return err (405, "method_not_allowed", "GET");
    g_autofree char *pem = hd_signer_public_pem (hd_core_signer (api->core));
    return reply (200, json_pack ("{s:s, s:s}", "algorithm", "Ed25519", "public_key_pem", pem));
  }
  return err (404, "not_found", "no such route");
}

/* A Reply into the server's terms. */
static int
to_http (const HdHttpRequest *req, Reply r, HdHttpReply *out)
{
  if (r.file_path || r.file_open) {
    out->file_path = r.file_path;
    out->file_open = r.file_open;
    out->file_fd = r.file_fd;
    out->file_offset = r.file_offset;
    out->body_len = r.file_len;
    out->content_type = r.file_type;
    out->content_range = r.content_range;
    out->content_disposition = r.disposition;
    g_debug ("%s %s -> %d (%zu bytes)", req->method, req->path, r.status, r.file_len);
    return r.status;
  }
  g_free (r.disposition);
  if (r.status == HD_HTTP_DEFERRED)
    return r.status;
  char *s = json_dumps (r.body, JSON_COMPACT);
  json_decref (r.body);
  out->body = g_strdup (s);
  out->content_range = r.content_range; /* a 416 says the size */
  free (s);
  if (r.status >= 500)
    g_warning ("%s %s -> %d", req->method, req->path, r.status);
  else
    g_debug ("%s %s -> %d", req->method, req->path, r.status);
  return r.status;
}

int
hd_api_handle (const HdHttpRequest *req, HdHttpReply *out, gpointer user)
{
  HdApi *api = user;
  if (!api->exports)
    api->exports = g_hash_table_new (g_str_hash, g_str_equal);
  return to_http (req, route (api, req), out);
}
