/* protocol.h — WebSocket protocol v1 (docs/protocol.md): JSON text <-> typed messages.
 * Pure functions: no sockets, no globals; safe on any thread; fuzzed (tests/fuzz). */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

#define HD_PROTOCOL_NAME "hearing.v1"
#define HD_PROTOCOL_ID_MAX 64
#define HD_PROTOCOL_NOTE_MAX 2000
#define HD_PROTOCOL_REASON_MAX 500

typedef enum {
  HD_MSG_JOIN,
  HD_MSG_PING,
  HD_MSG_LEAVE,
  HD_MSG_ANSWER,        /* the client's SDP answer to the server's offer */
  HD_MSG_CANDIDATE,     /* a trickled ICE candidate ("" ends gathering) */
  HD_MSG_MUTE,          /* the client mutes or unmutes its audio and/or video */
  HD_MSG_LAYOUT,        /* the judge lays out the composite: grid, speaker, pinned participant */
  HD_MSG_NOTE,          /* the clerk (or judge) writes a log note on the record */
  HD_MSG_RECORDING,     /* the judge (or clerk) pauses or resumes the recording, with a reason */
  HD_MSG_ADMIT,         /* the judge or clerk lets someone in from the lobby */
  HD_MSG_DENY,          /* … or turns them away, with a reason */
  HD_MSG_REMOVE,        /* the judge removes a participant */
  HD_MSG_HAND,          /* raise or lower a hand */
  HD_MSG_HEARING_STATE, /* the judge opens, starts, recesses, resumes or closes the hearing */
} HdMsgType;

#define HD_PROTOCOL_CANDIDATE_MAX 1024
#define HD_PROTOCOL_MLINE_MAX 63

/* A validated client -> server message. Owned by the caller; free with hd_msg_free(). */
typedef struct {
  HdMsgType type;
  json_t *id;        /* the client's optional id (string or integer), echoed as `ref`; or NULL */
  char *token;       /* join: the JWT */
  char *hearing;     /* join: optional hearing id the client expects; or NULL */
  char *sdp;         /* answer */
  char *candidate;   /* candidate: the a=candidate value, "" at the end of gathering */
  int mline;         /* candidate: sdpMLineIndex */
  int audio;         /* mute: 1 muted, 0 unmuted, -1 absent */
  int video;         /* mute: likewise */
  char *mode;        /* layout: "grid", "speaker" or "pinned" */
  char *participant; /* layout: who is pinned; admit, deny, remove: whom; mute: whom (someone
                      * else, by the judge), or NULL for oneself */
  char *text;        /* note: 1..HD_PROTOCOL_NOTE_MAX bytes of UTF-8 */
  char *action;      /* recording: "pause" or "resume" */
  char *reason;      /* recording, deny: 1..HD_PROTOCOL_REASON_MAX bytes of UTF-8 */
  int raised;        /* hand: 1 raised, 0 lowered */
  char *state;       /* hearing_state: "open", "in_session", "recess" or "closed" */
} HdMsg;

void hd_msg_free (HdMsg *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HdMsg, hd_msg_free)

/* A refusal of a message: an error code (see docs/protocol.md) and a reason. */
typedef struct {
  const char *code; /* static string */
  char reason[160];
  json_t *ref; /* the offending message's id if it could be read, or NULL; owned */
} HdProtoError;

void hd_proto_error_clear (HdProtoError *err);

/* Parse and strictly validate one text message of `len` bytes (UTF-8 already checked by the
 * caller or not: invalid UTF-8 is reported as bad_json). Returns a new HdMsg, or NULL with
 * `err` filled (caller clears it). */
HdMsg *hd_protocol_parse (const char *text, size_t len, HdProtoError *err);

/* Serialisers: each returns a new JSON text (caller frees with free()). `ref` may be NULL. */
char *hd_protocol_error (const char *code, const char *reason, json_t *ref);
char *hd_protocol_pong (json_t *ref);
/* `welcome` steals the reference to `body` (an object with participant, permissions, hearing). */
char *hd_protocol_welcome (json_t *ref, json_t *body);
/* `participants` is borrowed. */
char *hd_protocol_roster (json_t *participants);
char *hd_protocol_bye (const char *reason, json_t *ref);
char *hd_protocol_offer (const char *sdp);
char *hd_protocol_candidate (const char *candidate, int mline);
/* {"type":"layout","mode":…,"participant":…|null} to everyone in the hearing. */
char *hd_protocol_layout (const char *mode, const char *participant);
/* {"type":"note","author":…,"text":…,"offset_ms":N,"at":…} to the judge and clerk. */
char *hd_protocol_note (const char *author, const char *text, gint64 offset_ms, const char *at);
/* {"type":"recording","state":"recording"|"paused","reason":…,"by":…,"at":…} to everyone in the
 * hearing when the judge or clerk pauses or resumes the recording. */
char *hd_protocol_recording (const char *state, const char *reason, const char *by, const char *at);
/* {"type":"lobby","position":N,"message":…}: to someone waiting to be admitted. */
char *hd_protocol_lobby (int position, const char *message);
/* {"type":"waiting","participants":[{id,name,role,since}]}: the lobby, to the judge and clerk.
 * `participants` is borrowed. */
char *hd_protocol_waiting (json_t *participants);
/* {"type":"admitted"}: to someone let in. */
char *hd_protocol_admitted (void);
/* {"type":"speaker","participant":…|null}: who speaks now. */
char *hd_protocol_speaker (const char *participant);

G_END_DECLS
