/* protocol.c — strict parsing and serialisation of protocol v1 messages with jansson.
 * Each message type has one json_unpack_ex format with JSON_STRICT: missing, extra and mistyped
 * fields are all refused in that one call. */
#define G_LOG_DOMAIN "hd-proto"

#include "signaling/protocol.h"

#include <string.h>

void
hd_msg_free (HdMsg *msg)
{
  if (!msg)
    return;
  json_decref (msg->id);
  g_free (msg->token);
  g_free (msg->hearing);
  g_free (msg->sdp);
  g_free (msg->candidate);
  g_free (msg->mode);
  g_free (msg->participant);
  g_free (msg->text);
  g_free (msg->action);
  g_free (msg->reason);
  g_free (msg->state);
  g_free (msg);
}

void
hd_proto_error_clear (HdProtoError *err)
{
  json_decref (err->ref);
  err->ref = NULL;
}

static void fail (HdProtoError *err, const char *code, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static void
fail (HdProtoError *err, const char *code, const char *fmt, ...)
{
  va_list ap;
  err->code = code;
  va_start (ap, fmt);
  g_vsnprintf (err->reason, sizeof err->reason, fmt, ap);
  va_end (ap);
}

static gboolean
id_valid (json_t *id)
{
  if (json_is_integer (id))
    return TRUE;
  return json_is_string (id) && json_string_length (id) <= HD_PROTOCOL_ID_MAX;
}

HdMsg *
hd_protocol_parse (const char *text, size_t len, HdProtoError *err)
{
  json_error_t je;
  memset (err, 0, sizeof *err);
  json_t *root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    fail (err, "bad_json", "not valid JSON: %s (at byte %d)", je.text, je.position);
    return NULL;
  }
  if (!json_is_object (root)) {
    fail (err, "bad_message", "a message must be a JSON object");
    goto error;
  }
  json_t *id = json_object_get (root, "id");
  if (id) {
    if (!id_valid (id)) {
      fail (err, "bad_field", "id must be an integer or a string of at most %d bytes",
            HD_PROTOCOL_ID_MAX);
      goto error;
    }
    err->ref = json_incref (id);
  }
  json_t *type = json_object_get (root, "type");
  if (!json_is_string (type)) {
    fail (err, "bad_message", "a message needs a string field \"type\"");
    goto error;
  }
  const char *t = json_string_value (type);
  HdMsg *msg = g_new0 (HdMsg, 1);
  const char *token = NULL, *hearing = NULL, *sdp = NULL, *cand = NULL, *mode = NULL,
             *participant = NULL, *note = NULL, *action = NULL, *reason = NULL, *state = NULL;
  json_t *raised = NULL;
  json_int_t mline = 0;
  json_t *audio = NULL, *video = NULL;
  int rc;
  if (g_str_equal (t, "join")) {
    msg->type = HD_MSG_JOIN;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o, s:s, s?s}", "type", &t, "id", &id,
                         "token", &token, "hearing", &hearing);
  } else if (g_str_equal (t, "ping")) {
    msg->type = HD_MSG_PING;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o}", "type", &t, "id", &id);
  } else if (g_str_equal (t, "leave")) {
    msg->type = HD_MSG_LEAVE;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o}", "type", &t, "id", &id);
  } else if (g_str_equal (t, "answer")) {
    msg->type = HD_MSG_ANSWER;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o, s:s}", "type", &t, "id", &id, "sdp",
                         &sdp);
  } else if (g_str_equal (t, "candidate")) {
    msg->type = HD_MSG_CANDIDATE;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o, s:s, s:I}", "type", &t, "id", &id,
                         "candidate", &cand, "sdpMLineIndex", &mline);
  } else if (g_str_equal (t, "mute")) {
    msg->type = HD_MSG_MUTE;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o, s?o, s?o, s?s}", "type", &t, "id", &id,
                         "audio", &audio, "video", &video, "participant", &participant);
    if (rc == 0 && ((audio && !json_is_boolean (audio)) || (video && !json_is_boolean (video)))) {
      g_free (msg);
      fail (err, "bad_field", "mute message: audio and video must be true or false");
      goto error;
    }
    if (rc == 0 && !audio && !video) {
      g_free (msg);
      fail (err, "bad_field", "mute message: give audio, video or both");
      goto error;
    }
  } else if (g_str_equal (t, "layout")) {
    msg->type = HD_MSG_LAYOUT;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o, s:s, s?s}", "type", &t, "id", &id,
                         "mode", &mode, "participant", &participant);
    if (rc == 0 && !g_str_equal (mode, "grid") && !g_str_equal (mode, "speaker")
        && !g_str_equal (mode, "pinned")) {
      g_free (msg);
      fail (err, "bad_field", "layout message: mode must be \"grid\", \"speaker\" or \"pinned\"");
      goto error;
    }
    if (rc == 0 && g_str_equal (mode, "pinned")
        && (!participant || !*participant || strlen (participant) > HD_PROTOCOL_ID_MAX)) {
      g_free (msg);
      fail (err, "bad_field", "layout message: \"pinned\" needs the participant's id");
      goto error;
    }
  } else if (g_str_equal (t, "note")) {
    msg->type = HD_MSG_NOTE;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o, s:s}", "type", &t, "id", &id, "text",
                         &note);
    if (rc == 0 && (!*note || strlen (note) > HD_PROTOCOL_NOTE_MAX)) {
      g_free (msg);
      fail (err, "bad_field", "note message: text must be 1 to %d bytes", HD_PROTOCOL_NOTE_MAX);
      goto error;
    }
  } else if (g_str_equal (t, "admit") || g_str_equal (t, "remove")) {
    msg->type = g_str_equal (t, "admit") ? HD_MSG_ADMIT : HD_MSG_REMOVE;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o, s:s}", "type", &t, "id", &id,
                         "participant", &participant);
  } else if (g_str_equal (t, "deny")) {
    msg->type = HD_MSG_DENY;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o, s:s, s:s}", "type", &t, "id", &id,
                         "participant", &participant, "reason", &reason);
    if (rc == 0 && (!*reason || strlen (reason) > HD_PROTOCOL_REASON_MAX)) {
      g_free (msg);
      fail (err, "bad_field", "deny message: reason must be 1 to %d bytes", HD_PROTOCOL_REASON_MAX);
      goto error;
    }
  } else if (g_str_equal (t, "hand")) {
    msg->type = HD_MSG_HAND;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o, s:o}", "type", &t, "id", &id, "raised",
                         &raised);
    if (rc == 0 && !json_is_boolean (raised)) {
      g_free (msg);
      fail (err, "bad_field", "hand message: raised must be true or false");
      goto error;
    }
  } else if (g_str_equal (t, "hearing_state")) {
    msg->type = HD_MSG_HEARING_STATE;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o, s:s}", "type", &t, "id", &id, "state",
                         &state);
    if (rc == 0 && !g_str_equal (state, "open") && !g_str_equal (state, "in_session")
        && !g_str_equal (state, "recess") && !g_str_equal (state, "closed")) {
      g_free (msg);
      fail (err, "bad_field",
            "hearing_state message: state must be \"open\", \"in_session\", \"recess\" or "
            "\"closed\"");
      goto error;
    }
  } else if (g_str_equal (t, "recording")) {
    msg->type = HD_MSG_RECORDING;
    rc = json_unpack_ex (root, &je, JSON_STRICT, "{s:s, s?o, s:s, s:s}", "type", &t, "id", &id,
                         "action", &action, "reason", &reason);
    if (rc == 0 && !g_str_equal (action, "pause") && !g_str_equal (action, "resume")) {
      g_free (msg);
      fail (err, "bad_field", "recording message: action must be \"pause\" or \"resume\"");
      goto error;
    }
    if (rc == 0 && (!*reason || strlen (reason) > HD_PROTOCOL_REASON_MAX)) {
      g_free (msg);
      fail (err, "bad_field", "recording message: reason must be 1 to %d bytes",
            HD_PROTOCOL_REASON_MAX);
      goto error;
    }
  } else {
    g_free (msg);
    g_autofree char *shown = g_strndup (t, 32);
    fail (err, "unknown_type", "unknown message type \"%s\"", shown);
    goto error;
  }
  if (rc != 0) {
    g_free (msg);
    fail (err, "bad_field", "%s message: %s", t, je.text);
    goto error;
  }
  if (msg->type == HD_MSG_JOIN && (*token == '\0' || (hearing && *hearing == '\0'))) {
    g_free (msg);
    fail (err, "bad_field", "join message: token and hearing must not be empty");
    goto error;
  }
  if (msg->type == HD_MSG_CANDIDATE
      && (strlen (cand) > HD_PROTOCOL_CANDIDATE_MAX || mline < 0 || mline > HD_PROTOCOL_MLINE_MAX
          || (*cand && !g_str_has_prefix (cand, "candidate:")))) {
    g_free (msg);
    fail (err, "bad_field",
          "candidate message: candidate must be \"\" or \"candidate:…\" (at most %d bytes), "
          "sdpMLineIndex 0..%d",
          HD_PROTOCOL_CANDIDATE_MAX, HD_PROTOCOL_MLINE_MAX);
    goto error;
  }
  if ((msg->type == HD_MSG_ADMIT || msg->type == HD_MSG_DENY || msg->type == HD_MSG_REMOVE
       || (msg->type == HD_MSG_MUTE && participant))
      && (!*participant || strlen (participant) > HD_PROTOCOL_ID_MAX)) {
    g_free (msg);
    fail (err, "bad_field", "%s message: participant must be an id of 1 to %d bytes", t,
          HD_PROTOCOL_ID_MAX);
    goto error;
  }
  if (msg->type == HD_MSG_ANSWER && *sdp == '\0') {
    g_free (msg);
    fail (err, "bad_field", "answer message: sdp must not be empty");
    goto error;
  }
  msg->id = id ? json_incref (id) : NULL;
  msg->token = g_strdup (token);
  msg->hearing = g_strdup (hearing);
  msg->sdp = g_strdup (sdp);
  msg->candidate = g_strdup (cand);
  msg->mode = g_strdup (mode);
  msg->participant = g_strdup (participant);
  msg->text = g_strdup (note);
  msg->action = g_strdup (action);
  msg->state = g_strdup (state);
  msg->raised = raised ? json_is_true (raised) : -1;
  msg->reason = g_strdup (reason);
  msg->mline = (int)mline;
  msg->audio = audio ? json_is_true (audio) : -1;
  msg->video = video ? json_is_true (video) : -1;
  hd_proto_error_clear (err); /* the ref kept for a refusal is not needed */
  json_decref (root);
  return msg;

error:
  json_decref (root);
  return NULL;
}

static char *
dump (json_t *obj)
{
  char *s = json_dumps (obj, JSON_COMPACT);
  json_decref (obj);
  return s;
}

static json_t *
with_ref (json_t *obj, json_t *ref)
{
  if (ref)
    json_object_set (obj, "ref", ref);
  return obj;
}

char *
hd_protocol_error (const char *code, const char *reason, json_t *ref)
{
  /* A reason may quote the offending input, cut at a byte count: keep the JSON valid. */
  g_autofree char *r = g_utf8_make_valid (reason, -1);
  return dump (
      with_ref (json_pack ("{s:s, s:s, s:s}", "type", "error", "code", code, "reason", r), ref));
}

char *
hd_protocol_pong (json_t *ref)
{
  return dump (with_ref (json_pack ("{s:s}", "type", "pong"), ref));
}

char *
hd_protocol_welcome (json_t *ref, json_t *body)
{
  json_object_set_new (body, "type", json_string ("welcome"));
  return dump (with_ref (body, ref));
}

char *
hd_protocol_roster (json_t *participants)
{
  return dump (json_pack ("{s:s, s:O}", "type", "roster", "participants", participants));
}

char *
hd_protocol_offer (const char *sdp)
{
  return dump (json_pack ("{s:s, s:s}", "type", "offer", "sdp", sdp));
}

char *
hd_protocol_candidate (const char *candidate, int mline)
{
  return dump (json_pack ("{s:s, s:s, s:i}", "type", "candidate", "candidate", candidate,
                          "sdpMLineIndex", mline));
}

char *
hd_protocol_layout (const char *mode, const char *participant)
{
  return dump (
      json_pack ("{s:s, s:s, s:s?}", "type", "layout", "mode", mode, "participant", participant));
}

char *
hd_protocol_note (const char *author, const char *text, gint64 offset_ms, const char *at)
{
  return dump (json_pack ("{s:s, s:s, s:s, s:I, s:s}", "type", "note", "author", author, "text",
                          text, "offset_ms", (json_int_t)offset_ms, "at", at));
}

char *
hd_protocol_lobby (int position, const char *message)
{
  return dump (
      json_pack ("{s:s, s:i, s:s}", "type", "lobby", "position", position, "message", message));
}

char *
hd_protocol_waiting (json_t *participants)
{
  return dump (json_pack ("{s:s, s:O}", "type", "waiting", "participants", participants));
}

char *
hd_protocol_admitted (void)
{
  return dump (json_pack ("{s:s}", "type", "admitted"));
}

char *
hd_protocol_recording (const char *state, const char *reason, const char *by, const char *at)
{
  return dump (json_pack ("{s:s, s:s, s:s, s:s, s:s}", "type", "recording", "state", state,
                          "reason", reason, "by", by, "at", at));
}

char *
hd_protocol_speaker (const char *participant)
{
  return dump (json_pack ("{s:s, s:s?}", "type", "speaker", "participant", participant));
}

char *
hd_protocol_bye (const char *reason, json_t *ref)
{
  return dump (with_ref (json_pack ("{s:s, s:s}", "type", "bye", "reason", reason), ref));
}
