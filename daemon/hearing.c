/* hearing.c — the hearing core (see hearing.h). Rooms exist only while someone is connected;
 * the hearing itself lives in the store. */
#define G_LOG_DOMAIN "hd-hearing"

#include "daemon/hearing.h"
#include "daemon/audit.h"
#include "daemon/util.h"

#include <openssl/evp.h>
#include <string.h>

/* clang-format off */
G_DEFINE_QUARK (hd-core-error-quark, hd_core_error)
/* clang-format on */

typedef struct Room Room;

typedef struct {
  gpointer conn;
  Room *room;
  char *pid, *name, *jti;
  char *assisted_by; /* who helps them join: the shared court's operator (token "act"), or NULL */
  HdRole role;
  gboolean audio_muted, video_muted;
  gboolean forced_audio, forced_video; /* muted by the judge: only the judge unmutes */
  gboolean waiting;                    /* in the lobby, not yet admitted */
  gboolean hand;                       /* hand raised */
  char *joined_at;
} Member;

struct Room {
  char *hid;
  GPtrArray *members; /* Member*, join order */
  char *layout;       /* "grid", "speaker" or "pinned" */
  char *pinned;       /* pid shown large in "pinned", or NULL */
};

struct HdCore {
  HdStore *store;
  HdSigner *signer;
  const HdConfig *cfg;
  HdCoreIO io;
  gpointer io_user;
  char *base_url;
  const HdCoreMedia *media;
  gpointer media_user;
  GHashTable *rooms;    /* hid -> Room* */
  GHashTable *members;  /* conn -> Member* */
  GHashTable *admitted; /* "hid pid" -> gint64* monotonic µs their admission lasts (G_MAXINT64
                           while present): someone whose link drops comes back without the lobby */
};

const char *
hd_core_error_code (int code)
{
  switch (code) {
  case HD_CORE_ERROR_INVALID:
    return "invalid_field";
  case HD_CORE_ERROR_NOT_FOUND:
    return "hearing_not_found";
  case HD_CORE_ERROR_ILLEGAL_TRANSITION:
    return "illegal_transition";
  case HD_CORE_ERROR_CLOSED:
    return "hearing_closed";
  default:
    return "internal_error";
  }
}

static void
member_free (Member *m)
{
  g_free (m->pid);
  g_free (m->name);
  g_free (m->jti);
  g_free (m->assisted_by);
  g_free (m->joined_at);
  g_free (m);
}

static void
room_free (Room *r)
{
  g_free (r->hid);
  g_free (r->layout);
  g_free (r->pinned);
  g_ptr_array_unref (r->members);
  g_free (r);
}

HdCore *
hd_core_new (HdStore *store, HdSigner *signer, const HdConfig *cfg, const HdCoreIO *io,
             gpointer io_user)
{
  HdCore *core = g_new0 (HdCore, 1);
  core->store = store;
  core->signer = signer;
  core->cfg = cfg;
  core->io = *io;
  core->io_user = io_user;
  core->base_url = g_strdup ("https://127.0.0.1:8443");
  core->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)room_free);
  core->members = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify)member_free);
  core->admitted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return core;
}

void
hd_core_free (HdCore *core)
{
  if (!core)
    return;
  g_hash_table_unref (core->members);
  g_hash_table_unref (core->admitted);
  g_hash_table_unref (core->rooms);
  g_free (core->base_url);
  g_free (core);
}

void
hd_core_set_media (HdCore *core, const HdCoreMedia *media, gpointer user)
{
  core->media = media;
  core->media_user = user;
}

gpointer
hd_core_find_conn (HdCore *core, const char *hid, const char *pid)
{
  Room *room = g_hash_table_lookup (core->rooms, hid);
  for (guint i = 0; room && i < room->members->len; i++) {
    Member *m = room->members->pdata[i];
    if (g_str_equal (m->pid, pid))
      return m->conn;
  }
  return NULL;
}

void
hd_core_notify_role (HdCore *core, const char *hid, const char *role, char *text)
{
  Room *room = g_hash_table_lookup (core->rooms, hid);
  for (guint i = 0; room && i < room->members->len; i++) {
    Member *m = room->members->pdata[i];
    if (!m->waiting && (!role || g_str_equal (hd_role_name (m->role), role)))
      core->io.send (m->conn, strdup (text), core->io_user);
  }
  free (text);
}

void
hd_core_quality (HdCore *core, const char *hid, json_t *participants)
{
  json_t *j = json_pack ("{s:s, s:o}", "type", "quality", "participants", participants);
  char *text = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  hd_core_notify_role (core, hid, "judge", strdup (text));
  hd_core_notify_role (core, hid, "clerk", text);
}

void
hd_core_send (HdCore *core, gpointer conn, char *text)
{
  core->io.send (conn, text, core->io_user);
}

void
hd_core_set_base_url (HdCore *core, const char *base_url)
{
  g_free (core->base_url);
  core->base_url = g_strdup (base_url);
}

const char *
hd_core_base_url (HdCore *core)
{
  return core->base_url;
}

HdStore *
hd_core_store (HdCore *core)
{
  return core->store;
}

HdSigner *
hd_core_signer (HdCore *core)
{
  return core->signer;
}

const HdConfig *
hd_core_config (HdCore *core)
{
  return core->cfg;
}

void
hd_core_audit (HdCore *core, const char *actor, const char *action, const char *hid, json_t *detail)
{
  char *d = detail ? json_dumps (detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref (detail);
  g_autoptr (GError) e = NULL;
  if (!hd_audit_append (core->store, actor, action, hid, d, &e))
    g_critical ("audit of %s by %s failed: %s", action, actor, e->message);
  free (d);
}

/* ---------------------------------------------------------------- states */

static const char *states[] = { "scheduled", "open", "in_session", "recess", "closed" };

gboolean
hd_hearing_state_valid (const char *state)
{
  for (gsize i = 0; i < G_N_ELEMENTS (states); i++)
    if (g_strcmp0 (state, states[i]) == 0)
      return TRUE;
  return FALSE;
}

gboolean
hd_hearing_transition_legal (const char *from, const char *to)
{
  static const char *legal[][2] = {
    { "scheduled", "open" },    { "open", "in_session" }, { "in_session", "recess" },
    { "recess", "in_session" }, { "open", "closed" },     { "in_session", "closed" },
    { "recess", "closed" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (legal); i++)
    if (!g_strcmp0 (from, legal[i][0]) && !g_strcmp0 (to, legal[i][1]))
      return TRUE;
  return FALSE;
}

gboolean
hd_hearing_visibility_valid (const char *v)
{
  return !g_strcmp0 (v, "public") || !g_strcmp0 (v, "closed") || !g_strcmp0 (v, "sealed");
}

json_t *
hd_hearing_to_json (const HdHearingRow *r)
{
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", r->id, "case_number",
                    r->case_number, "title", r->title, "court", r->court, "scheduled_start",
                    r->scheduled_start, "visibility", r->visibility, "state", r->state,
                    "created_at", r->created_at, "updated_at", r->updated_at);
}

static gboolean
text_ok (const char *field, const char *v, gsize max, GError **error)
{
  if (!v)
    return TRUE;
  gboolean blank = TRUE;
  for (const char *p = v; *p && blank; p++)
    blank = g_ascii_isspace (*p);
  if (!g_utf8_validate (v, -1, NULL) || blank || g_utf8_strlen (v, -1) > (glong)max) {
    g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_INVALID,
                 "%s must be non-blank text of at most %zu characters", field, max);
    return FALSE;
  }
  for (const char *p = v; *p; p++)
    if ((guchar)*p < 0x20) {
      g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_INVALID,
                   "%s must not contain control characters", field);
      return FALSE;
    }
  return TRUE;
}

static gboolean
fields_ok (const char *case_number, const char *title, const char *court, const char *start,
           const char *visibility, GError **error)
{
  gint64 t;
  if (!text_ok ("case_number", case_number, 64, error) || !text_ok ("title", title, 200, error)
      || !text_ok ("court", court, 200, error))
    return FALSE;
  if (start && !hd_time_parse (start, &t)) {
    g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_INVALID,
                 "scheduled_start must be an RFC 3339 time with a zone, e.g. "
                 "2026-12-01T09:30:00+08:00");
    return FALSE;
  }
  if (visibility && !hd_hearing_visibility_valid (visibility)) {
    g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_INVALID,
                 "visibility must be public, closed or sealed");
    return FALSE;
  }
  return TRUE;
}

static gboolean
store_failed (GError **error, GError *e)
{
  g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_STORE, "store: %s", e->message);
  g_error_free (e);
  return FALSE;
}

HdHearingRow *
hd_core_hearing_create (HdCore *core, const char *case_number, const char *title, const char *court,
                        const char *scheduled_start, const char *visibility, const char *actor,
                        GError **error)
{
  if (!case_number || !title || !court || !scheduled_start) {
    g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_INVALID,
                 "case_number, title, court and scheduled_start are required");
    return NULL;
  }
  if (!visibility)
    visibility = "public";
  if (!fields_ok (case_number, title, court, scheduled_start, visibility, error))
    return NULL;
  HdHearingRow *r = g_new0 (HdHearingRow, 1);
  r->id = hd_random_id ("h-", 6);
  r->case_number = g_strdup (case_number);
  r->title = g_strdup (title);
  r->court = g_strdup (court);
  r->scheduled_start = g_strdup (scheduled_start);
  r->visibility = g_strdup (visibility);
  r->state = g_strdup ("scheduled");
  r->created_at = hd_time_iso (g_get_real_time ());
  r->updated_at = g_strdup (r->created_at);
  GError *e = NULL;
  if (!hd_store_hearing_add (core->store, r, &e)) {
    hd_hearing_row_free (r);
    store_failed (error, e);
    return NULL;
  }
  hd_core_audit (core, actor, "hearing.create", r->id, hd_hearing_to_json (r));
  return r;
}

static Room *
room_get (HdCore *core, const char *hid)
{
  return g_hash_table_lookup (core->rooms, hid);
}

/* Send a snapshot of `kind` to everyone in the room (in the lobby: only the hearing's state). */
static void
room_send_all (HdCore *core, Room *room, const char *kind, const char *text)
{
  for (guint i = 0; i < room->members->len; i++) {
    Member *m = room->members->pdata[i];
    if (!m->waiting || g_str_equal (kind, "hearing"))
      core->io.send_latest (m->conn, kind, strdup (text), core->io_user);
  }
}

static void
broadcast_hearing (HdCore *core, const HdHearingRow *row)
{
  Room *room = room_get (core, row->id);
  if (!room)
    return;
  json_t *j = json_pack ("{s:s, s:o}", "type", "hearing", "hearing", hd_hearing_to_json (row));
  char *text = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  room_send_all (core, room, "hearing", text);
  free (text);
}

static void member_remove (HdCore *core, Member *m, const char *why, gboolean broadcast);

gboolean
hd_core_hearing_update (HdCore *core, HdHearingRow *row, const char *case_number, const char *title,
                        const char *court, const char *scheduled_start, const char *visibility,
                        const char *state, const char *actor, GError **error)
{
  if (g_str_equal (row->state, "closed")) {
    g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_CLOSED, "hearing %s is closed", row->id);
    return FALSE;
  }
  if (!fields_ok (case_number, title, court, scheduled_start, visibility, error))
    return FALSE;
  if (state && !hd_hearing_state_valid (state)) {
    g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_INVALID,
                 "state must be scheduled, open, in_session, recess or closed");
    return FALSE;
  }
  g_autofree char *from = g_strdup (row->state);
  if (state && !g_str_equal (state, row->state)
      && !hd_hearing_transition_legal (row->state, state)) {
    g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_ILLEGAL_TRANSITION,
                 "a hearing cannot go from %s to %s", row->state, state);
    return FALSE;
  }
#define SET(f)                                                                                     \
  if (f) {                                                                                         \
    g_free (row->f);                                                                               \
    row->f = g_strdup (f);                                                                         \
  }
  SET (case_number);
  SET (title);
  SET (court);
  SET (scheduled_start);
  SET (visibility);
  SET (state);
#undef SET
  GError *e = NULL;
  if (!hd_store_hearing_update (core->store, row, &e))
    return store_failed (error, e);
  if (state && !g_str_equal (from, state))
    hd_core_audit (core, actor, "hearing.state", row->id,
                   json_pack ("{s:s, s:s}", "from", from, "to", state));
  if (case_number || title || court || scheduled_start || visibility)
    hd_core_audit (core, actor, "hearing.update", row->id, hd_hearing_to_json (row));
  broadcast_hearing (core, row);
  if (g_str_equal (row->state, "closed")) {
    /* The hearing is over: everyone is told and let go. */
    Room *room = room_get (core, row->id);
    while (room && room->members->len > 0) {
      Member *m = room->members->pdata[room->members->len - 1];
      gpointer conn = m->conn;
      core->io.send (conn, hd_protocol_bye ("the hearing is closed", NULL), core->io_user);
      member_remove (core, m, "hearing closed", FALSE);
      core->io.close (conn, 1000, "hearing closed", core->io_user);
      room = room_get (core, row->id);
    }
  }
  if (state && !g_str_equal (from, state) && core->media && core->media->state)
    core->media->state (row->id, row->case_number, row->court, row->state, core->media_user);
  return TRUE;
}

/* ---------------------------------------------------------------- tokens */

gboolean
hd_core_is_revoked (const char *jti, gpointer user)
{
  return hd_store_token_is_revoked (user, jti);
}

json_t *
hd_core_token_issue (HdCore *core, const HdHearingRow *row, HdRole role, const char *name,
                     const char *participant_id, const char *assisted_by, gint64 ttl,
                     const char *actor, GError **error)
{
  if (!text_ok ("name", name, 128, error))
    return NULL;
  if (assisted_by && !text_ok ("assisted_by", assisted_by, 128, error))
    return NULL;
  if (assisted_by && !(hd_role_permissions (role) & HD_PERM_RAISE_HAND)) {
    g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_INVALID,
                 "assisted_by is for a party, counsel, witness or interpreter joining with a "
                 "shared court's operator, not for a %s",
                 hd_role_name (role));
    return NULL;
  }
  if (participant_id && !hd_id_valid (participant_id)) {
    g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_INVALID,
                 "participant_id must be 1-64 of A-Z a-z 0-9 _ -");
    return NULL;
  }
  if (ttl < 0 || ttl > 31536000) {
    g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_INVALID,
                 "ttl_seconds must be from 1 to 31536000");
    return NULL;
  }
  /* a closed hearing is joined by nobody, but its record is read for years after */
  if (g_str_equal (row->state, "closed") && role != HD_ROLE_ARCHIVIST) {
    g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_CLOSED,
                 "hearing %s is closed: only archivist tokens are issued for it", row->id);
    return NULL;
  }
  gint64 now = hd_time_now ();
  HdClaims c = {
    .iss = core->cfg->issuer,
    .sub = participant_id ? (char *)participant_id : NULL,
    .name = (char *)name,
    .hid = row->id,
    .role = role,
    .iat = now,
    .nbf = now,
    .exp = now + (ttl ? ttl : core->cfg->token_ttl_seconds),
  };
  g_autofree char *sub = participant_id ? NULL : hd_random_id ("p-", 6);
  g_autofree char *jti = hd_random_id ("t-", 12);
  g_autofree char *act_sub = assisted_by ? hd_random_id ("a-", 6) : NULL;
  if (!c.sub)
    c.sub = sub;
  c.jti = jti;
  c.act_sub = act_sub;
  c.act_name = (char *)assisted_by;
  g_autofree char *token = hd_token_sign (core->signer, &c);
  HdTokenRecord rec = { jti, row->id, c.sub, name, hd_role_name (role), c.iat, c.exp };
  GError *e = NULL;
  if (!hd_store_token_add (core->store, &rec, &e)) {
    store_failed (error, e);
    return NULL;
  }
  hd_core_audit (core, actor, "token.issue", row->id,
                 json_pack ("{s:s, s:s, s:s, s:s, s:I, s:s*}", "jti", jti, "participant_id", c.sub,
                            "name", name, "role", hd_role_name (role), "exp", (json_int_t)c.exp,
                            "assisted_by", assisted_by));
  g_autofree char *url
      = g_strdup_printf ("%s/join.html?hearing=%s#token=%s", core->base_url, row->id, token);
  g_autofree char *exp_iso = hd_time_iso (c.exp * G_USEC_PER_SEC);
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s*}", "token", token, "jti", jti,
                    "participant_id", c.sub, "name", name, "role", hd_role_name (role),
                    "hearing_id", row->id, "expires_at", exp_iso, "join_url", url, "assisted_by",
                    assisted_by);
}

gboolean
hd_core_token_revoke (HdCore *core, const char *jti, const char *actor, GError **error)
{
  GError *e = NULL;
  if (!hd_store_token_revoke (core->store, jti, &e)) {
    if (g_error_matches (e, HD_STORE_ERROR, HD_STORE_ERROR_NOT_FOUND)) {
      g_set_error (error, HD_CORE_ERROR, HD_CORE_ERROR_NOT_FOUND, "no token with jti %s", jti);
      g_error_free (e);
      return FALSE;
    }
    return store_failed (error, e);
  }
  hd_core_audit (core, actor, "token.revoke", NULL, json_pack ("{s:s}", "jti", jti));
  /* A revoked token's live sessions end now. */
  GHashTableIter it;
  gpointer value;
  GPtrArray *gone = g_ptr_array_new ();
  g_hash_table_iter_init (&it, core->members);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (g_str_equal (((Member *)value)->jti, jti))
      g_ptr_array_add (gone, value);
  for (guint i = 0; i < gone->len; i++) {
    Member *m = gone->pdata[i];
    gpointer conn = m->conn;
    core->io.send (conn, hd_protocol_bye ("your token has been revoked", NULL), core->io_user);
    member_remove (core, m, "token revoked", TRUE);
    core->io.close (conn, 1008, "token revoked", core->io_user);
  }
  g_ptr_array_unref (gone);
  return TRUE;
}

/* ---------------------------------------------------------------- ICE servers */

json_t *
hd_core_ice_servers (HdCore *core, const char *participant_id, gint64 now)
{
  const HdConfig *cfg = core->cfg;
  json_t *list = json_array ();
  if (*cfg->stun_server)
    json_array_append_new (list, json_pack ("{s:[s]}", "urls", cfg->stun_server));
  if (*cfg->turn_server) {
    g_autofree char *user = NULL, *cred = NULL;
    if (*cfg->turn_shared_secret) {
      /* TURN REST API (draft-uberti-behave-turn-rest): user "expiry:id", password
       * base64(HMAC-SHA1(secret, user)); the TURN server recomputes and checks the expiry. */
      user = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", now + cfg->turn_ttl_seconds,
                              participant_id);
      guint8 mac[EVP_MAX_MD_SIZE];
      size_t maclen = 0;
      if (!EVP_Q_mac (NULL, "HMAC", NULL, "SHA1", NULL, cfg->turn_shared_secret,
                      strlen (cfg->turn_shared_secret), (const guint8 *)user, strlen (user), mac,
                      sizeof mac, &maclen))
        g_error ("OpenSSL HMAC-SHA1 failed");
      cred = g_base64_encode (mac, maclen);
    } else {
      user = g_strdup (cfg->turn_username);
      cred = g_strdup (cfg->turn_password);
    }
    json_array_append_new (list, json_pack ("{s:[s], s:s, s:s}", "urls", cfg->turn_server,
                                            "username", user, "credential", cred));
  }
  return list;
}

/* ---------------------------------------------------------------- sessions */

static json_t *
roster_json (Room *room)
{
  json_t *list = json_array ();
  for (guint i = 0; i < room->members->len; i++) {
    Member *m = room->members->pdata[i];
    if (m->waiting)
      continue;
    json_array_append_new (
        list, json_pack ("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:s, s:s*}", "id", m->pid, "name",
                         m->name, "role", hd_role_name (m->role), "audio_muted", m->audio_muted,
                         "video_muted", m->video_muted, "muted_by_judge",
                         m->forced_audio || m->forced_video, "hand_raised", m->hand, "joined_at",
                         m->joined_at, "assisted_by", m->assisted_by));
  }
  return list;
}

static void
set_layout (HdCore *core, Room *room, const char *mode, const char *pinned)
{
  g_free (room->layout);
  g_free (room->pinned);
  room->layout = g_strdup (mode);
  room->pinned = g_strdup (pinned);
  char *text = hd_protocol_layout (mode, pinned);
  room_send_all (core, room, "layout", text);
  free (text);
  if (core->media && core->media->layout)
    core->media->layout (room->hid, mode, pinned, core->media_user);
}

void
hd_core_speaker (HdCore *core, const char *hid, const char *pid)
{
  Room *room = room_get (core, hid);
  if (!room)
    return;
  char *text = hd_protocol_speaker (pid);
  room_send_all (core, room, "speaker", text);
  free (text);
}

static void
broadcast_roster (HdCore *core, Room *room)
{
  json_t *list = roster_json (room);
  char *text = hd_protocol_roster (list);
  json_decref (list);
  room_send_all (core, room, "roster", text);
  free (text);
}

static char *
admitted_key (const char *hid, const char *pid)
{
  return g_strdup_printf ("%s %s", hid, pid);
}

/* The lobby as the judge and clerk see it, and each waiting person's place in it. */
static void
lobby_changed (HdCore *core, Room *room)
{
  json_t *list = json_array ();
  int position = 0;
  for (guint i = 0; i < room->members->len; i++) {
    Member *m = room->members->pdata[i];
    if (!m->waiting)
      continue;
    json_array_append_new (list, json_pack ("{s:s, s:s, s:s, s:s, s:s*}", "id", m->pid, "name",
                                            m->name, "role", hd_role_name (m->role), "since",
                                            m->joined_at, "assisted_by", m->assisted_by));
    core->io.send_latest (m->conn, "lobby",
                          hd_protocol_lobby (++position, "Please wait: the court will let you "
                                                         "in. 请稍候，法庭将请您入庭。"),
                          core->io_user);
  }
  char *text = hd_protocol_waiting (list);
  json_decref (list);
  for (guint i = 0; i < room->members->len; i++) {
    Member *m = room->members->pdata[i];
    if (!m->waiting && (hd_role_permissions (m->role) & HD_PERM_ADMIT))
      core->io.send_latest (m->conn, "waiting", strdup (text), core->io_user);
  }
  free (text);
}

static void
member_remove (HdCore *core, Member *m, const char *why, gboolean broadcast)
{
  Room *room = m->room;
  gboolean waited = m->waiting;
  g_ptr_array_remove (room->members, m);
  if (!waited && core->media && core->media->left)
    core->media->left (room->hid, m->pid, core->media_user);
  {
    /* admitted and gone: back without the lobby within the grace period, unless sent away */
    g_autofree char *key = admitted_key (room->hid, m->pid);
    gboolean sent_away = g_str_equal (why, "removed") || g_str_equal (why, "denied");
    if (waited || sent_away || core->cfg->rejoin_grace_seconds == 0) {
      g_hash_table_remove (core->admitted, key);
    } else {
      /* the grace periods that have run out go first: the table stays as small as the rooms */
      gint64 now = g_get_monotonic_time ();
      GHashTableIter it;
      gpointer v;
      g_hash_table_iter_init (&it, core->admitted);
      while (g_hash_table_iter_next (&it, NULL, &v))
        if (*(gint64 *)v < now)
          g_hash_table_iter_remove (&it);
      gint64 *until = g_new (gint64, 1);
      *until = now + (gint64)core->cfg->rejoin_grace_seconds * G_USEC_PER_SEC;
      g_hash_table_replace (core->admitted, g_steal_pointer (&key), until);
    }
  }
  hd_core_audit (core, m->pid, "session.leave", room->hid,
                 json_pack ("{s:s, s:s}", "reason", why, "role", hd_role_name (m->role)));
  gboolean unpinned = !g_strcmp0 (room->pinned, m->pid);
  g_hash_table_remove (core->members, m->conn); /* frees m */
  if (room->members->len == 0) {
    g_hash_table_remove (core->rooms, room->hid);
    return;
  }
  if (broadcast && !waited)
    broadcast_roster (core, room);
  if (waited)
    lobby_changed (core, room);
  if (unpinned) /* the pinned participant left: back to the grid, and everyone is told */
    set_layout (core, room, "grid", NULL);
}

guint
hd_core_participant_count (HdCore *core, const char *hid)
{
  Room *room = room_get (core, hid);
  return room ? room->members->len : 0;
}

static void
refuse (HdCore *core, gpointer conn, const char *code, const char *reason, json_t *ref,
        const char *hid, const char *who)
{
  hd_core_audit (core, who ? who : "anonymous", "session.refuse", hid,
                 json_pack ("{s:s, s:s}", "code", code, "reason", reason));
  core->io.send (conn, hd_protocol_error (code, reason, ref), core->io_user);
}

/* `m` is in the hearing (at once, or admitted from the lobby): everyone sees them, and their
 * media starts. */
static void
enter (HdCore *core, Member *m, const HdHearingRow *row)
{
  guint perms = hd_role_permissions (m->role);
  broadcast_roster (core, m->room);
  if (core->media && core->media->state)
    core->media->state (row->id, row->case_number, row->court, row->state, core->media_user);
  if (core->media && core->media->joined && (perms & (HD_PERM_VIEW | HD_PERM_SPEAK))) {
    /* the tile's label and the recording's participant list say who is in the room with them */
    g_autofree char *shown = m->assisted_by
                                 ? g_strdup_printf ("%s (with %s)", m->name, m->assisted_by)
                                 : g_strdup (m->name);
    core->media->joined (row->id, row->case_number, m->pid, shown, hd_role_name (m->role),
                         (perms & HD_PERM_SPEAK) != 0, core->media_user);
  }
}

static void
on_join (HdCore *core, gpointer conn, const HdMsg *msg)
{
  if (g_hash_table_contains (core->members, conn)) {
    core->io.send (conn, hd_protocol_error ("already_joined", "this session has joined", msg->id),
                   core->io_user);
    return;
  }
  HdClaims c;
  g_autoptr (GError) e = NULL;
  g_autoptr (HdHearingRow) row = NULL;
  if (!hd_token_verify (core->signer, msg->token, core->cfg->issuer, msg->hearing, hd_time_now (),
                        hd_core_is_revoked, core->store, &c, &e)) {
    refuse (core, conn, hd_auth_error_code (e->code), e->message, msg->id, msg->hearing, NULL);
    return;
  }
  const char *hid = g_str_equal (c.hid, HD_AUTH_ANY_HEARING) ? msg->hearing : c.hid;
  Room *room = NULL;
  if (!hid) {
    refuse (core, conn, "hearing_required",
            "this token is for any hearing: name one in \"hearing\"", msg->id, NULL, c.sub);
    goto out;
  }
  row = hd_store_hearing_get (core->store, hid, NULL);
  if (!row) {
    refuse (core, conn, "hearing_not_found", "no such hearing", msg->id, NULL, c.sub);
    goto out;
  }
  if (g_str_equal (row->state, "closed")) {
    refuse (core, conn, "hearing_closed", "the hearing is closed", msg->id, hid, c.sub);
    goto out;
  }
  if (!(hd_role_permissions (c.role) & (HD_PERM_VIEW | HD_PERM_SPEAK))) {
    refuse (core, conn, "forbidden", "an archivist's token opens the archive, not the hearing",
            msg->id, hid, c.sub);
    goto out;
  }
  if (g_str_equal (row->state, "scheduled")
      && !(hd_role_permissions (c.role) & HD_PERM_JOIN_EARLY)) {
    refuse (core, conn, "hearing_not_open", "the virtual courtroom is not open yet", msg->id, hid,
            c.sub);
    goto out;
  }
  room = room_get (core, hid);
  /* The same participant joining again (a village link that dropped and came back) replaces
   * the old session. */
  for (guint i = 0; room && i < room->members->len; i++) {
    Member *old = room->members->pdata[i];
    if (g_str_equal (old->pid, c.sub)) {
      gpointer oc = old->conn;
      core->io.send (oc, hd_protocol_bye ("replaced by a new connection", NULL), core->io_user);
      member_remove (core, old, "replaced", FALSE);
      core->io.close (oc, 1000, "replaced", core->io_user);
      room = room_get (core, hid);
      break;
    }
  }
  if (room && (int)room->members->len >= core->cfg->hearing_max_participants) {
    refuse (core, conn, "hearing_full", "the hearing holds its most participants", msg->id, hid,
            c.sub);
    goto out;
  }
  if (!room) {
    room = g_new0 (Room, 1);
    room->hid = g_strdup (hid);
    room->members = g_ptr_array_new ();
    room->layout = g_strdup ("grid");
    g_hash_table_insert (core->rooms, room->hid, room);
  }
  Member *m = g_new0 (Member, 1);
  m->conn = conn;
  m->room = room;
  m->pid = g_strdup (c.sub);
  m->name = g_strdup (c.name);
  m->jti = g_strdup (c.jti);
  m->assisted_by = g_strdup (c.act_name);
  m->role = c.role;
  m->joined_at = hd_time_iso (g_get_real_time ());
  {
    /* the lobby: everyone but the judge and clerk waits, unless admitted a moment ago */
    g_autofree char *key = admitted_key (hid, m->pid);
    gint64 *until = g_hash_table_lookup (core->admitted, key);
    gboolean back = until && *until >= g_get_monotonic_time ();
    m->waiting = core->cfg->lobby && !(hd_role_permissions (c.role) & HD_PERM_SKIP_LOBBY) && !back;
    if (!m->waiting) {
      gint64 *forever = g_new (gint64, 1);
      *forever = G_MAXINT64;
      g_hash_table_replace (core->admitted, g_steal_pointer (&key), forever);
    }
  }
  g_ptr_array_add (room->members, m);
  g_hash_table_insert (core->members, conn, m);
  core->io.joined (conn, core->io_user);
  hd_core_audit (core, m->pid, "session.join", hid,
                 json_pack ("{s:s, s:s, s:s, s:s*}", "name", m->name, "role",
                            hd_role_name (m->role), "jti", m->jti, "assisted_by", m->assisted_by));

  {
    guint perms = hd_role_permissions (c.role);
    g_autofree const char **names = hd_permission_names (perms);
    json_t *plist = json_array ();
    for (const char **p = names; *p; p++)
      json_array_append_new (plist, json_string (*p));
    json_t *body = json_pack (
        "{s:s, s:{s:s, s:s, s:s, s:s*}, s:o, s:o, s:o, s:{s:s, s:s?}, s:b}", "protocol",
        HD_PROTOCOL_NAME, "participant", "id", m->pid, "name", m->name, "role",
        hd_role_name (m->role), "assisted_by", m->assisted_by, "permissions", plist, "hearing",
        hd_hearing_to_json (row), "ice_servers", hd_core_ice_servers (core, m->pid, hd_time_now ()),
        "layout", "mode", room->layout, "participant", room->pinned, "lobby", m->waiting);
    core->io.send (conn, hd_protocol_welcome (msg->id, body), core->io_user);
    if (m->waiting)
      lobby_changed (core, room);
    else
      enter (core, m, row);
    if (perms & HD_PERM_ADMIT) /* the judge and clerk see who waits */
      lobby_changed (core, room);
  }
out:
  hd_claims_clear (&c);
}

/* answer, candidate: handed to the media side for a joined session. */
static void
on_media (HdCore *core, gpointer conn, Member *m, const HdMsg *msg)
{
  const char *code = NULL;
  char *reason = NULL;
  gboolean ok;
  if (!core->media)
    ok = FALSE, code = "media_unavailable", reason = g_strdup ("this server carries no media");
  else if (msg->type == HD_MSG_ANSWER)
    ok = core->media->answer (conn, m->pid, msg->sdp, &code, &reason, core->media_user);
  else
    ok = core->media->candidate (conn, m->pid, msg->candidate, msg->mline, &code, &reason,
                                 core->media_user);
  if (!ok) {
    core->io.send (conn, hd_protocol_error (code, reason ? reason : code, msg->id), core->io_user);
    if (g_str_has_prefix (code, "sdp_"))
      hd_core_audit (core, m->pid, "session.refuse", m->room->hid,
                     json_pack ("{s:s, s:s}", "code", code, "reason", reason ? reason : ""));
  }
  g_free (reason);
}

static void
on_mute (HdCore *core, Member *m, const HdMsg *msg)
{
  if (msg->audio >= 0)
    m->audio_muted = msg->audio;
  if (msg->video >= 0)
    m->video_muted = msg->video;
  broadcast_roster (core, m->room);
  if (core->media && core->media->muted)
    core->media->muted (m->room->hid, m->pid, m->audio_muted, m->video_muted, core->media_user);
}

static Member *
room_member (Room *room, const char *pid)
{
  for (guint i = 0; i < room->members->len; i++)
    if (g_str_equal (((Member *)room->members->pdata[i])->pid, pid))
      return room->members->pdata[i];
  return NULL;
}

static void
on_layout (HdCore *core, Member *m, const HdMsg *msg)
{
  if (!(hd_role_permissions (m->role) & HD_PERM_LAYOUT)) {
    core->io.send (m->conn,
                   hd_protocol_error ("forbidden", "only the judge lays out the picture", msg->id),
                   core->io_user);
    return;
  }
  gboolean pinned = g_str_equal (msg->mode, "pinned");
  Member *who = pinned ? room_member (m->room, msg->participant) : NULL;
  if (pinned && (!who || !(hd_role_permissions (who->role) & HD_PERM_SPEAK))) {
    core->io.send (m->conn,
                   hd_protocol_error ("unknown_participant",
                                      "nobody of that id is in the picture of this hearing",
                                      msg->id),
                   core->io_user);
    return;
  }
  set_layout (core, m->room, msg->mode, pinned ? msg->participant : NULL);
  hd_core_audit (core, m->pid, "hearing.layout", m->room->hid,
                 json_pack ("{s:s, s:s?}", "mode", msg->mode, "participant",
                            pinned ? msg->participant : NULL));
}

/* A log note: on the recording at its offset, shown to the judge and the clerk. */
static void
on_note (HdCore *core, Member *m, const HdMsg *msg)
{
  if (!(hd_role_permissions (m->role) & HD_PERM_LOG_NOTE)) {
    core->io.send (
        m->conn,
        hd_protocol_error ("forbidden", "only the clerk and the judge write log notes", msg->id),
        core->io_user);
    return;
  }
  gint64 offset = core->media && core->media->note
                      ? core->media->note (m->room->hid, m->name, msg->text, core->media_user)
                      : -1;
  if (offset < 0) {
    core->io.send (m->conn,
                   hd_protocol_error ("not_recording",
                                      "the hearing is not being recorded: a note goes on the "
                                      "record, so open the session first",
                                      msg->id),
                   core->io_user);
    return;
  }
  g_autofree char *at = hd_time_iso (g_get_real_time ());
  char *text = hd_protocol_note (m->name, msg->text, offset, at);
  hd_core_notify_role (core, m->room->hid, "judge", strdup (text));
  hd_core_notify_role (core, m->room->hid, "clerk", text);
  hd_core_audit (core, m->pid, "recording.note", m->room->hid,
                 json_pack ("{s:I}", "offset_ms", (json_int_t)offset));
}

/* Off the record and back: the judge or clerk pauses or resumes the recording with a reason;
 * everyone in the hearing is told, for everyone should know whether they are on the record. */
static void
on_recording (HdCore *core, Member *m, const HdMsg *msg)
{
  if (!(hd_role_permissions (m->role) & HD_PERM_RECORD)) {
    core->io.send (m->conn,
                   hd_protocol_error ("forbidden",
                                      "only the judge and the clerk pause or resume the recording",
                                      msg->id),
                   core->io_user);
    return;
  }
  if (m->role == HD_ROLE_CLERK && !core->cfg->clerk_controls_recording) {
    core->io.send (m->conn,
                   hd_protocol_error ("forbidden",
                                      "in this court only the judge takes the hearing off the "
                                      "record ([hearing] clerk_controls_recording)",
                                      msg->id),
                   core->io_user);
    return;
  }
  const char *code = "not_recording", *why = "the hearing is not being recorded";
  if (!core->media || !core->media->recording
      || !core->media->recording (m->room->hid, msg->action, msg->reason, m->pid, &code, &why,
                                  core->media_user)) {
    core->io.send (m->conn, hd_protocol_error (code, why, msg->id), core->io_user);
    return;
  }
  gboolean pause = g_str_equal (msg->action, "pause");
  g_autofree char *at = hd_time_iso (g_get_real_time ());
  hd_core_notify_role (
      core, m->room->hid, NULL,
      hd_protocol_recording (pause ? "paused" : "recording", msg->reason, m->name, at));
  hd_core_audit (core, m->pid, pause ? "recording.pause" : "recording.resume", m->room->hid,
                 json_pack ("{s:s}", "reason", msg->reason));
}

static gboolean
allowed (HdCore *core, Member *m, const HdMsg *msg, guint perm, const char *who_may)
{
  if (hd_role_permissions (m->role) & perm)
    return TRUE;
  g_autofree char *why = g_strdup_printf ("only %s may do this", who_may);
  core->io.send (m->conn, hd_protocol_error ("forbidden", why, msg->id), core->io_user);
  hd_core_audit (core, m->pid, "session.refuse", m->room->hid,
                 json_pack ("{s:s, s:s}", "code", "forbidden", "reason", why));
  return FALSE;
}

/* The member of `m`'s hearing named by the message, waiting (`waiting`) or in; else an error. */
static Member *
target (HdCore *core, Member *m, const HdMsg *msg, gboolean waiting)
{
  Member *t = room_member (m->room, msg->participant);
  if (t && t->waiting == waiting && t != m)
    return t;
  core->io.send (m->conn,
                 hd_protocol_error ("unknown_participant",
                                    waiting ? "nobody of that id waits in the lobby"
                                            : "nobody else of that id is in the hearing",
                                    msg->id),
                 core->io_user);
  return NULL;
}

/* Sent away (denied, removed): told why, the session closed. */
static void
send_away (HdCore *core, Member *t, const char *code, const char *why)
{
  gpointer conn = t->conn;
  core->io.send (conn, hd_protocol_error (code, why, NULL), core->io_user);
  core->io.send (conn, hd_protocol_bye (why, NULL), core->io_user);
  member_remove (core, t, code, TRUE);
  core->io.close (conn, 1000, code, core->io_user);
}

static void
on_admit (HdCore *core, Member *m, const HdMsg *msg)
{
  if (!allowed (core, m, msg, HD_PERM_ADMIT, "the judge and the clerk"))
    return;
  Member *t = target (core, m, msg, TRUE);
  if (!t)
    return;
  g_autoptr (HdHearingRow) row = hd_store_hearing_get (core->store, m->room->hid, NULL);
  if (!row)
    return;
  t->waiting = FALSE;
  gint64 *forever = g_new (gint64, 1);
  *forever = G_MAXINT64;
  g_hash_table_replace (core->admitted, admitted_key (m->room->hid, t->pid), forever);
  core->io.send (t->conn, hd_protocol_admitted (), core->io_user);
  hd_core_audit (core, m->pid, "session.admit", m->room->hid,
                 json_pack ("{s:s, s:s}", "participant", t->pid, "name", t->name));
  enter (core, t, row);
  lobby_changed (core, m->room);
}

static void
on_deny (HdCore *core, Member *m, const HdMsg *msg)
{
  if (!allowed (core, m, msg, HD_PERM_ADMIT, "the judge and the clerk"))
    return;
  Member *t = target (core, m, msg, TRUE);
  if (!t)
    return;
  hd_core_audit (
      core, m->pid, "session.deny", m->room->hid,
      json_pack ("{s:s, s:s, s:s}", "participant", t->pid, "name", t->name, "reason", msg->reason));
  send_away (core, t, "denied", msg->reason);
}

static void
on_remove (HdCore *core, Member *m, const HdMsg *msg)
{
  if (!allowed (core, m, msg, HD_PERM_REMOVE, "the judge"))
    return;
  Member *t = target (core, m, msg, FALSE);
  if (!t)
    return;
  hd_core_audit (core, m->pid, "session.remove", m->room->hid,
                 json_pack ("{s:s, s:s}", "participant", t->pid, "name", t->name));
  send_away (core, t, "removed", "the judge removed you from the hearing");
}

/* The judge mutes or unmutes someone else: muted so, they cannot unmute themselves. */
static void
on_mute_other (HdCore *core, Member *m, const HdMsg *msg)
{
  if (!allowed (core, m, msg, HD_PERM_MUTE_OTHERS, "the judge"))
    return;
  Member *t = target (core, m, msg, FALSE);
  if (!t)
    return;
  if (msg->audio >= 0)
    t->audio_muted = t->forced_audio = msg->audio;
  if (msg->video >= 0)
    t->video_muted = t->forced_video = msg->video;
  broadcast_roster (core, m->room);
  hd_core_audit (core, m->pid, "session.mute", m->room->hid,
                 json_pack ("{s:s, s:i, s:i}", "participant", t->pid, "audio", msg->audio, "video",
                            msg->video));
  if (core->media && core->media->muted)
    core->media->muted (m->room->hid, t->pid, t->audio_muted, t->video_muted, core->media_user);
}

static void
on_hand (HdCore *core, Member *m, const HdMsg *msg)
{
  if (!allowed (core, m, msg, HD_PERM_RAISE_HAND, "parties, counsel, witnesses and interpreters"))
    return;
  m->hand = msg->raised;
  broadcast_roster (core, m->room);
}

static void
on_hearing_state (HdCore *core, Member *m, const HdMsg *msg)
{
  if (!allowed (core, m, msg, HD_PERM_CONTROL_STATE, "the judge"))
    return;
  g_autoptr (HdHearingRow) row = hd_store_hearing_get (core->store, m->room->hid, NULL);
  g_autoptr (GError) e = NULL;
  if (row
      && !hd_core_hearing_update (core, row, NULL, NULL, NULL, NULL, NULL, msg->state, m->pid, &e))
    core->io.send (m->conn,
                   hd_protocol_error (e->code == HD_CORE_ERROR_ILLEGAL_TRANSITION
                                          ? "illegal_transition"
                                          : hd_core_error_code (e->code),
                                      e->message, msg->id),
                   core->io_user);
}

void
hd_core_message (HdCore *core, gpointer conn, const HdMsg *msg)
{
  switch (msg->type) {
  case HD_MSG_PING:
    core->io.send (conn, hd_protocol_pong (msg->id), core->io_user);
    return;
  case HD_MSG_JOIN:
    on_join (core, conn, msg);
    return;
  case HD_MSG_LEAVE: {
    Member *m = g_hash_table_lookup (core->members, conn);
    core->io.send (conn, hd_protocol_bye ("you left the hearing", msg->id), core->io_user);
    if (m)
      member_remove (core, m, "left", TRUE);
    core->io.close (conn, 1000, "left", core->io_user);
    return;
  }
  default:
    break;
  }
  /* everything else: a session that has joined, and has been let in */
  Member *m = g_hash_table_lookup (core->members, conn);
  if (!m) {
    core->io.send (conn, hd_protocol_error ("not_joined", "join the hearing first", msg->id),
                   core->io_user);
    return;
  }
  if (m->waiting) {
    core->io.send (conn,
                   hd_protocol_error ("in_lobby", "wait until the court lets you in", msg->id),
                   core->io_user);
    return;
  }
  switch (msg->type) {
  case HD_MSG_MUTE:
    if (msg->participant && g_strcmp0 (msg->participant, m->pid))
      on_mute_other (core, m, msg);
    else if ((msg->audio == 0 && m->forced_audio) || (msg->video == 0 && m->forced_video))
      core->io.send (conn,
                     hd_protocol_error ("forbidden",
                                        "the judge muted you: only the judge can unmute you",
                                        msg->id),
                     core->io_user);
    else
      on_mute (core, m, msg);
    return;
  case HD_MSG_LAYOUT:
    on_layout (core, m, msg);
    return;
  case HD_MSG_NOTE:
    on_note (core, m, msg);
    return;
  case HD_MSG_RECORDING:
    on_recording (core, m, msg);
    return;
  case HD_MSG_ADMIT:
    on_admit (core, m, msg);
    return;
  case HD_MSG_DENY:
    on_deny (core, m, msg);
    return;
  case HD_MSG_REMOVE:
    on_remove (core, m, msg);
    return;
  case HD_MSG_HAND:
    on_hand (core, m, msg);
    return;
  case HD_MSG_HEARING_STATE:
    on_hearing_state (core, m, msg);
    return;
  case HD_MSG_ANSWER:
  case HD_MSG_CANDIDATE:
    on_media (core, conn, m, msg);
    return;
  case HD_MSG_PING:
  case HD_MSG_JOIN:
  case HD_MSG_LEAVE:
    return; /* handled above */
  }
}

void
hd_core_closed (HdCore *core, gpointer conn)
{
  Member *m = g_hash_table_lookup (core->members, conn);
  if (m)
    member_remove (core, m, "disconnected", TRUE);
}

void
hd_core_shutdown (HdCore *core)
{
  GList *all = g_hash_table_get_values (core->members);
  for (GList *l = all; l; l = l->next)
    member_remove (core, l->data, "server shutdown", FALSE);
  g_list_free (all);
  hd_core_audit (core, "system", "daemon.stop", NULL, NULL);
}
