/* Unit tests of protocol v1 parsing and serialisation. */
#include "signaling/protocol.h"

#include <string.h>

static void
expect_error (const char *text, const char *code, const char *fragment, gboolean has_ref)
{
  HdProtoError err;
  HdMsg *m = hd_protocol_parse (text, strlen (text), &err);
  g_assert_null (m);
  g_assert_cmpstr (err.code, ==, code);
  if (fragment && !strstr (err.reason, fragment))
    g_error ("reason '%s' lacks '%s'", err.reason, fragment);
  g_assert_true ((err.ref != NULL) == has_ref);
  hd_proto_error_clear (&err);
}

static void
test_valid (void)
{
  HdProtoError err;
  const char *j = "{\"type\":\"join\",\"id\":7,\"token\":\"a.b.c\",\"hearing\":\"h-1\"}";
  g_autoptr (HdMsg) m = hd_protocol_parse (j, strlen (j), &err);
  g_assert_nonnull (m);
  g_assert_cmpint (m->type, ==, HD_MSG_JOIN);
  g_assert_cmpstr (m->token, ==, "a.b.c");
  g_assert_cmpstr (m->hearing, ==, "h-1");
  g_assert_cmpint (json_integer_value (m->id), ==, 7);

  const char *p = "{\"type\":\"ping\",\"id\":\"x1\"}";
  g_autoptr (HdMsg) m2 = hd_protocol_parse (p, strlen (p), &err);
  g_assert_cmpint (m2->type, ==, HD_MSG_PING);
  g_assert_cmpstr (json_string_value (m2->id), ==, "x1");

  const char *l = "{\"type\":\"leave\"}";
  g_autoptr (HdMsg) m3 = hd_protocol_parse (l, strlen (l), &err);
  g_assert_cmpint (m3->type, ==, HD_MSG_LEAVE);
  g_assert_null (m3->id);
}

static void
test_media_messages (void)
{
  HdProtoError err;
  const char *a = "{\"type\":\"answer\",\"id\":3,\"sdp\":\"v=0\\r\\n\"}";
  g_autoptr (HdMsg) m = hd_protocol_parse (a, strlen (a), &err);
  g_assert_nonnull (m);
  g_assert_cmpint (m->type, ==, HD_MSG_ANSWER);
  g_assert_cmpstr (m->sdp, ==, "v=0\r\n");
  const char *c = "{\"type\":\"candidate\",\"candidate\":\"candidate:1 1 UDP 2122252543 10.77.0.2 "
                  "40000 typ host\",\"sdpMLineIndex\":1}";
  g_autoptr (HdMsg) m2 = hd_protocol_parse (c, strlen (c), &err);
  g_assert_cmpint (m2->type, ==, HD_MSG_CANDIDATE);
  g_assert_cmpint (m2->mline, ==, 1);
  const char *end = "{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMLineIndex\":0}";
  g_autoptr (HdMsg) m3 = hd_protocol_parse (end, strlen (end), &err);
  g_assert_cmpstr (m3->candidate, ==, "");
  const char *mu = "{\"type\":\"mute\",\"audio\":true}";
  g_autoptr (HdMsg) m4 = hd_protocol_parse (mu, strlen (mu), &err);
  g_assert_cmpint (m4->type, ==, HD_MSG_MUTE);
  g_assert_cmpint (m4->audio, ==, 1);
  g_assert_cmpint (m4->video, ==, -1);
  const char *mv = "{\"type\":\"mute\",\"audio\":false,\"video\":true}";
  g_autoptr (HdMsg) m5 = hd_protocol_parse (mv, strlen (mv), &err);
  g_assert_cmpint (m5->audio, ==, 0);
  g_assert_cmpint (m5->video, ==, 1);
  const char *lp = "{\"type\":\"layout\",\"mode\":\"pinned\",\"participant\":\"p-1\"}";
  g_autoptr (HdMsg) m6 = hd_protocol_parse (lp, strlen (lp), &err);
  g_assert_cmpint (m6->type, ==, HD_MSG_LAYOUT);
  g_assert_cmpstr (m6->mode, ==, "pinned");
  g_assert_cmpstr (m6->participant, ==, "p-1");
  const char *nt = "{\"type\":\"note\",\"text\":\"证人出示第3号证据\",\"id\":\"n1\"}";
  g_autoptr (HdMsg) m8 = hd_protocol_parse (nt, strlen (nt), &err);
  g_assert_cmpint (m8->type, ==, HD_MSG_NOTE);
  g_assert_cmpstr (m8->text, ==, "证人出示第3号证据");
  const char *rp = "{\"type\":\"recording\",\"action\":\"pause\",\"reason\":\"在庭外协商\"}";
  g_autoptr (HdMsg) m9 = hd_protocol_parse (rp, strlen (rp), &err);
  g_assert_cmpint (m9->type, ==, HD_MSG_RECORDING);
  g_assert_cmpstr (m9->action, ==, "pause");
  g_assert_cmpstr (m9->reason, ==, "在庭外协商");
  const char *lg = "{\"type\":\"layout\",\"mode\":\"grid\"}";
  g_autoptr (HdMsg) m7 = hd_protocol_parse (lg, strlen (lg), &err);
  g_assert_cmpstr (m7->mode, ==, "grid");
  g_assert_null (m7->participant);

  expect_error ("{\"type\":\"answer\"}", "bad_field", "sdp", FALSE);
  expect_error ("{\"type\":\"answer\",\"sdp\":\"\"}", "bad_field", "must not be empty", FALSE);
  expect_error ("{\"type\":\"candidate\",\"candidate\":\"x\",\"sdpMLineIndex\":0}", "bad_field",
                "candidate:", FALSE);
  expect_error ("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMLineIndex\":-1}", "bad_field",
                "sdpMLineIndex", FALSE);
  expect_error ("{\"type\":\"candidate\",\"candidate\":\"\"}", "bad_field", NULL, FALSE);
  expect_error ("{\"type\":\"mute\"}", "bad_field", "give audio, video or both", FALSE);
  expect_error ("{\"type\":\"mute\",\"audio\":1}", "bad_field", "true or false", FALSE);
  expect_error ("{\"type\":\"mute\",\"audio\":true,\"screen\":true}", "bad_field", NULL, FALSE);
  expect_error ("{\"type\":\"layout\",\"mode\":\"mosaic\"}", "bad_field", "grid", FALSE);
  expect_error ("{\"type\":\"layout\",\"mode\":\"pinned\"}", "bad_field", "participant", FALSE);
  expect_error ("{\"type\":\"layout\",\"mode\":\"pinned\",\"participant\":\"\"}", "bad_field",
                "participant", FALSE);
  expect_error ("{\"type\":\"layout\"}", "bad_field", NULL, FALSE);
  expect_error ("{\"type\":\"note\",\"text\":\"\"}", "bad_field", "1 to 2000 bytes", FALSE);
  expect_error ("{\"type\":\"note\",\"text\":7}", "bad_field", NULL, FALSE);
  expect_error ("{\"type\":\"note\",\"text\":\"a\",\"page\":2}", "bad_field", NULL, FALSE);
  {
    g_autofree char *fill = g_strnfill (2001, 'x');
    g_autofree char *big = g_strdup_printf ("{\"type\":\"note\",\"text\":\"%s\"}", fill);
    expect_error (big, "bad_field", "1 to 2000 bytes", FALSE);
  }
  expect_error ("{\"type\":\"layout\",\"mode\":\"grid\",\"size\":2}", "bad_field", NULL, FALSE);
  expect_error ("{\"type\":\"recording\",\"action\":\"stop\",\"reason\":\"x\"}", "bad_field",
                "\"pause\" or \"resume\"", FALSE);
  expect_error ("{\"type\":\"recording\",\"action\":\"pause\"}", "bad_field", "reason", FALSE);
  expect_error ("{\"type\":\"recording\",\"action\":\"pause\",\"reason\":\"\"}", "bad_field",
                "1 to 500 bytes", FALSE);
  expect_error ("{\"type\":\"recording\",\"action\":true,\"reason\":\"x\"}", "bad_field", NULL,
                FALSE);
  {
    g_autofree char *fill = g_strnfill (501, 'x');
    g_autofree char *big = g_strdup_printf (
        "{\"type\":\"recording\",\"action\":\"resume\",\"reason\":\"%s\"}", fill);
    expect_error (big, "bad_field", "1 to 500 bytes", FALSE);
  }
  /* the court's controls */
  {
    const char *ad = "{\"type\":\"admit\",\"participant\":\"p-1\"}";
    g_autoptr (HdMsg) m = hd_protocol_parse (ad, strlen (ad), &err);
    g_assert_cmpint (m->type, ==, HD_MSG_ADMIT);
    g_assert_cmpstr (m->participant, ==, "p-1");
    const char *dn = "{\"type\":\"deny\",\"participant\":\"p-2\",\"reason\":\"不是本案当事人\"}";
    g_autoptr (HdMsg) m2 = hd_protocol_parse (dn, strlen (dn), &err);
    g_assert_cmpint (m2->type, ==, HD_MSG_DENY);
    g_assert_cmpstr (m2->reason, ==, "不是本案当事人");
    const char *hd = "{\"type\":\"hand\",\"raised\":true}";
    g_autoptr (HdMsg) m3 = hd_protocol_parse (hd, strlen (hd), &err);
    g_assert_cmpint (m3->raised, ==, 1);
    const char *hs = "{\"type\":\"hearing_state\",\"state\":\"recess\"}";
    g_autoptr (HdMsg) m4 = hd_protocol_parse (hs, strlen (hs), &err);
    g_assert_cmpstr (m4->state, ==, "recess");
    const char *mo = "{\"type\":\"mute\",\"participant\":\"p-3\",\"audio\":true}";
    g_autoptr (HdMsg) m5 = hd_protocol_parse (mo, strlen (mo), &err);
    g_assert_cmpstr (m5->participant, ==, "p-3");
    g_assert_cmpint (m5->audio, ==, 1);
    const char *rm = "{\"type\":\"remove\",\"participant\":\"p-4\"}";
    g_autoptr (HdMsg) m6 = hd_protocol_parse (rm, strlen (rm), &err);
    g_assert_cmpint (m6->type, ==, HD_MSG_REMOVE);
  }
  expect_error ("{\"type\":\"admit\"}", "bad_field", NULL, FALSE);
  expect_error ("{\"type\":\"admit\",\"participant\":\"\"}", "bad_field", "participant", FALSE);
  expect_error ("{\"type\":\"deny\",\"participant\":\"p\"}", "bad_field", NULL, FALSE);
  expect_error ("{\"type\":\"deny\",\"participant\":\"p\",\"reason\":\"\"}", "bad_field", "reason",
                FALSE);
  expect_error ("{\"type\":\"hand\",\"raised\":1}", "bad_field", "true or false", FALSE);
  expect_error ("{\"type\":\"hearing_state\",\"state\":\"scheduled\"}", "bad_field", "state",
                FALSE);
  expect_error ("{\"type\":\"remove\",\"participant\":7}", "bad_field", NULL, FALSE);
  {
    g_autofree char *fill = g_strnfill (65, 'p');
    g_autofree char *big = g_strdup_printf ("{\"type\":\"remove\",\"participant\":\"%s\"}", fill);
    expect_error (big, "bad_field", "participant", FALSE);
  }
  char *rs = hd_protocol_recording ("paused", "sidebar", "Judge Wang", "2026-01-01T00:00:00.000Z");
  g_assert_cmpstr (rs, ==,
                   "{\"type\":\"recording\",\"state\":\"paused\",\"reason\":\"sidebar\","
                   "\"by\":\"Judge Wang\",\"at\":\"2026-01-01T00:00:00.000Z\"}");
  free (rs);
  char *ls = hd_protocol_layout ("speaker", NULL);
  g_assert_cmpstr (ls, ==, "{\"type\":\"layout\",\"mode\":\"speaker\",\"participant\":null}");
  free (ls);
  char *o = hd_protocol_offer ("v=0");
  g_assert_cmpstr (o, ==, "{\"type\":\"offer\",\"sdp\":\"v=0\"}");
  free (o);
  char *cd = hd_protocol_candidate ("", 0);
  g_assert_cmpstr (cd, ==, "{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMLineIndex\":0}");
  free (cd);
}

static void
test_errors (void)
{
  expect_error ("", "bad_json", "not valid JSON", FALSE);
  expect_error ("{\"type\":", "bad_json", NULL, FALSE);
  expect_error ("[1]", "bad_message", "must be a JSON object", FALSE);
  expect_error ("\"ping\"", "bad_json", NULL, FALSE);
  expect_error ("{}", "bad_message", "\"type\"", FALSE);
  expect_error ("{\"type\":5}", "bad_message", NULL, FALSE);
  expect_error ("{\"type\":\"dance\",\"id\":1}", "unknown_type", "dance", TRUE);
  expect_error ("{\"type\":\"join\",\"id\":2}", "bad_field", "token", TRUE);
  expect_error ("{\"type\":\"join\",\"token\":5}", "bad_field", NULL, FALSE);
  expect_error ("{\"type\":\"join\",\"token\":\"\"}", "bad_field", "must not be empty", FALSE);
  expect_error ("{\"type\":\"ping\",\"extra\":1}", "bad_field", "extra", FALSE);
  expect_error ("{\"type\":\"ping\",\"id\":{}}", "bad_field", "id must be", FALSE);
  expect_error ("{\"type\":\"ping\",\"id\":1.5}", "bad_field", "id must be", FALSE);
  g_autofree char *long_id = g_strdup_printf ("{\"type\":\"ping\",\"id\":\"%0100d\"}", 1);
  expect_error (long_id, "bad_field", "id must be", FALSE);
  expect_error ("{\"type\":\"ping\",\"type\":\"ping\"}", "bad_json", "duplicate", FALSE);
  expect_error ("{\"type\":\"ping\"} x", "bad_json", NULL, FALSE);
  /* NUL inside the text is refused, not truncated */
  HdProtoError err;
  g_assert_null (hd_protocol_parse ("{\"type\":\"ping\"}\0", 16, &err));
  hd_proto_error_clear (&err);
}

static void
test_serialise (void)
{
  json_t *ref = json_integer (42);
  char *e = hd_protocol_error ("rate_limited", "slow down", ref);
  json_t *j = json_loads (e, 0, NULL);
  g_assert_cmpstr (json_string_value (json_object_get (j, "type")), ==, "error");
  g_assert_cmpstr (json_string_value (json_object_get (j, "code")), ==, "rate_limited");
  g_assert_cmpint (json_integer_value (json_object_get (j, "ref")), ==, 42);
  json_decref (j);
  free (e);
  char *p = hd_protocol_pong (NULL);
  g_assert_cmpstr (p, ==, "{\"type\":\"pong\"}");
  free (p);
  json_t *list = json_pack ("[{s:s}]", "id", "p-1");
  char *r = hd_protocol_roster (list);
  g_assert_cmpstr (r, ==, "{\"type\":\"roster\",\"participants\":[{\"id\":\"p-1\"}]}");
  free (r);
  json_decref (list);
  char *w = hd_protocol_welcome (ref, json_pack ("{s:s}", "protocol", "hearing.v1"));
  j = json_loads (w, 0, NULL);
  g_assert_cmpstr (json_string_value (json_object_get (j, "type")), ==, "welcome");
  g_assert_cmpint (json_integer_value (json_object_get (j, "ref")), ==, 42);
  json_decref (j);
  free (w);
  json_decref (ref);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/protocol/valid", test_valid);
  g_test_add_func ("/protocol/errors", test_errors);
  g_test_add_func ("/protocol/serialise", test_serialise);
  g_test_add_func ("/protocol/media-messages", test_media_messages);
  return g_test_run ();
}
