/* store.c — SQLite catalogue with versioned migrations (PRAGMA user_version). WAL mode and a
 * busy timeout let hearingctl --state-dir work beside a running daemon. */
#define G_LOG_DOMAIN "hd-store"

#include "daemon/store.h"
#include "daemon/util.h"

/* clang-format off */
G_DEFINE_QUARK (hd-store-error-quark, hd_store_error)
/* clang-format on */

struct HdStore {
  sqlite3 *db;
};

/* Migration N takes the schema from version N to N+1. Never edit a released one: append. */
static const char *migrations[] = {
  /* 0 -> 1: hearings, tokens, audit */
  "CREATE TABLE hearings ("
  "  id TEXT PRIMARY KEY, case_number TEXT NOT NULL, title TEXT NOT NULL, court TEXT NOT NULL,"
  "  scheduled_start TEXT NOT NULL, visibility TEXT NOT NULL, state TEXT NOT NULL,"
  "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
  "CREATE TABLE tokens ("
  "  jti TEXT PRIMARY KEY, hearing_id TEXT NOT NULL, participant_id TEXT NOT NULL,"
  "  name TEXT NOT NULL, role TEXT NOT NULL, issued_at INTEGER NOT NULL,"
  "  expires_at INTEGER NOT NULL, revoked_at TEXT);"
  "CREATE TABLE audit ("
  "  seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
  "  hearing_id TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL,"
  "  hash TEXT NOT NULL);",
  /* 1 -> 2: look-ups by state and case number; the audit chain's head kept beside it */
  "CREATE INDEX hearings_state ON hearings(state);"
  "CREATE INDEX hearings_case ON hearings(case_number);"
  "CREATE INDEX tokens_hearing ON tokens(hearing_id);"
  "CREATE TABLE audit_head (one INTEGER PRIMARY KEY CHECK (one = 1), seq INTEGER NOT NULL,"
  "  hash TEXT NOT NULL);",
  /* 2 -> 3: the recordings catalogue (the manifests on disk are the evidence; this finds them) */
  "CREATE TABLE recordings ("
  "  id TEXT PRIMARY KEY, hearing_id TEXT NOT NULL, case_number TEXT NOT NULL,"
  "  court TEXT NOT NULL, dir TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL,"
  "  ended_at TEXT, duration_ms INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
  "  segments INTEGER NOT NULL DEFAULT 0, participants TEXT NOT NULL DEFAULT '');"
  "CREATE INDEX recordings_case ON recordings(case_number);"
  "CREATE INDEX recordings_hearing ON recordings(hearing_id);",
  /* 3 -> 4: legal holds, deletion (the row stays, the files go), grants to sealed hearings */
  "ALTER TABLE recordings ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE recordings ADD COLUMN hold_reason TEXT;"
  "ALTER TABLE recordings ADD COLUMN deleted_at TEXT;"
  "CREATE TABLE grants ("
  "  hearing_id TEXT NOT NULL, subject TEXT NOT NULL, granted_by TEXT NOT NULL,"
  "  granted_at TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (hearing_id, subject));",
};

int
hd_store_schema_latest (void)
{
  return G_N_ELEMENTS (migrations);
}

static gboolean
sql_error (HdStore *store, GError **error, const char *what)
{
  g_set_error (error, HD_STORE_ERROR, HD_STORE_ERROR_SQL, "%s: %s", what,
               sqlite3_errmsg (store->db));
  return FALSE;
}

gboolean
hd_store_exec (HdStore *store, const char *sql, GError **error)
{
  char *msg = NULL;
  if (sqlite3_exec (store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    g_set_error (error, HD_STORE_ERROR, HD_STORE_ERROR_SQL, "%s", msg ? msg : "SQL failed");
    sqlite3_free (msg);
    return FALSE;
  }
  return TRUE;
}

int
hd_store_schema_version (HdStore *store)
{
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2 (store->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK
      && sqlite3_step (st) == SQLITE_ROW)
    v = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);
  return v;
}

static gboolean
migrate (HdStore *store, int target, GError **error)
{
  int v = hd_store_schema_version (store);
  if (v < 0)
    return sql_error (store, error, "reading schema version");
  if (v > hd_store_schema_latest ()) {
    g_set_error (error, HD_STORE_ERROR, HD_STORE_ERROR_VERSION,
                 "database schema version %d is newer than this hearingd (%d)", v,
                 hd_store_schema_latest ());
    return FALSE;
  }
  for (; v < target; v++) {
    g_autofree char *sql = g_strdup_printf ("BEGIN IMMEDIATE; %s PRAGMA user_version = %d; COMMIT;",
                                            migrations[v], v + 1);
    if (!hd_store_exec (store, sql, error)) {
      hd_store_exec (store, "ROLLBACK", NULL);
      g_prefix_error (error, "migration to schema version %d: ", v + 1);
      return FALSE;
    }
    g_info ("store migrated to schema version %d", v + 1);
  }
  return TRUE;
}

HdStore *
hd_store_open_at_version (const char *path, int version, GError **error)
{
  HdStore *store = g_new0 (HdStore, 1);
  if (sqlite3_open_v2 (path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)
      != SQLITE_OK) {
    g_set_error (error, HD_STORE_ERROR, HD_STORE_ERROR_SQL, "cannot open database %s: %s", path,
                 store->db ? sqlite3_errmsg (store->db) : "out of memory");
    hd_store_close (store);
    return NULL;
  }
  sqlite3_busy_timeout (store->db, 5000);
  if (!hd_store_exec (store,
                      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                      "PRAGMA foreign_keys = ON;",
                      error)
      || !migrate (store, version, error)) {
    g_prefix_error (error, "%s: ", path);
    hd_store_close (store);
    return NULL;
  }
  return store;
}

HdStore *
hd_store_open (const char *path, GError **error)
{
  return hd_store_open_at_version (path, hd_store_schema_latest (), error);
}

void
hd_store_close (HdStore *store)
{
  if (!store)
    return;
  sqlite3_close (store->db);
  g_free (store);
}

sqlite3 *
hd_store_db (HdStore *store)
{
  return store->db;
}

void
hd_hearing_row_free (HdHearingRow *r)
{
  if (!r)
    return;
  g_free (r->id);
  g_free (r->case_number);
  g_free (r->title);
  g_free (r->court);
  g_free (r->scheduled_start);
  g_free (r->visibility);
  g_free (r->state);
  g_free (r->created_at);
  g_free (r->updated_at);
  g_free (r);
}

#define HEARING_COLS                                                                               \
  "id, case_number, title, court, scheduled_start, visibility, state, created_at, updated_at"

static HdHearingRow *
row_from (sqlite3_stmt *st)
{
  HdHearingRow *r = g_new0 (HdHearingRow, 1);
  char **f[]
      = { &r->id,         &r->case_number, &r->title,      &r->court,     &r->scheduled_start,
          &r->visibility, &r->state,       &r->created_at, &r->updated_at };
  for (int i = 0; i < (int)G_N_ELEMENTS (f); i++)
    *f[i] = g_strdup ((const char *)sqlite3_column_text (st, i));
  return r;
}

gboolean
hd_store_hearing_add (HdStore *store, const HdHearingRow *r, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (store->db,
                          "INSERT INTO hearings (" HEARING_COLS ") VALUES "
                          "(?,?,?,?,?,?,?,?,?)",
                          -1, &st, NULL)
      != SQLITE_OK)
    return sql_error (store, error, "adding hearing");
  const char *v[]
      = { r->id,         r->case_number, r->title,      r->court,     r->scheduled_start,
          r->visibility, r->state,       r->created_at, r->updated_at };
  for (int i = 0; i < (int)G_N_ELEMENTS (v); i++)
    sqlite3_bind_text (st, i + 1, v[i], -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc == SQLITE_CONSTRAINT) {
    g_set_error (error, HD_STORE_ERROR, HD_STORE_ERROR_EXISTS, "hearing %s exists", r->id);
    return FALSE;
  }
  return rc == SQLITE_DONE || sql_error (store, error, "adding hearing");
}

HdHearingRow *
hd_store_hearing_get (HdStore *store, const char *id, GError **error)
{
  sqlite3_stmt *st = NULL;
  HdHearingRow *r = NULL;
  if (sqlite3_prepare_v2 (store->db, "SELECT " HEARING_COLS " FROM hearings WHERE id = ?", -1, &st,
                          NULL)
      != SQLITE_OK) {
    sql_error (store, error, "reading hearing");
    return NULL;
  }
  sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    r = row_from (st);
  else if (rc == SQLITE_DONE)
    g_set_error (error, HD_STORE_ERROR, HD_STORE_ERROR_NOT_FOUND, "no hearing %s", id);
  else
    sql_error (store, error, "reading hearing");
  sqlite3_finalize (st);
  return r;
}

GPtrArray *
hd_store_hearing_list (HdStore *store, const char *state, const char *case_number, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (store->db,
                          "SELECT " HEARING_COLS " FROM hearings WHERE (?1 IS NULL OR state = ?1)"
                          " AND (?2 IS NULL OR case_number = ?2)"
                          " ORDER BY created_at DESC, id",
                          -1, &st, NULL)
      != SQLITE_OK) {
    sql_error (store, error, "listing hearings");
    return NULL;
  }
  if (state)
    sqlite3_bind_text (st, 1, state, -1, SQLITE_TRANSIENT);
  if (case_number)
    sqlite3_bind_text (st, 2, case_number, -1, SQLITE_TRANSIENT);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)hd_hearing_row_free);
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, row_from (st));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE) {
    g_ptr_array_unref (out);
    sql_error (store, error, "listing hearings");
    return NULL;
  }
  return out;
}

gboolean
hd_store_hearing_update (HdStore *store, HdHearingRow *r, GError **error)
{
  sqlite3_stmt *st = NULL;
  g_free (r->updated_at);
  r->updated_at = hd_time_iso (g_get_real_time ());
  if (sqlite3_prepare_v2 (store->db,
                          "UPDATE hearings SET case_number = ?2, title = ?3, court = ?4,"
                          " scheduled_start = ?5, visibility = ?6, state = ?7, updated_at = ?9"
                          " WHERE id = ?1",
                          -1, &st, NULL)
      != SQLITE_OK)
    return sql_error (store, error, "updating hearing");
  const char *v[]
      = { r->id,         r->case_number, r->title,      r->court,     r->scheduled_start,
          r->visibility, r->state,       r->created_at, r->updated_at };
  for (int i = 0; i < (int)G_N_ELEMENTS (v); i++)
    sqlite3_bind_text (st, i + 1, v[i], -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return sql_error (store, error, "updating hearing");
  if (sqlite3_changes (store->db) == 0) {
    g_set_error (error, HD_STORE_ERROR, HD_STORE_ERROR_NOT_FOUND, "no hearing %s", r->id);
    return FALSE;
  }
  return TRUE;
}

gboolean
hd_store_token_add (HdStore *store, const HdTokenRecord *t, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (store->db,
                          "INSERT INTO tokens (jti, hearing_id, participant_id, name, role,"
                          " issued_at, expires_at) VALUES (?,?,?,?,?,?,?)",
                          -1, &st, NULL)
      != SQLITE_OK)
    return sql_error (store, error, "recording token");
  sqlite3_bind_text (st, 1, t->jti, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 2, t->hearing_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 3, t->participant_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 4, t->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 5, t->role, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 6, t->issued_at);
  sqlite3_bind_int64 (st, 7, t->expires_at);
  int rc = sqlite3_step (st);
  sqlite3_finalize (st);
  return rc == SQLITE_DONE || sql_error (store, error, "recording token");
}

gboolean
hd_store_token_revoke (HdStore *store, const char *jti, GError **error)
{
  sqlite3_stmt *st = NULL;
  g_autofree char *now = hd_time_iso (g_get_real_time ());
  if (sqlite3_prepare_v2 (store->db,
                          "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE jti = ?1",
                          -1, &st, NULL)
      != SQLITE_OK)
    return sql_error (store, error, "revoking token");
  sqlite3_bind_text (st, 1, jti, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 2, now, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return sql_error (store, error, "revoking token");
  if (sqlite3_changes (store->db) == 0) {
    g_set_error (error, HD_STORE_ERROR, HD_STORE_ERROR_NOT_FOUND, "no token with jti %s", jti);
    return FALSE;
  }
  return TRUE;
}

gboolean
hd_store_token_is_revoked (HdStore *store, const char *jti)
{
  sqlite3_stmt *st = NULL;
  gboolean revoked = FALSE;
  if (sqlite3_prepare_v2 (store->db, "SELECT revoked_at IS NOT NULL FROM tokens WHERE jti = ?", -1,
                          &st, NULL)
      == SQLITE_OK) {
    sqlite3_bind_text (st, 1, jti, -1, SQLITE_TRANSIENT);
    if (sqlite3_step (st) == SQLITE_ROW)
      revoked = sqlite3_column_int (st, 0) != 0;
  }
  sqlite3_finalize (st);
  return revoked;
}

/* ---------------------------------------------------------------- recordings */

gboolean
hd_store_recording_add (HdStore *store, const char *id, const char *hearing_id,
                        const char *case_number, const char *court, const char *dir,
                        const char *started_at, GError **error)
{
  sqlite3_stmt *st = NULL;
  gboolean ok = sqlite3_prepare_v2 (store->db,
                                    "INSERT INTO recordings (id, hearing_id, case_number, court,"
                                    " dir, status, started_at) VALUES (?,?,?,?,?,'recording',?)",
                                    -1, &st, NULL)
                == SQLITE_OK;
  const char *v[] = { id, hearing_id, case_number, court, dir, started_at };
  for (int i = 0; ok && i < 6; i++)
    sqlite3_bind_text (st, i + 1, v[i], -1, SQLITE_TRANSIENT);
  ok = ok && sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  return ok || sql_error (store, error, "adding a recording");
}

gboolean
hd_store_recording_update (HdStore *store, const char *id, const char *status, const char *ended_at,
                           gint64 duration_ms, gint64 bytes, gint64 segments,
                           const char *participants, GError **error)
{
  sqlite3_stmt *st = NULL;
  gboolean ok = sqlite3_prepare_v2 (store->db,
                                    "UPDATE recordings SET status = ?, ended_at = ?, duration_ms"
                                    " = ?, bytes = ?, segments = ?, participants = ? WHERE id = ?",
                                    -1, &st, NULL)
                == SQLITE_OK;
  if (ok) {
    sqlite3_bind_text (st, 1, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, ended_at, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (st, 3, duration_ms);
    sqlite3_bind_int64 (st, 4, bytes);
    sqlite3_bind_int64 (st, 5, segments);
    sqlite3_bind_text (st, 6, participants ? participants : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 7, id, -1, SQLITE_TRANSIENT);
  }
  ok = ok && sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  return ok || sql_error (store, error, "updating a recording");
}

static json_t *
recording_row (sqlite3_stmt *st)
{
  json_t *r = json_object ();
  static const char *cols[]
      = { "id",       "hearing_id",   "case_number", "court",       "dir",
          "status",   "started_at",   "ended_at",    "duration_ms", "bytes",
          "segments", "participants", "legal_hold",  "hold_reason", "deleted_at" };
  for (int i = 0; i < (int)G_N_ELEMENTS (cols); i++) {
    if (sqlite3_column_type (st, i) == SQLITE_NULL)
      json_object_set_new (r, cols[i], json_null ());
    else if (i == 12)
      json_object_set_new (r, cols[i], json_boolean (sqlite3_column_int (st, i)));
    else if (i >= 8 && i <= 10)
      json_object_set_new (r, cols[i], json_integer (sqlite3_column_int64 (st, i)));
    else
      json_object_set_new (r, cols[i], json_string ((const char *)sqlite3_column_text (st, i)));
  }
  return r;
}

#define RECORDING_COLS                                                                             \
  "id, hearing_id, case_number, court, dir, status, started_at, ended_at, duration_ms, bytes,"     \
  " segments, participants, legal_hold, hold_reason, deleted_at"

json_t *
hd_store_recording_list (HdStore *store, const HdRecordingQuery *q, GError **error)
{
  GString *sql = g_string_new ("SELECT " RECORDING_COLS " FROM recordings WHERE 1");
  const char *args[8];
  int n = 0;
  if (q->case_number)
    g_string_append (sql, " AND case_number = ?"), args[n++] = q->case_number;
  if (q->status)
    g_string_append (sql, " AND status = ?"), args[n++] = q->status;
  if (q->court)
    g_string_append (sql, " AND court = ?"), args[n++] = q->court;
  if (q->hearing_id)
    g_string_append (sql, " AND hearing_id = ?"), args[n++] = q->hearing_id;
  if (q->from)
    g_string_append (sql, " AND started_at >= ?"), args[n++] = q->from;
  if (q->to)
    g_string_append (sql, " AND started_at < ?"), args[n++] = q->to;
  if (q->participant) /* names are stored one per line, case-folded */
    g_string_append (sql, " AND instr(participants, ?) > 0"), args[n++] = q->participant;
  g_string_append (sql, " ORDER BY started_at DESC LIMIT 500");
  sqlite3_stmt *st = NULL;
  json_t *list = NULL;
  if (sqlite3_prepare_v2 (store->db, sql->str, -1, &st, NULL) == SQLITE_OK) {
    for (int i = 0; i < n; i++)
      sqlite3_bind_text (st, i + 1, args[i], -1, SQLITE_TRANSIENT);
    list = json_array ();
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW)
      json_array_append_new (list, recording_row (st));
    if (rc != SQLITE_DONE)
      g_clear_pointer (&list, json_decref);
  }
  sqlite3_finalize (st);
  g_string_free (sql, TRUE);
  if (!list)
    sql_error (store, error, "listing recordings");
  return list;
}

json_t *
hd_store_recording_get (HdStore *store, const char *id)
{
  sqlite3_stmt *st = NULL;
  json_t *r = NULL;
  if (sqlite3_prepare_v2 (store->db, "SELECT " RECORDING_COLS " FROM recordings WHERE id = ?", -1,
                          &st, NULL)
      == SQLITE_OK) {
    sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step (st) == SQLITE_ROW)
      r = recording_row (st);
  }
  sqlite3_finalize (st);
  return r;
}

gboolean
hd_store_recording_hold (HdStore *store, const char *id, gboolean hold, const char *reason,
                         GError **error)
{
  sqlite3_stmt *st = NULL;
  gboolean ok = sqlite3_prepare_v2 (store->db,
                                    "UPDATE recordings SET legal_hold = ?, hold_reason = ?"
                                    " WHERE id = ?",
                                    -1, &st, NULL)
                == SQLITE_OK;
  if (ok) {
    sqlite3_bind_int (st, 1, hold ? 1 : 0);
    sqlite3_bind_text (st, 2, reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 3, id, -1, SQLITE_TRANSIENT);
  }
  ok = ok && sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  return ok || sql_error (store, error, "setting a legal hold");
}

gboolean
hd_store_recording_deleted (HdStore *store, const char *id, const char *at, GError **error)
{
  sqlite3_stmt *st = NULL;
  gboolean ok = sqlite3_prepare_v2 (store->db,
                                    "UPDATE recordings SET status = 'deleted', deleted_at = ?"
                                    " WHERE id = ?",
                                    -1, &st, NULL)
                == SQLITE_OK;
  if (ok) {
    sqlite3_bind_text (st, 1, at, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, id, -1, SQLITE_TRANSIENT);
  }
  ok = ok && sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  return ok || sql_error (store, error, "marking a recording deleted");
}

/* ---------------------------------------------------------------- grants */

gboolean
hd_store_grant_add (HdStore *store, const char *hearing_id, const char *subject, const char *by,
                    const char *at, const char *reason, GError **error)
{
  sqlite3_stmt *st = NULL;
  gboolean ok = sqlite3_prepare_v2 (store->db,
                                    "INSERT OR REPLACE INTO grants (hearing_id, subject,"
                                    " granted_by, granted_at, reason) VALUES (?,?,?,?,?)",
                                    -1, &st, NULL)
                == SQLITE_OK;
  const char *v[] = { hearing_id, subject, by, at, reason };
  for (int i = 0; ok && i < 5; i++)
    sqlite3_bind_text (st, i + 1, v[i], -1, SQLITE_TRANSIENT);
  ok = ok && sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  return ok || sql_error (store, error, "adding a grant");
}

int
hd_store_grant_remove (HdStore *store, const char *hearing_id, const char *subject)
{
  sqlite3_stmt *st = NULL;
  int n = -1;
  if (sqlite3_prepare_v2 (store->db, "DELETE FROM grants WHERE hearing_id = ? AND subject = ?", -1,
                          &st, NULL)
      == SQLITE_OK) {
    sqlite3_bind_text (st, 1, hearing_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, subject, -1, SQLITE_TRANSIENT);
    if (sqlite3_step (st) == SQLITE_DONE)
      n = sqlite3_changes (store->db);
  }
  sqlite3_finalize (st);
  return n;
}

gboolean
hd_store_grant_exists (HdStore *store, const char *hearing_id, const char *subject)
{
  sqlite3_stmt *st = NULL;
  gboolean yes = FALSE;
  if (sqlite3_prepare_v2 (store->db, "SELECT 1 FROM grants WHERE hearing_id = ? AND subject = ?",
                          -1, &st, NULL)
      == SQLITE_OK) {
    sqlite3_bind_text (st, 1, hearing_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, subject, -1, SQLITE_TRANSIENT);
    yes = sqlite3_step (st) == SQLITE_ROW;
  }
  sqlite3_finalize (st);
  return yes;
}

json_t *
hd_store_grant_list (HdStore *store, const char *hearing_id)
{
  sqlite3_stmt *st = NULL;
  json_t *list = json_array ();
  if (sqlite3_prepare_v2 (store->db,
                          "SELECT subject, granted_by, granted_at, reason FROM grants"
                          " WHERE hearing_id = ? ORDER BY granted_at",
                          -1, &st, NULL)
      == SQLITE_OK) {
    sqlite3_bind_text (st, 1, hearing_id, -1, SQLITE_TRANSIENT);
    while (sqlite3_step (st) == SQLITE_ROW)
      json_array_append_new (
          list, json_pack ("{s:s, s:s, s:s, s:s}", "subject", sqlite3_column_text (st, 0),
                           "granted_by", sqlite3_column_text (st, 1), "granted_at",
                           sqlite3_column_text (st, 2), "reason", sqlite3_column_text (st, 3)));
  }
  sqlite3_finalize (st);
  return list;
}
