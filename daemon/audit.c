/* audit.c — append and verify the audit chain. The hash input is length-prefixed fields, so no
 * choice of field contents can make two different rows hash alike:
 *   sha256("hd-audit-v1" | len:prev_hash | len:seq | len:ts | len:actor | len:action |
 *          len:hearing_id | len:detail)  */
#define G_LOG_DOMAIN "hd-audit"

#include "daemon/audit.h"
#include "daemon/util.h"

#include <string.h>

static char *
row_hash (const char *prev, gint64 seq, const char *ts, const char *actor, const char *action,
          const char *hearing, const char *detail)
{
  GString *s = g_string_new ("hd-audit-v1");
  char seqs[32];
  g_snprintf (seqs, sizeof seqs, "%" G_GINT64_FORMAT, seq);
  const char *fields[] = { prev, seqs, ts, actor, action, hearing, detail };
  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    g_string_append_printf (s, "|%zu:%s", strlen (fields[i]), fields[i]);
  char *h = hd_sha256_hex (s->str, s->len);
  g_string_free (s, TRUE);
  return h;
}

static gboolean
fail_sql (HdStore *store, GError **error)
{
  g_set_error (error, HD_STORE_ERROR, HD_STORE_ERROR_SQL, "audit: %s",
               sqlite3_errmsg (hd_store_db (store)));
  return FALSE;
}

gboolean
hd_audit_append (HdStore *store, const char *actor, const char *action, const char *hearing_id,
                 const char *detail_json, GError **error)
{
  sqlite3 *db = hd_store_db (store);
  sqlite3_stmt *st = NULL;
  g_autofree char *prev = g_strdup (HD_AUDIT_GENESIS);
  gint64 seq = 1;
  const char *hid = hearing_id ? hearing_id : "";
  const char *detail = detail_json ? detail_json : "{}";
  g_autofree char *ts = hd_time_iso (g_get_real_time ());
  g_autofree char *hash = NULL;

  if (!hd_store_exec (store, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (sqlite3_prepare_v2 (db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1, &st,
                          NULL) != SQLITE_OK)
    goto sql_error;
  if (sqlite3_step (st) == SQLITE_ROW) {
    seq = sqlite3_column_int64 (st, 0) + 1;
    g_free (prev);
    prev = g_strdup ((const char *) sqlite3_column_text (st, 1));
  }
  sqlite3_finalize (st);
  st = NULL;

  hash = row_hash (prev, seq, ts, actor, action, hid, detail);
  if (sqlite3_prepare_v2 (db, "INSERT INTO audit (seq, ts, actor, action, hearing_id, detail,"
                              " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
                          -1, &st, NULL) != SQLITE_OK)
    goto sql_error;
  sqlite3_bind_int64 (st, 1, seq);
  const char *v[] = { ts, actor, action, hid, detail, prev, hash };
  for (int i = 0; i < (int) G_N_ELEMENTS (v); i++)
    sqlite3_bind_text (st, i + 2, v[i], -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) != SQLITE_DONE)
    goto sql_error;
  sqlite3_finalize (st);
  st = NULL;
  if (sqlite3_prepare_v2 (db, "INSERT INTO audit_head (one, seq, hash) VALUES (1, ?, ?)"
                              " ON CONFLICT(one) DO UPDATE SET seq = excluded.seq,"
                              " hash = excluded.hash",
                          -1, &st, NULL) != SQLITE_OK)
    goto sql_error;
  sqlite3_bind_int64 (st, 1, seq);
  sqlite3_bind_text (st, 2, hash, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) != SQLITE_DONE)
    goto sql_error;
  sqlite3_finalize (st);
  return hd_store_exec (store, "COMMIT", error);

sql_error:
  fail_sql (store, error);
  sqlite3_finalize (st);
  hd_store_exec (store, "ROLLBACK", NULL);
  return FALSE;
}

static void
bad (HdAuditVerdict *v, gint64 seq, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static void
bad (HdAuditVerdict *v, gint64 seq, const char *fmt, ...)
{
  va_list ap;
  if (!v->ok)
    return;
  v->ok = FALSE;
  v->first_bad_seq = seq;
  va_start (ap, fmt);
  g_vsnprintf (v->problem, sizeof v->problem, fmt, ap);
  va_end (ap);
}

gboolean
hd_audit_verify (HdStore *store, HdAuditVerdict *v, GError **error)
{
  sqlite3 *db = hd_store_db (store);
  sqlite3_stmt *st = NULL;
  memset (v, 0, sizeof *v);
  v->ok = TRUE;
  g_autofree char *prev = g_strdup (HD_AUDIT_GENESIS);
  gint64 expect = 1;

  if (sqlite3_prepare_v2 (db, "SELECT seq, ts, actor, action, hearing_id, detail, prev_hash,"
                              " hash FROM audit ORDER BY seq",
                          -1, &st, NULL) != SQLITE_OK)
    return fail_sql (store, error);
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
    gint64 seq = sqlite3_column_int64 (st, 0);
    const char *f[7];
    for (int i = 0; i < 7; i++) {
      f[i] = (const char *) sqlite3_column_text (st, i + 1);
      if (!f[i])
        f[i] = "";
    }
    v->rows++;
    if (seq != expect)
      bad (v, expect, "row %" G_GINT64_FORMAT " is missing (next row is %" G_GINT64_FORMAT ")",
           expect, seq);
    else if (!g_str_equal (f[5], prev))
      bad (v, seq, "prev_hash does not match the hash of row %" G_GINT64_FORMAT, seq - 1);
    else {
      g_autofree char *h = row_hash (prev, seq, f[0], f[1], f[2], f[3], f[4]);
      if (!g_str_equal (h, f[6]))
        bad (v, seq, "contents do not match the row's hash (edited)");
    }
    g_free (prev);
    prev = g_strdup (f[6]);
    expect = seq + 1;
  }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return fail_sql (store, error);
  g_strlcpy (v->head_hash, prev, sizeof v->head_hash);

  /* The head catches removal of the newest rows, which the chain alone cannot show. */
  if (sqlite3_prepare_v2 (db, "SELECT seq, hash FROM audit_head WHERE one = 1", -1, &st, NULL) !=
      SQLITE_OK)
    return fail_sql (store, error);
  if (sqlite3_step (st) == SQLITE_ROW) {
    gint64 hseq = sqlite3_column_int64 (st, 0);
    const char *hh = (const char *) sqlite3_column_text (st, 1);
    if (hseq != expect - 1)
      bad (v, MIN (hseq, expect), "chain ends at row %" G_GINT64_FORMAT " but its head says row %"
           G_GINT64_FORMAT " (rows removed)", expect - 1, hseq);
    else if (g_strcmp0 (hh, prev) != 0)
      bad (v, hseq, "the newest row's hash differs from the recorded head");
  } else if (v->rows > 0) {
    bad (v, 1, "the chain's head record is missing");
  }
  sqlite3_finalize (st);
  return TRUE;
}
