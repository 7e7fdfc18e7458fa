/* hearing.h — the hearing core: the state machine (scheduled → open → in_session ⇄ recess →
 * closed), live sessions per hearing (join, roster, leave), permissions by role, and the audit
 * trail of all of it. Sessions are opaque `conn` handles; the core talks to them through an
 * HdCoreIO table (the signaling server in the daemon, fakes in tests). Main thread only. */
#pragma once

#include "config/config.h"
#include "daemon/auth.h"
#include "daemon/store.h"
#include "signaling/protocol.h"

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

#define HD_CORE_ERROR (hd_core_error_quark ())
GQuark hd_core_error_quark (void);

typedef enum {
  HD_CORE_ERROR_INVALID,            /* bad field value: invalid_field */
  HD_CORE_ERROR_NOT_FOUND,          /* hearing_not_found */
  HD_CORE_ERROR_ILLEGAL_TRANSITION, /* illegal_transition */
  HD_CORE_ERROR_CLOSED,             /* hearing_closed */
  HD_CORE_ERROR_STORE,              /* internal: the store failed */
} HdCoreError;

/* The protocol/REST code of an HD_CORE_ERROR. Static. */
const char *hd_core_error_code (int code);

typedef struct {
  /* Send a text message to `conn`; takes `text` (malloc'd). */
  void (*send) (gpointer conn, char *text, gpointer user);
  /* Close `conn` after its queued messages, with a WebSocket close code. */
  void (*close) (gpointer conn, int code, const char *reason, gpointer user);
  /* Send a state snapshot of `kind`; an unsent older one of that kind may be dropped. */
  void (*send_latest) (gpointer conn, const char *kind, char *text, gpointer user);
  /* `conn` has joined: stop its join deadline. */
  void (*joined) (gpointer conn, gpointer user);
} HdCoreIO;

typedef struct HdCore HdCore;

/* The media side, as the core sees it (codecs/ through the daemon's glue; fakes in tests).
 * Each returns TRUE when taken, or FALSE with an error code and reason (static strings or
 * g_malloc'd: caller frees *reason). Main thread. */
typedef struct {
  gboolean (*answer) (gpointer conn, const char *participant_id, const char *sdp, const char **code,
                      char **reason, gpointer user);
  gboolean (*candidate) (gpointer conn, const char *participant_id, const char *candidate,
                         int mline, const char **code, char **reason, gpointer user);
  /* A participant with media permissions joined (`sends`: their picture and sound are mixed;
   * observers only receive). Optional. */
  void (*joined) (const char *hid, const char *case_number, const char *participant_id,
                  const char *name, const char *role, gboolean sends, gpointer user);
  /* A participant left, for any reason. Optional. */
  void (*left) (const char *hid, const char *participant_id, gpointer user);
  /* A participant's mute state changed. Optional. */
  void (*muted) (const char *hid, const char *participant_id, gboolean audio, gboolean video,
                 gpointer user);
  /* The hearing is (now) in `state` (after a change, and on every join). Optional. */
  void (*state) (const char *hid, const char *case_number, const char *court, const char *state,
                 gpointer user);
  /* A log note for the record: returns its offset on the recording's clock, or -1 when the
   * hearing is not being recorded. Optional. */
  gint64 (*note) (const char *hid, const char *author, const char *text, gpointer user);
  /* The judge or clerk `who` pauses ("pause") or resumes ("resume") the recording for `reason`.
   * Returns TRUE when done, or FALSE with an error code (static) and reason (static). */
  gboolean (*recording) (const char *hid, const char *action, const char *reason, const char *who,
                         const char **code, const char **why, gpointer user);
  /* The judge laid the composite out ("grid", "speaker", "pinned" with `pinned`). Optional. */
  void (*layout) (const char *hid, const char *mode, const char *pinned, gpointer user);
} HdCoreMedia;

/* `store`, `signer` and `cfg` are borrowed and must outlive the core. */
HdCore *hd_core_new (HdStore *store, HdSigner *signer, const HdConfig *cfg, const HdCoreIO *io,
                     gpointer io_user);
void hd_core_free (HdCore *core);

/* Attach the media side (borrowed). Without one, answers and candidates get media_unavailable. */
void hd_core_set_media (HdCore *core, const HdCoreMedia *media, gpointer user);

/* The session of participant `pid` in hearing `hid`, or NULL. */
gpointer hd_core_find_conn (HdCore *core, const char *hid, const char *pid);
/* Send `text` (taken) to every session of `role` (NULL: everyone) in hearing `hid`. */
void hd_core_notify_role (HdCore *core, const char *hid, const char *role, char *text);
/* Each participant's link (id, loss_pct, rtt_ms, kbps): to the judge and the clerk as
 * {"type":"quality",…}. Takes `participants`. */
void hd_core_quality (HdCore *core, const char *hid, json_t *participants);
/* Send a message to a session (takes `text`). */
void hd_core_send (HdCore *core, gpointer conn, char *text);

/* Base of join links, e.g. "https://127.0.0.1:8443". */
void hd_core_set_base_url (HdCore *core, const char *base_url);
const char *hd_core_base_url (HdCore *core);
HdStore *hd_core_store (HdCore *core);
HdSigner *hd_core_signer (HdCore *core);
const HdConfig *hd_core_config (HdCore *core);

/* The media side heard a new active speaker in hearing `hid` (NULL: nobody): everyone is told. */
void hd_core_speaker (HdCore *core, const char *hid, const char *pid);

/* A validated message from a session. */
void hd_core_message (HdCore *core, gpointer conn, const HdMsg *msg);
/* A session is gone (any reason). */
void hd_core_closed (HdCore *core, gpointer conn);
/* Number of participants connected to hearing `hid`. */
guint hd_core_participant_count (HdCore *core, const char *hid);

/* States */
gboolean hd_hearing_state_valid (const char *state);
gboolean hd_hearing_transition_legal (const char *from, const char *to);
gboolean hd_hearing_visibility_valid (const char *visibility);

/* Create a hearing in state scheduled; audits "hearing.create" by `actor`. Caller owns. */
HdHearingRow *hd_core_hearing_create (HdCore *core, const char *case_number, const char *title,
                                      const char *court, const char *scheduled_start,
                                      const char *visibility, const char *actor, GError **error);
/* Apply changes (any NULL field is left as it is); checks values and the state transition,
 * audits "hearing.update" / "hearing.state", and tells the hearing's sessions. Updates `row`. */
gboolean hd_core_hearing_update (HdCore *core, HdHearingRow *row, const char *case_number,
                                 const char *title, const char *court, const char *scheduled_start,
                                 const char *visibility, const char *state, const char *actor,
                                 GError **error);
/* JSON of a hearing row (new reference). */
json_t *hd_hearing_to_json (const HdHearingRow *row);

/* Mint a join token for hearing `row`, record and audit it. `ttl` 0: the configured default.
 * `assisted_by` (or NULL): the shared court's operator (共享法庭工作人员) who joins on the participant's behalf
 * and runs the device check (the token's "act" claim); parties, counsel, witnesses and
 * interpreters only. Returns the JSON the REST API answers (new reference): token, jti,
 * participant_id, join_url… */
json_t *hd_core_token_issue (HdCore *core, const HdHearingRow *row, HdRole role, const char *name,
                             const char *participant_id, const char *assisted_by, gint64 ttl,
                             const char *actor, GError **error);
/* Revoke by jti, audit it and disconnect any session using it. */
gboolean hd_core_token_revoke (HdCore *core, const char *jti, const char *actor, GError **error);
/* Revocation check for hd_token_verify. `user` is the HdStore. */
gboolean hd_core_is_revoked (const char *jti, gpointer user);

/* The ICE servers a client should use, as RTCIceServer objects (new reference): the STUN
 * server, and the TURN server with static or, given a shared secret, TURN REST credentials
 * valid for [ice] turn_ttl_seconds from `now`. */
json_t *hd_core_ice_servers (HdCore *core, const char *participant_id, gint64 now);

/* Audit, logging a failure instead of failing the caller. */
void hd_core_audit (HdCore *core, const char *actor, const char *action, const char *hid,
                    json_t *detail /* stolen, may be NULL */);

/* Daemon shutting down: audit every session's leave. */
void hd_core_shutdown (HdCore *core);

G_END_DECLS
