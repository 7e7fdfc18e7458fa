/* Unit tests of the SQLite store: migrations keep data, hearings, tokens; and the audit chain
 * (edit or delete a row -> detected, naming the row). */
#include "daemon/audit.h"
#include "daemon/store.h"
#include "daemon/util.h"

#include <glib/gstdio.h>
#include <string.h>

static char *
tmp_db (void)
{
  g_autofree char *dir = g_dir_make_tmp ("hd-store-XXXXXX", NULL);
  return g_build_filename (dir, "t.db", NULL);
}

static HdHearingRow *
mk_row (const char *id, const char *state)
{
  HdHearingRow *r = g_new0 (HdHearingRow, 1);
  r->id = g_strdup (id);
  r->case_number = g_strdup ("(2026)浙0109民初1234号");
  r->title = g_strdup ("t");
  r->court = g_strdup ("c");
  r->scheduled_start = g_strdup ("2026-12-01T09:30:00+08:00");
  r->visibility = g_strdup ("public");
  r->state = g_strdup (state);
  r->created_at = hd_time_iso (g_get_real_time ());
  r->updated_at = g_strdup (r->created_at);
  return r;
}

static void
test_migrations (void)
{
  g_autofree char *path = tmp_db ();
  g_autoptr (GError) e = NULL;
  HdStore *s = hd_store_open_at_version (path, 1, &e);
  g_assert_no_error (e);
  g_assert_cmpint (hd_store_schema_version (s), ==, 1);
  g_autoptr (HdHearingRow) r = mk_row ("h-1", "open");
  g_assert_true (hd_store_hearing_add (s, r, NULL));
  hd_store_close (s);
  /* Upgrading keeps the rows and adds what v2 brings. */
  s = hd_store_open (path, &e);
  g_assert_no_error (e);
  g_assert_cmpint (hd_store_schema_version (s), ==, hd_store_schema_latest ());
  g_autoptr (HdHearingRow) back = hd_store_hearing_get (s, "h-1", NULL);
  g_assert_cmpstr (back->case_number, ==, "(2026)浙0109民初1234号");
  g_assert_true (hd_store_exec (s, "SELECT * FROM audit_head", NULL));
  /* A database from a newer hearingd is refused, not damaged. */
  g_assert_true (hd_store_exec (s, "PRAGMA user_version = 99", NULL));
  hd_store_close (s);
  g_assert_null (hd_store_open (path, &e));
  g_assert_error (e, HD_STORE_ERROR, HD_STORE_ERROR_VERSION);
}

static void
test_hearings_and_tokens (void)
{
  g_autofree char *path = tmp_db ();
  g_autoptr (HdStore) s = hd_store_open (path, NULL);
  g_autoptr (HdHearingRow) a = mk_row ("h-a", "open");
  g_autoptr (HdHearingRow) b = mk_row ("h-b", "scheduled");
  g_autoptr (GError) e = NULL;
  g_assert_true (hd_store_hearing_add (s, a, NULL));
  g_assert_true (hd_store_hearing_add (s, b, NULL));
  g_assert_false (hd_store_hearing_add (s, a, &e));
  g_assert_error (e, HD_STORE_ERROR, HD_STORE_ERROR_EXISTS);
  g_clear_error (&e);
  g_autoptr (GPtrArray) open = hd_store_hearing_list (s, "open", NULL, NULL);
  g_assert_cmpuint (open->len, ==, 1);
  g_autoptr (GPtrArray) bycase = hd_store_hearing_list (s, NULL, "(2026)浙0109民初1234号", NULL);
  g_assert_cmpuint (bycase->len, ==, 2);
  g_autoptr (GPtrArray) none = hd_store_hearing_list (s, NULL, "x", NULL);
  g_assert_cmpuint (none->len, ==, 0);
  g_free (b->state);
  b->state = g_strdup ("open");
  g_assert_true (hd_store_hearing_update (s, b, NULL));
  g_autoptr (HdHearingRow) b2 = hd_store_hearing_get (s, "h-b", NULL);
  g_assert_cmpstr (b2->state, ==, "open");
  g_assert_null (hd_store_hearing_get (s, "h-zz", &e));
  g_assert_error (e, HD_STORE_ERROR, HD_STORE_ERROR_NOT_FOUND);
  g_clear_error (&e);

  HdTokenRecord t = { "t-1", "h-a", "p-1", "n", "party", 1, 2 };
  g_assert_true (hd_store_token_add (s, &t, NULL));
  g_assert_false (hd_store_token_is_revoked (s, "t-1"));
  g_assert_true (hd_store_token_revoke (s, "t-1", NULL));
  g_assert_true (hd_store_token_is_revoked (s, "t-1"));
  g_assert_true (hd_store_token_revoke (s, "t-1", NULL));
  g_assert_false (hd_store_token_revoke (s, "t-none", &e));
  g_assert_error (e, HD_STORE_ERROR, HD_STORE_ERROR_NOT_FOUND);
}

static HdStore *
audited_store (int rows)
{
  g_autofree char *path = tmp_db ();
  HdStore *s = hd_store_open (path, NULL);
  for (int i = 0; i < rows; i++) {
    g_autofree char *d = g_strdup_printf ("{\"n\":%d}", i);
    g_assert_true (hd_audit_append (s, "judge:p-1", "session.join", "h-1", d, NULL));
  }
  return s;
}

static void
verify_bad (HdStore *s, gint64 seq, const char *fragment)
{
  HdAuditVerdict v;
  g_assert_true (hd_audit_verify (s, &v, NULL));
  g_assert_false (v.ok);
  g_assert_cmpint (v.first_bad_seq, ==, seq);
  if (!strstr (v.problem, fragment))
    g_error ("problem '%s' lacks '%s'", v.problem, fragment);
}

static void
test_audit_chain (void)
{
  HdStore *s = audited_store (10);
  HdAuditVerdict v;
  g_assert_true (hd_audit_verify (s, &v, NULL));
  g_assert_true (v.ok);
  g_assert_cmpint (v.rows, ==, 10);
  hd_store_close (s);

  s = audited_store (10);
  g_assert_true (hd_store_exec (s, "UPDATE audit SET actor = 'someone' WHERE seq = 4", NULL));
  verify_bad (s, 4, "edited");
  hd_store_close (s);

  s = audited_store (10);
  g_assert_true (hd_store_exec (s, "UPDATE audit SET detail = '{\"n\":99}' WHERE seq = 10", NULL));
  verify_bad (s, 10, "edited");
  hd_store_close (s);

  s = audited_store (10);
  g_assert_true (hd_store_exec (s, "DELETE FROM audit WHERE seq = 6", NULL));
  verify_bad (s, 6, "missing");
  hd_store_close (s);

  s = audited_store (10);
  g_assert_true (hd_store_exec (s, "DELETE FROM audit WHERE seq >= 9", NULL));
  verify_bad (s, 9, "rows removed");
  hd_store_close (s);

  /* Rewriting a row and its hash still breaks the link to the next row. */
  s = audited_store (10);
  g_assert_true (hd_store_exec (s, "UPDATE audit SET hash = 'x' || substr(hash, 2) WHERE seq = 3", NULL));
  verify_bad (s, 3, "edited");
  hd_store_close (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/store/migrations", test_migrations);
  g_test_add_func ("/store/hearings-and-tokens", test_hearings_and_tokens);
  g_test_add_func ("/store/audit-chain", test_audit_chain);
  return g_test_run ();
}
