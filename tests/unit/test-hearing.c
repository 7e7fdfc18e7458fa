/* Unit tests of the hearing core through its IO table with fake sessions: the state machine,
 * join/welcome/roster/leave, refusals, replacement on reconnect, revocation and closing. */
#include "daemon/audit.h"
#include "daemon/hearing.h"
#include "daemon/util.h"

#include <string.h>

#define TURN_EXPECTED "HEnOQVxv8XodOhXePsdLi/y9DY0="

typedef struct {
  GPtrArray *got; /* char* */
  int close_code;
  gboolean joined;
} Fake;

static void
f_send (gpointer conn, char *text, gpointer user)
{
  g_ptr_array_add (((Fake *)conn)->got, g_strdup (text));
  free (text);
}

static void
f_send_latest (gpointer conn, const char *kind, char *text, gpointer user)
{
  f_send (conn, text, user);
}

static void
f_close (gpointer conn, int code, const char *reason, gpointer user)
{
  ((Fake *)conn)->close_code = code;
}

static void
f_joined (gpointer conn, gpointer user)
{
  ((Fake *)conn)->joined = TRUE;
}

static const HdCoreIO fake_io
    = { .send = f_send, .send_latest = f_send_latest, .close = f_close, .joined = f_joined };

typedef struct {
  HdConfig *cfg;
  HdStore *store;
  HdSigner *signer;
  HdCore *core;
  HdHearingRow *row;
} Fix;

static void
fix_setup (Fix *f, gconstpointer data)
{
  static const guint8 seed[32] = { 7 };
  g_autofree char *dir = g_dir_make_tmp ("hd-hearing-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "t.db", NULL);
  f->cfg = hd_config_new_defaults ();
  f->cfg->hearing_max_participants = 3;
  f->cfg->lobby = data == NULL ? FALSE : TRUE; /* the lobby tests pass a non-NULL data */
  f->store = hd_store_open (db, NULL);
  f->signer = hd_signer_new_from_seed (seed);
  f->core = hd_core_new (f->store, f->signer, f->cfg, &fake_io, NULL);
  f->row = hd_core_hearing_create (f->core, "(2026)浙0109民初1号", "t", "c",
                                   "2026-12-01T09:30:00+08:00", NULL, "test", NULL);
  g_assert_nonnull (f->row);
}

static void
fix_teardown (Fix *f, gconstpointer data)
{
  hd_hearing_row_free (f->row);
  hd_core_free (f->core);
  hd_signer_free (f->signer);
  hd_store_close (f->store);
  hd_config_free (f->cfg);
}

static Fake *
fake_new (void)
{
  Fake *k = g_new0 (Fake, 1);
  k->got = g_ptr_array_new_with_free_func (g_free);
  return k;
}

static void
fake_free (Fake *k)
{
  g_ptr_array_unref (k->got);
  g_free (k);
}

/* The newest message of `type`, parsed (caller decrefs), or NULL. */
static json_t *
last_of (Fake *k, const char *type)
{
  for (guint i = k->got->len; i-- > 0;) {
    json_t *j = json_loads (k->got->pdata[i], 0, NULL);
    if (g_strcmp0 (json_string_value (json_object_get (j, "type")), type) == 0)
      return j;
    json_decref (j);
  }
  return NULL;
}

static char *
token_for (Fix *f, HdRole role, const char *name, const char *pid, char **jti)
{
  g_autoptr (GError) e = NULL;
  json_t *t = hd_core_token_issue (f->core, f->row, role, name, pid, NULL, 0, "test", &e);
  g_assert_no_error (e);
  char *tok = g_strdup (json_string_value (json_object_get (t, "token")));
  if (jti)
    *jti = g_strdup (json_string_value (json_object_get (t, "jti")));
  g_assert_true (g_str_has_suffix (json_string_value (json_object_get (t, "join_url")), tok));
  json_decref (t);
  return tok;
}

static void
join (Fix *f, Fake *k, const char *token)
{
  HdMsg m = { .type = HD_MSG_JOIN, .id = json_integer (1), .token = (char *)token };
  hd_core_message (f->core, k, &m);
  json_decref (m.id);
}

static const char *
last_error_code (Fake *k)
{
  static char code[64];
  json_t *j = last_of (k, "error");
  g_assert_nonnull (j);
  g_strlcpy (code, json_string_value (json_object_get (j, "code")), sizeof code);
  json_decref (j);
  return code;
}

static void
set_state (Fix *f, const char *state)
{
  g_autoptr (GError) e = NULL;
  g_assert_true (
      hd_core_hearing_update (f->core, f->row, NULL, NULL, NULL, NULL, NULL, state, "test", &e));
}

static void
test_states (void)
{
  g_assert_true (hd_hearing_transition_legal ("scheduled", "open"));
  g_assert_true (hd_hearing_transition_legal ("open", "in_session"));
  g_assert_true (hd_hearing_transition_legal ("in_session", "recess"));
  g_assert_true (hd_hearing_transition_legal ("recess", "in_session"));
  g_assert_true (hd_hearing_transition_legal ("recess", "closed"));
  g_assert_false (hd_hearing_transition_legal ("scheduled", "in_session"));
  g_assert_false (hd_hearing_transition_legal ("scheduled", "closed"));
  g_assert_false (hd_hearing_transition_legal ("closed", "open"));
  g_assert_false (hd_hearing_transition_legal ("open", "recess"));
  g_assert_false (hd_hearing_transition_legal ("in_session", "open"));
}

static void
test_transitions (Fix *f, gconstpointer data)
{
  g_autoptr (GError) e = NULL;
  g_assert_false (hd_core_hearing_update (f->core, f->row, NULL, NULL, NULL, NULL, NULL,
                                          "in_session", "test", &e));
  g_assert_error (e, HD_CORE_ERROR, HD_CORE_ERROR_ILLEGAL_TRANSITION);
  g_clear_error (&e);
  g_assert_false (
      hd_core_hearing_update (f->core, f->row, NULL, NULL, NULL, NULL, "secret", NULL, "test", &e));
  g_assert_error (e, HD_CORE_ERROR, HD_CORE_ERROR_INVALID);
  g_clear_error (&e);
  g_assert_false (hd_core_hearing_update (f->core, f->row, NULL, NULL, NULL, "tomorrow", NULL, NULL,
                                          "test", &e));
  g_assert_error (e, HD_CORE_ERROR, HD_CORE_ERROR_INVALID);
  g_clear_error (&e);
  set_state (f, "open");
  set_state (f, "in_session");
  set_state (f, "recess");
  set_state (f, "in_session");
  set_state (f, "closed");
  g_assert_false (hd_core_hearing_update (f->core, f->row, NULL, "new title", NULL, NULL, NULL,
                                          NULL, "test", &e));
  g_assert_error (e, HD_CORE_ERROR, HD_CORE_ERROR_CLOSED);
  g_autoptr (HdHearingRow) stored = hd_store_hearing_get (f->store, f->row->id, NULL);
  g_assert_cmpstr (stored->state, ==, "closed");
  HdAuditVerdict v;
  g_assert_true (hd_audit_verify (f->store, &v, NULL));
  g_assert_true (v.ok);
  g_assert_cmpint (v.rows, ==, 6); /* create + 5 state changes */
}

static void
test_join_roster_leave (Fix *f, gconstpointer data)
{
  g_autofree char *tj = token_for (f, HD_ROLE_JUDGE, "Judge Wang", NULL, NULL);
  g_autofree char *tp = token_for (f, HD_ROLE_PARTY, "Zhang San", NULL, NULL);
  Fake *judge = fake_new (), *party = fake_new ();

  /* scheduled: the judge may come early, a party may not */
  join (f, party, tp);
  g_assert_cmpstr (last_error_code (party), ==, "hearing_not_open");
  g_assert_false (party->joined);
  join (f, judge, tj);
  g_assert_true (judge->joined);
  json_t *w = last_of (judge, "welcome");
  g_assert_nonnull (w);
  g_assert_cmpint (json_integer_value (json_object_get (w, "ref")), ==, 1);
  g_assert_cmpstr (json_string_value (json_object_get (json_object_get (w, "participant"), "role")),
                   ==, "judge");
  g_assert_cmpstr (
      json_string_value (json_object_get (json_object_get (w, "hearing"), "case_number")), ==,
      "(2026)浙0109民初1号");
  json_t *perms = json_object_get (w, "permissions");
  gboolean admit = FALSE;
  for (size_t i = 0; i < json_array_size (perms); i++)
    admit |= g_str_equal (json_string_value (json_array_get (perms, i)), "admit");
  g_assert_true (admit);
  json_decref (w);

  set_state (f, "open");
  join (f, party, tp);
  g_assert_true (party->joined);
  json_t *r = last_of (judge, "roster");
  g_assert_cmpuint (json_array_size (json_object_get (r, "participants")), ==, 2);
  json_decref (r);
  g_assert_cmpuint (hd_core_participant_count (f->core, f->row->id), ==, 2);
  join (f, party, tp);
  g_assert_cmpstr (last_error_code (party), ==, "already_joined");

  /* a state change reaches everyone */
  set_state (f, "in_session");
  json_t *h = last_of (party, "hearing");
  g_assert_cmpstr (json_string_value (json_object_get (json_object_get (h, "hearing"), "state")),
                   ==, "in_session");
  json_decref (h);

  /* the party drops; the judge's roster shrinks */
  hd_core_closed (f->core, party);
  r = last_of (judge, "roster");
  g_assert_cmpuint (json_array_size (json_object_get (r, "participants")), ==, 1);
  json_decref (r);

  /* leave */
  HdMsg lm = { .type = HD_MSG_LEAVE };
  hd_core_message (f->core, judge, &lm);
  g_assert_cmpint (judge->close_code, ==, 1000);
  g_assert_cmpuint (hd_core_participant_count (f->core, f->row->id), ==, 0);
  fake_free (judge);
  fake_free (party);
}

static void
test_refusals (Fix *f, gconstpointer data)
{
  set_state (f, "open");
  Fake *k = fake_new ();
  join (f, k, "garbage");
  g_assert_cmpstr (last_error_code (k), ==, "token_malformed");
  g_autofree char *jti = NULL;
  g_autofree char *t = token_for (f, HD_ROLE_WITNESS, "Witness", NULL, &jti);
  HdMsg m = { .type = HD_MSG_JOIN, .token = t, .hearing = "h-other" };
  hd_core_message (f->core, k, &m);
  g_assert_cmpstr (last_error_code (k), ==, "token_wrong_hearing");
  g_assert_true (hd_core_token_revoke (f->core, jti, "test", NULL));
  join (f, k, t);
  g_assert_cmpstr (last_error_code (k), ==, "token_revoked");

  /* full: max 3 */
  Fake *p[4];
  for (int i = 0; i < 4; i++) {
    p[i] = fake_new ();
    g_autofree char *tk = token_for (f, HD_ROLE_OBSERVER, "Obs", NULL, NULL);
    join (f, p[i], tk);
  }
  g_assert_true (p[2]->joined);
  g_assert_false (p[3]->joined);
  g_assert_cmpstr (last_error_code (p[3]), ==, "hearing_full");

  /* closing the hearing lets everyone go, and closed hearings refuse joins */
  set_state (f, "closed");
  for (int i = 0; i < 3; i++) {
    g_assert_cmpint (p[i]->close_code, ==, 1000);
    json_t *b = last_of (p[i], "bye");
    g_assert_nonnull (b);
    json_decref (b);
  }
  Fake *late = fake_new ();
  g_autoptr (HdHearingRow) row = hd_store_hearing_get (f->store, f->row->id, NULL);
  g_autoptr (GError) e = NULL;
  g_assert_null (hd_core_token_issue (f->core, row, HD_ROLE_PARTY, "x", NULL, NULL, 0, "t", &e));
  g_assert_error (e, HD_CORE_ERROR, HD_CORE_ERROR_CLOSED);
  /* its record is read for years: archivists still get tokens */
  json_t *at = hd_core_token_issue (f->core, row, HD_ROLE_ARCHIVIST, "Archivist", NULL, NULL, 0,
                                    "t", NULL);
  g_assert_nonnull (at);
  json_decref (at);
  for (int i = 0; i < 4; i++)
    fake_free (p[i]);
  fake_free (late);
  fake_free (k);
}

static void
test_reconnect_and_revoke (Fix *f, gconstpointer data)
{
  set_state (f, "open");
  g_autofree char *jti = NULL;
  g_autofree char *t = token_for (f, HD_ROLE_PARTY, "Village party", "p-village", &jti);
  g_autofree char *tj = token_for (f, HD_ROLE_JUDGE, "Judge", NULL, NULL);
  Fake *judge = fake_new (), *first = fake_new (), *again = fake_new ();
  join (f, judge, tj);
  join (f, first, t);
  /* the village link drops silently and comes back: the new session replaces the old one */
  join (f, again, t);
  g_assert_true (again->joined);
  g_assert_cmpint (first->close_code, ==, 1000);
  json_t *r = last_of (judge, "roster");
  g_assert_cmpuint (json_array_size (json_object_get (r, "participants")), ==, 2);
  json_decref (r);
  hd_core_closed (f->core, first); /* the old socket finally closes: no effect on the new one */
  g_assert_cmpuint (hd_core_participant_count (f->core, f->row->id), ==, 2);
  /* revoking the token cuts its live session off */
  g_assert_true (hd_core_token_revoke (f->core, jti, "test", NULL));
  g_assert_cmpint (again->close_code, ==, 1008);
  g_assert_cmpuint (hd_core_participant_count (f->core, f->row->id), ==, 1);
  fake_free (judge);
  fake_free (first);
  fake_free (again);
}

static gboolean
fake_answer (gpointer conn, const char *pid, const char *sdp, const char **code, char **reason,
             gpointer user)
{
  (*(int *)user)++;
  if (g_str_equal (sdp, "good"))
    return TRUE;
  *code = "sdp_invalid";
  *reason = g_strdup ("bad sdp");
  return FALSE;
}

static gboolean
fake_candidate (gpointer conn, const char *pid, const char *cand, int mline, const char **code,
                char **reason, gpointer user)
{
  (*(int *)user)++;
  return TRUE;
}

static void
test_mute_and_media (Fix *f, gconstpointer data)
{
  set_state (f, "open");
  g_autofree char *tj = token_for (f, HD_ROLE_JUDGE, "Judge", NULL, NULL);
  g_autofree char *tp = token_for (f, HD_ROLE_PARTY, "Party", NULL, NULL);
  Fake *judge = fake_new (), *party = fake_new (), *stranger = fake_new ();
  join (f, judge, tj);
  join (f, party, tp);
  HdMsg mute = { .type = HD_MSG_MUTE, .audio = 1, .video = -1 };
  hd_core_message (f->core, stranger, &mute);
  g_assert_cmpstr (last_error_code (stranger), ==, "not_joined");
  hd_core_message (f->core, party, &mute);
  json_t *r = last_of (judge, "roster");
  json_t *p = json_array_get (json_object_get (r, "participants"), 1);
  g_assert_cmpstr (json_string_value (json_object_get (p, "name")), ==, "Party");
  g_assert_true (json_is_true (json_object_get (p, "audio_muted")));
  g_assert_true (json_is_false (json_object_get (p, "video_muted")));
  json_decref (r);
  HdMsg unmute = { .type = HD_MSG_MUTE, .audio = 0, .video = 1 };
  hd_core_message (f->core, party, &unmute);
  r = last_of (judge, "roster");
  p = json_array_get (json_object_get (r, "participants"), 1);
  g_assert_true (json_is_false (json_object_get (p, "audio_muted")));
  g_assert_true (json_is_true (json_object_get (p, "video_muted")));
  json_decref (r);

  /* without a media side: media_unavailable; with one: handed over, refusals passed on */
  HdMsg ans = { .type = HD_MSG_ANSWER, .sdp = "good" };
  hd_core_message (f->core, party, &ans);
  g_assert_cmpstr (last_error_code (party), ==, "media_unavailable");
  int calls = 0;
  static const HdCoreMedia media = { fake_answer, fake_candidate };
  hd_core_set_media (f->core, &media, &calls);
  guint before = party->got->len;
  hd_core_message (f->core, party, &ans);
  g_assert_cmpuint (party->got->len, ==, before); /* taken: no reply */
  HdMsg bad = { .type = HD_MSG_ANSWER, .sdp = "bad" };
  hd_core_message (f->core, party, &bad);
  g_assert_cmpstr (last_error_code (party), ==, "sdp_invalid");
  HdMsg cand = { .type = HD_MSG_CANDIDATE, .candidate = "", .mline = 0 };
  hd_core_message (f->core, party, &cand);
  g_assert_cmpint (calls, ==, 3);
  fake_free (judge);
  fake_free (party);
  fake_free (stranger);
}

static char last_layout[64];

static void
fake_layout (const char *hid, const char *mode, const char *pinned, gpointer user)
{
  g_snprintf (last_layout, sizeof last_layout, "%s/%s", mode, pinned ? pinned : "-");
}

/* The judge lays out the composite; nobody else may; the pinned one leaving means the grid. */
static void
test_layout (Fix *f, gconstpointer data)
{
  set_state (f, "open");
  static const HdCoreMedia media = { .layout = fake_layout };
  hd_core_set_media (f->core, &media, NULL);
  g_autofree char *tj = token_for (f, HD_ROLE_JUDGE, "Judge", "j", NULL);
  g_autofree char *tp = token_for (f, HD_ROLE_PARTY, "Party", "p", NULL);
  g_autofree char *to = token_for (f, HD_ROLE_OBSERVER, "Press", "o", NULL);
  Fake *judge = fake_new (), *party = fake_new (), *press = fake_new ();
  join (f, judge, tj);
  join (f, party, tp);
  join (f, press, to);
  json_t *w = last_of (press, "welcome");
  g_assert_cmpstr (json_string_value (json_object_get (json_object_get (w, "layout"), "mode")), ==,
                   "grid");
  json_decref (w);
  HdMsg speaker = { .type = HD_MSG_LAYOUT, .mode = "speaker" };
  hd_core_message (f->core, party, &speaker);
  g_assert_cmpstr (last_error_code (party), ==, "forbidden");
  g_assert_cmpstr (last_layout, ==, "");
  hd_core_message (f->core, judge, &speaker);
  g_assert_cmpstr (last_layout, ==, "speaker/-");
  json_t *l = last_of (press, "layout");
  g_assert_cmpstr (json_string_value (json_object_get (l, "mode")), ==, "speaker");
  json_decref (l);
  /* an observer is never in the picture: cannot be pinned; nor can a stranger */
  HdMsg pin_o = { .type = HD_MSG_LAYOUT, .mode = "pinned", .participant = "o" };
  hd_core_message (f->core, judge, &pin_o);
  g_assert_cmpstr (last_error_code (judge), ==, "unknown_participant");
  HdMsg pin_x = { .type = HD_MSG_LAYOUT, .mode = "pinned", .participant = "nobody" };
  hd_core_message (f->core, judge, &pin_x);
  g_assert_cmpstr (last_error_code (judge), ==, "unknown_participant");
  g_assert_cmpstr (last_layout, ==, "speaker/-");
  HdMsg pin = { .type = HD_MSG_LAYOUT, .mode = "pinned", .participant = "p" };
  hd_core_message (f->core, judge, &pin);
  g_assert_cmpstr (last_layout, ==, "pinned/p");
  l = last_of (press, "layout");
  g_assert_cmpstr (json_string_value (json_object_get (l, "participant")), ==, "p");
  json_decref (l);
  /* the media side's active speaker reaches everyone */
  hd_core_speaker (f->core, f->row->id, "p");
  json_t *sp = last_of (press, "speaker");
  g_assert_cmpstr (json_string_value (json_object_get (sp, "participant")), ==, "p");
  json_decref (sp);
  hd_core_closed (f->core, party);
  g_assert_cmpstr (last_layout, ==, "grid/-");
  l = last_of (judge, "layout");
  g_assert_cmpstr (json_string_value (json_object_get (l, "mode")), ==, "grid");
  json_decref (l);
  fake_free (judge);
  fake_free (party);
  fake_free (press);
}

/* A shared court's link: its operator joins on the party's behalf (the token's "act"); the
 * participant is the party — a party's permissions, the lobby — and the judge, the roster and
 * the audit log all say who helps. Only the speaking roles may be assisted. */
static void
test_assisted_join (Fix *f, gconstpointer data)
{
  set_state (f, "open");
  g_autoptr (GError) e = NULL;
  json_t *t = hd_core_token_issue (f->core, f->row, HD_ROLE_PARTY, "Zhang San", "zs",
                                   "Chen, Xiaoshan shared court", 0, "test", &e);
  g_assert_no_error (e);
  g_assert_cmpstr (json_string_value (json_object_get (t, "assisted_by")), ==,
                   "Chen, Xiaoshan shared court");
  HdClaims c;
  g_assert_true (hd_token_verify (hd_core_signer (f->core),
                                  json_string_value (json_object_get (t, "token")), f->cfg->issuer,
                                  f->row->id, hd_time_now (), NULL, NULL, &c, &e));
  g_assert_cmpstr (c.act_name, ==, "Chen, Xiaoshan shared court");
  g_assert_true (g_str_has_prefix (c.act_sub, "a-"));
  g_assert_cmpint (c.role, ==, HD_ROLE_PARTY);
  hd_claims_clear (&c);
  g_autofree char *tj = token_for (f, HD_ROLE_JUDGE, "Judge", "j", NULL);
  Fake *judge = fake_new (), *zs = fake_new ();
  join (f, judge, tj);
  join (f, zs, json_string_value (json_object_get (t, "token")));
  json_decref (t);
  json_t *w = last_of (zs, "welcome");
  json_t *me = json_object_get (w, "participant");
  g_assert_cmpstr (json_string_value (json_object_get (me, "role")), ==, "party");
  g_assert_cmpstr (json_string_value (json_object_get (me, "assisted_by")), ==,
                   "Chen, Xiaoshan shared court");
  g_assert_true (json_is_true (json_object_get (w, "lobby"))); /* waits like any party */
  json_decref (w);
  json_t *wl = last_of (judge, "waiting");
  json_t *entry = json_array_get (json_object_get (wl, "participants"), 0);
  g_assert_cmpstr (json_string_value (json_object_get (entry, "assisted_by")), ==,
                   "Chen, Xiaoshan shared court");
  json_decref (wl);
  HdMsg admit = { .type = HD_MSG_ADMIT, .participant = "zs" };
  hd_core_message (f->core, judge, &admit);
  json_t *r = last_of (judge, "roster");
  gboolean seen = FALSE;
  json_t *list = json_object_get (r, "participants");
  for (size_t i = 0; i < json_array_size (list); i++) {
    json_t *p = json_array_get (list, i);
    const char *by = json_string_value (json_object_get (p, "assisted_by"));
    if (g_str_equal (json_string_value (json_object_get (p, "id")), "zs"))
      seen = !g_strcmp0 (by, "Chen, Xiaoshan shared court");
    else
      g_assert_null (by); /* nobody helps the judge */
  }
  g_assert_true (seen);
  json_decref (r);
  /* a party's powers, not an operator's: no admitting */
  HdMsg admit_j = { .type = HD_MSG_ADMIT, .participant = "j" };
  hd_core_message (f->core, zs, &admit_j);
  g_assert_cmpstr (last_error_code (zs), ==, "forbidden");
  /* only parties, counsel, witnesses and interpreters are assisted; the name must be text */
  g_assert_null (
      hd_core_token_issue (f->core, f->row, HD_ROLE_JUDGE, "J", NULL, "Chen", 0, "t", &e));
  g_assert_error (e, HD_CORE_ERROR, HD_CORE_ERROR_INVALID);
  g_clear_error (&e);
  g_assert_null (
      hd_core_token_issue (f->core, f->row, HD_ROLE_OBSERVER, "O", NULL, "Chen", 0, "t", &e));
  g_assert_error (e, HD_CORE_ERROR, HD_CORE_ERROR_INVALID);
  g_clear_error (&e);
  g_assert_null (
      hd_core_token_issue (f->core, f->row, HD_ROLE_WITNESS, "W", NULL, "  ", 0, "t", &e));
  g_assert_error (e, HD_CORE_ERROR, HD_CORE_ERROR_INVALID);
  g_clear_error (&e);
  fake_free (judge);
  fake_free (zs);
}

static gint64
fake_note (const char *hid, const char *author, const char *text, gpointer user)
{
  return *(gint64 *)user;
}

typedef struct {
  gboolean take;
  char *action, *reason, *who;
} FakeRecording;

static gboolean
fake_recording (const char *hid, const char *action, const char *reason, const char *who,
                const char **code, const char **why, gpointer user)
{
  FakeRecording *r = user;
  g_free (r->action);
  g_free (r->reason);
  g_free (r->who);
  r->action = g_strdup (action);
  r->reason = g_strdup (reason);
  r->who = g_strdup (who);
  if (!r->take) {
    *code = "already_paused";
    *why = "the recording is already paused";
  }
  return r->take;
}

/* Off the record: the judge and the clerk pause and resume the recording with a reason, and
 * everyone in the hearing is told; others may not; the media side's refusal reaches the caller. */
static void
test_recording_control (Fix *f, gconstpointer data)
{
  set_state (f, "open");
  set_state (f, "in_session");
  g_autofree char *tj = token_for (f, HD_ROLE_JUDGE, "Judge Wang", "j", NULL);
  g_autofree char *tc = token_for (f, HD_ROLE_CLERK, "Clerk Li", "c", NULL);
  g_autofree char *tp = token_for (f, HD_ROLE_PARTY, "Party", "p", NULL);
  Fake *judge = fake_new (), *clerk = fake_new (), *party = fake_new ();
  join (f, judge, tj);
  join (f, clerk, tc);
  join (f, party, tp);
  HdMsg pause = { .type = HD_MSG_RECORDING, .action = "pause", .reason = "settlement talk" };
  hd_core_message (f->core, party, &pause);
  g_assert_cmpstr (last_error_code (party), ==, "forbidden");
  hd_core_message (f->core, judge, &pause); /* no media side: nothing is recorded */
  g_assert_cmpstr (last_error_code (judge), ==, "not_recording");
  FakeRecording rec = { .take = TRUE };
  static const HdCoreMedia media = { .recording = fake_recording };
  hd_core_set_media (f->core, &media, &rec);
  hd_core_message (f->core, judge, &pause);
  g_assert_cmpstr (rec.action, ==, "pause");
  g_assert_cmpstr (rec.reason, ==, "settlement talk");
  g_assert_cmpstr (rec.who, ==, "j");
  for (Fake **k = (Fake *[]){ judge, clerk, party, NULL }; *k; k++) {
    json_t *n = last_of (*k, "recording");
    g_assert_nonnull (n);
    g_assert_cmpstr (json_string_value (json_object_get (n, "state")), ==, "paused");
    g_assert_cmpstr (json_string_value (json_object_get (n, "reason")), ==, "settlement talk");
    g_assert_cmpstr (json_string_value (json_object_get (n, "by")), ==, "Judge Wang");
    json_decref (n);
  }
  rec.take = FALSE;
  hd_core_message (f->core, clerk, &pause);
  g_assert_cmpstr (last_error_code (clerk), ==, "already_paused");
  /* a court where only the judge controls the recording */
  f->cfg->clerk_controls_recording = FALSE;
  g_clear_pointer (&rec.action, g_free);
  hd_core_message (f->core, clerk, &pause);
  g_assert_cmpstr (last_error_code (clerk), ==, "forbidden");
  g_assert_null (rec.action); /* never reached the recording */
  f->cfg->clerk_controls_recording = TRUE;
  rec.take = TRUE;
  HdMsg resume = { .type = HD_MSG_RECORDING, .action = "resume", .reason = "back on the record" };
  hd_core_message (f->core, clerk, &resume);
  json_t *n = last_of (party, "recording");
  g_assert_cmpstr (json_string_value (json_object_get (n, "state")), ==, "recording");
  g_assert_cmpstr (json_string_value (json_object_get (n, "by")), ==, "Clerk Li");
  json_decref (n);
  g_free (rec.action);
  g_free (rec.reason);
  g_free (rec.who);
  fake_free (judge);
  fake_free (clerk);
  fake_free (party);
}

/* Log notes: the clerk and the judge write them, on the recording's clock; others may not; with
 * nothing being recorded there is nowhere to put them. */
static void
test_notes (Fix *f, gconstpointer data)
{
  set_state (f, "open");
  g_autofree char *tj = token_for (f, HD_ROLE_JUDGE, "Judge", "j", NULL);
  g_autofree char *tc = token_for (f, HD_ROLE_CLERK, "Clerk Li", "c", NULL);
  g_autofree char *tp = token_for (f, HD_ROLE_PARTY, "Party", "p", NULL);
  Fake *judge = fake_new (), *clerk = fake_new (), *party = fake_new ();
  join (f, judge, tj);
  join (f, clerk, tc);
  join (f, party, tp);
  HdMsg note = { .type = HD_MSG_NOTE, .text = "Exhibit 3 shown" };
  hd_core_message (f->core, party, &note);
  g_assert_cmpstr (last_error_code (party), ==, "forbidden");
  hd_core_message (f->core, clerk, &note);
  g_assert_cmpstr (last_error_code (clerk), ==, "not_recording");
  gint64 offset = -1;
  static const HdCoreMedia media = { .note = fake_note };
  hd_core_set_media (f->core, &media, &offset);
  hd_core_message (f->core, clerk, &note);
  g_assert_cmpstr (last_error_code (clerk), ==, "not_recording");
  offset = 61234;
  guint party_before = party->got->len;
  hd_core_message (f->core, clerk, &note);
  for (Fake **k = (Fake *[]){ judge, clerk, NULL }; *k; k++) {
    json_t *n = last_of (*k, "note");
    g_assert_nonnull (n);
    g_assert_cmpstr (json_string_value (json_object_get (n, "author")), ==, "Clerk Li");
    g_assert_cmpstr (json_string_value (json_object_get (n, "text")), ==, "Exhibit 3 shown");
    g_assert_cmpint (json_integer_value (json_object_get (n, "offset_ms")), ==, 61234);
    json_decref (n);
  }
  g_assert_cmpuint (party->got->len, ==, party_before); /* parties do not see the notes */
  fake_free (judge);
  fake_free (clerk);
  fake_free (party);
}

static void
test_ice_servers (Fix *f, gconstpointer data)
{
  json_t *none = hd_core_ice_servers (f->core, "p-1", 1800000000);
  g_assert_cmpuint (json_array_size (none), ==, 0);
  json_decref (none);
  g_assert_true (hd_config_set (f->cfg, "ice.stun_server", "stun:stun.example:3478", "t", NULL));
  g_assert_true (hd_config_set (f->cfg, "ice.turn_server", "turn:relay.example:3478", "t", NULL));
  g_assert_true (hd_config_set (f->cfg, "ice.turn_shared_secret", "north", "t", NULL));
  g_assert_true (hd_config_set (f->cfg, "ice.turn_ttl_seconds", "3600", "t", NULL));
  json_t *l = hd_core_ice_servers (f->core, "p-1", 1800000000);
  g_assert_cmpuint (json_array_size (l), ==, 2);
  json_t *turn = json_array_get (l, 1);
  g_assert_cmpstr (json_string_value (json_array_get (json_object_get (turn, "urls"), 0)), ==,
                   "turn:relay.example:3478");
  g_assert_cmpstr (json_string_value (json_object_get (turn, "username")), ==, "1800003600:p-1");
  /* base64(HMAC-SHA1("north", "1800003600:p-1")), computed independently with
   * `printf %s 1800003600:p-1 | openssl dgst -sha1 -hmac north -binary | base64` */
  g_assert_cmpstr (json_string_value (json_object_get (turn, "credential")), ==, TURN_EXPECTED);
  json_decref (l);
  /* static credentials without a secret */
  g_assert_true (hd_config_set (f->cfg, "ice.turn_shared_secret", "", "t", NULL));
  g_assert_true (hd_config_set (f->cfg, "ice.turn_username", "court", "t", NULL));
  g_assert_true (hd_config_set (f->cfg, "ice.turn_password", "pw", "t", NULL));
  l = hd_core_ice_servers (f->core, "p-1", 1800000000);
  g_assert_cmpstr (json_string_value (json_object_get (json_array_get (l, 1), "username")), ==,
                   "court");
  g_assert_cmpstr (json_string_value (json_object_get (json_array_get (l, 1), "credential")), ==,
                   "pw");
  json_decref (l);
}

static const char *
roster_field (Fake *k, const char *pid, const char *field, int *present)
{
  static char out[16];
  json_t *r = last_of (k, "roster");
  json_t *list = json_object_get (r, "participants");
  *present = 0;
  out[0] = 0;
  for (size_t i = 0; i < json_array_size (list); i++) {
    json_t *p = json_array_get (list, i);
    if (!g_strcmp0 (json_string_value (json_object_get (p, "id")), pid)) {
      *present = 1;
      if (field)
        g_strlcpy (out, json_is_true (json_object_get (p, field)) ? "true" : "false", sizeof out);
    }
  }
  json_decref (r);
  return out;
}

static json_int_t
lobby_position (Fake *k)
{
  json_t *l = last_of (k, "lobby");
  json_int_t pos = l ? json_integer_value (json_object_get (l, "position")) : -1;
  json_decref (l);
  return pos;
}

static size_t
waiting_count (Fake *k)
{
  json_t *w = last_of (k, "waiting");
  size_t n = w ? json_array_size (json_object_get (w, "participants")) : 0;
  json_decref (w);
  return n;
}

/* The lobby: parties wait (their place told to them, their names to the judge), may do nothing
 * but wait; the judge admits one and denies the other; an admitted party whose link drops comes
 * back without the lobby, one the judge removed does not. The judge's controls: mute someone (who
 * cannot unmute), hands, the hearing's state; none of them for a party. */
static void
test_lobby_and_controls (Fix *f, gconstpointer data)
{
  set_state (f, "open");
  g_autofree char *tj = token_for (f, HD_ROLE_JUDGE, "Judge Wang", "j", NULL);
  g_autofree char *ta = token_for (f, HD_ROLE_PARTY, "Zhang San", "a", NULL);
  g_autofree char *tb = token_for (f, HD_ROLE_PARTY, "Li Si", "b", NULL);
  Fake *judge = fake_new (), *a = fake_new (), *b = fake_new ();
  /* an archivist has no business in the hearing itself */
  g_autofree char *tr = token_for (f, HD_ROLE_ARCHIVIST, "Archivist", "r", NULL);
  Fake *arch = fake_new ();
  join (f, arch, tr);
  g_assert_cmpstr (last_error_code (arch), ==, "forbidden");
  fake_free (arch);
  join (f, judge, tj);
  json_t *w = last_of (judge, "welcome");
  g_assert_false (json_is_true (json_object_get (w, "lobby")));
  json_decref (w);
  join (f, a, ta);
  join (f, b, tb);
  w = last_of (a, "welcome");
  g_assert_true (json_is_true (json_object_get (w, "lobby")));
  json_decref (w);
  g_assert_cmpint (lobby_position (a), ==, 1);
  g_assert_cmpint (lobby_position (b), ==, 2);
  g_assert_cmpuint (waiting_count (judge), ==, 2);
  int present = 0;
  roster_field (judge, "a", NULL, &present);
  g_assert_false (present);              /* not in the hearing yet */
  g_assert_null (last_of (a, "roster")); /* and they do not see who is */
  /* waiting, nothing but waiting */
  HdMsg hand = { .type = HD_MSG_HAND, .raised = 1 };
  hd_core_message (f->core, a, &hand);
  g_assert_cmpstr (last_error_code (a), ==, "in_lobby");
  HdMsg admit_b = { .type = HD_MSG_ADMIT, .participant = "b" };
  hd_core_message (f->core, a, &admit_b);
  g_assert_cmpstr (last_error_code (a), ==, "in_lobby");
  /* the judge admits Zhang San */
  HdMsg admit_a = { .type = HD_MSG_ADMIT, .participant = "a" };
  hd_core_message (f->core, judge, &admit_a);
  json_t *ad = last_of (a, "admitted");
  g_assert_nonnull (ad);
  json_decref (ad);
  roster_field (judge, "a", NULL, &present);
  g_assert_true (present);
  g_assert_cmpint (lobby_position (b), ==, 1);
  g_assert_cmpuint (waiting_count (judge), ==, 1);
  hd_core_message (f->core, judge, &admit_a); /* not waiting any more */
  g_assert_cmpstr (last_error_code (judge), ==, "unknown_participant");
  /* a party tries the judge's controls: refused, every one */
  hd_core_message (f->core, a, &admit_b);
  g_assert_cmpstr (last_error_code (a), ==, "forbidden");
  HdMsg deny_b = { .type = HD_MSG_DENY, .participant = "b", .reason = "not a party to this case" };
  hd_core_message (f->core, a, &deny_b);
  g_assert_cmpstr (last_error_code (a), ==, "forbidden");
  HdMsg mute_j = { .type = HD_MSG_MUTE, .participant = "j", .audio = 1, .video = -1 };
  hd_core_message (f->core, a, &mute_j);
  g_assert_cmpstr (last_error_code (a), ==, "forbidden");
  HdMsg remove_j = { .type = HD_MSG_REMOVE, .participant = "j" };
  hd_core_message (f->core, a, &remove_j);
  g_assert_cmpstr (last_error_code (a), ==, "forbidden");
  HdMsg start = { .type = HD_MSG_HEARING_STATE, .state = "in_session" };
  hd_core_message (f->core, a, &start);
  g_assert_cmpstr (last_error_code (a), ==, "forbidden");
  HdMsg pause = { .type = HD_MSG_RECORDING, .action = "pause", .reason = "x" };
  hd_core_message (f->core, a, &pause);
  g_assert_cmpstr (last_error_code (a), ==, "forbidden");
  /* the judge denies Li Si, with a reason: told, and gone */
  hd_core_message (f->core, judge, &deny_b);
  g_assert_cmpstr (last_error_code (b), ==, "denied");
  g_assert_cmpint (b->close_code, ==, 1000);
  g_assert_cmpuint (waiting_count (judge), ==, 0);
  /* the judge mutes Zhang San, who cannot unmute; the judge can */
  HdMsg mute_a = { .type = HD_MSG_MUTE, .participant = "a", .audio = 1, .video = -1 };
  hd_core_message (f->core, judge, &mute_a);
  g_assert_cmpstr (roster_field (judge, "a", "audio_muted", &present), ==, "true");
  g_assert_cmpstr (roster_field (judge, "a", "muted_by_judge", &present), ==, "true");
  HdMsg unmute_self = { .type = HD_MSG_MUTE, .audio = 0, .video = -1 };
  hd_core_message (f->core, a, &unmute_self);
  g_assert_cmpstr (last_error_code (a), ==, "forbidden");
  g_assert_cmpstr (roster_field (judge, "a", "audio_muted", &present), ==, "true");
  HdMsg unmute_a = { .type = HD_MSG_MUTE, .participant = "a", .audio = 0, .video = -1 };
  hd_core_message (f->core, judge, &unmute_a);
  g_assert_cmpstr (roster_field (judge, "a", "audio_muted", &present), ==, "false");
  /* a hand, raised and seen */
  hd_core_message (f->core, a, &hand);
  g_assert_cmpstr (roster_field (judge, "a", "hand_raised", &present), ==, "true");
  /* the judge opens the session from the client; an illegal step is refused */
  hd_core_message (f->core, judge, &start);
  json_t *h = last_of (a, "hearing");
  g_assert_cmpstr (json_string_value (json_object_get (json_object_get (h, "hearing"), "state")),
                   ==, "in_session");
  json_decref (h);
  HdMsg reopen = { .type = HD_MSG_HEARING_STATE, .state = "open" };
  hd_core_message (f->core, judge, &reopen);
  g_assert_cmpstr (last_error_code (judge), ==, "illegal_transition");
  /* Zhang San's link drops; back within the grace period: straight in */
  hd_core_closed (f->core, a);
  Fake *a2 = fake_new ();
  join (f, a2, ta);
  w = last_of (a2, "welcome");
  g_assert_false (json_is_true (json_object_get (w, "lobby")));
  json_decref (w);
  /* removed by the judge: gone, and back only through the lobby */
  HdMsg remove_a = { .type = HD_MSG_REMOVE, .participant = "a" };
  hd_core_message (f->core, judge, &remove_a);
  g_assert_cmpstr (last_error_code (a2), ==, "removed");
  g_assert_cmpint (a2->close_code, ==, 1000);
  Fake *a3 = fake_new ();
  join (f, a3, ta);
  w = last_of (a3, "welcome");
  g_assert_true (json_is_true (json_object_get (w, "lobby")));
  json_decref (w);
  for (Fake **k = (Fake *[]){ judge, a, b, a2, a3, NULL }; *k; k++)
    fake_free (*k);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hearing/states", test_states);
  g_test_add ("/hearing/transitions", Fix, NULL, fix_setup, test_transitions, fix_teardown);
  g_test_add ("/hearing/join-roster-leave", Fix, NULL, fix_setup, test_join_roster_leave,
              fix_teardown);
  g_test_add ("/hearing/refusals", Fix, NULL, fix_setup, test_refusals, fix_teardown);
  g_test_add ("/hearing/reconnect-and-revoke", Fix, NULL, fix_setup, test_reconnect_and_revoke,
              fix_teardown);
  g_test_add ("/hearing/mute-and-media", Fix, NULL, fix_setup, test_mute_and_media, fix_teardown);
  g_test_add ("/hearing/layout", Fix, NULL, fix_setup, test_layout, fix_teardown);
  g_test_add ("/hearing/notes", Fix, NULL, fix_setup, test_notes, fix_teardown);
  g_test_add ("/hearing/lobby-and-controls", Fix, "lobby", fix_setup, test_lobby_and_controls,
              fix_teardown);
  g_test_add ("/hearing/assisted-join", Fix, "lobby", fix_setup, test_assisted_join, fix_teardown);
  g_test_add ("/hearing/recording-control", Fix, NULL, fix_setup, test_recording_control,
              fix_teardown);
  g_test_add ("/hearing/ice-servers", Fix, NULL, fix_setup, test_ice_servers, fix_teardown);
  return g_test_run ();
}
