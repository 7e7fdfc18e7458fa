/* Unit tests of join tokens: a good token verifies; every refusal has its own code. */
#include "daemon/auth.h"
#include "daemon/util.h"

#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/stat.h>

static const guint8 seed_a[32] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const guint8 seed_b[32] = { 9 };
#define NOW 1800000000

static char *
claims_json (const char *role, const char *hid, gint64 nbf, gint64 exp)
{
  return g_strdup_printf ("{\"iss\":\"hearingd\",\"sub\":\"p-1\",\"name\":\"Zhang San\","
                          "\"hid\":\"%s\",\"role\":\"%s\",\"iat\":%d,\"nbf\":%" G_GINT64_FORMAT
                          ",\"exp\":%" G_GINT64_FORMAT ",\"jti\":\"t-1\"}",
                          hid, role, NOW, nbf, exp);
}

static gboolean
revoked_t1 (const char *jti, gpointer user)
{
  return g_str_equal (jti, "t-1") && GPOINTER_TO_INT (user);
}

static void
expect (HdSigner *s, const char *token, const char *hid, gboolean revoke, int code)
{
  HdClaims c;
  g_autoptr (GError) e = NULL;
  gboolean ok = hd_token_verify (s, token, "hearingd", hid, NOW, revoked_t1,
                                 GINT_TO_POINTER (revoke), &c, &e);
  if (code < 0) {
    g_assert_no_error (e);
    g_assert_true (ok);
    hd_claims_clear (&c);
    return;
  }
  g_assert_false (ok);
  g_assert_error (e, HD_AUTH_ERROR, code);
}

static void
test_roundtrip (void)
{
  g_autoptr (HdSigner) s = hd_signer_new_from_seed (seed_a);
  HdClaims in = { .iss = "hearingd",
                  .sub = "p-7",
                  .name = "法官 王",
                  .hid = "h-1",
                  .role = HD_ROLE_JUDGE,
                  .iat = NOW,
                  .nbf = NOW,
                  .exp = NOW + 60,
                  .jti = "t-9" };
  g_autofree char *tok = hd_token_sign (s, &in);
  HdClaims out;
  g_autoptr (GError) e = NULL;
  g_assert_true (hd_token_verify (s, tok, "hearingd", "h-1", NOW, NULL, NULL, &out, &e));
  g_assert_cmpstr (out.sub, ==, "p-7");
  g_assert_cmpstr (out.name, ==, "法官 王");
  g_assert_cmpint (out.role, ==, HD_ROLE_JUDGE);
  g_assert_cmpint (out.exp, ==, NOW + 60);
  g_assert_null (out.act_name);
  hd_claims_clear (&out);
  /* a party's link used by the shared court's operator: the actor travels, signed */
  HdClaims helped = in;
  helped.role = HD_ROLE_PARTY;
  helped.act_sub = "a-3";
  helped.act_name = "陈 (Xiaoshan shared court)";
  g_autofree char *htok = hd_token_sign (s, &helped);
  g_assert_true (hd_token_verify (s, htok, "hearingd", "h-1", NOW, NULL, NULL, &out, &e));
  g_assert_cmpstr (out.act_sub, ==, "a-3");
  g_assert_cmpstr (out.act_name, ==, "陈 (Xiaoshan shared court)");
  hd_claims_clear (&out);
  /* Any-hearing tokens verify for every hearing. */
  in.hid = "*";
  g_autofree char *any = hd_token_sign (s, &in);
  expect (s, any, "h-42", FALSE, -1);
}

static void
test_refusals (void)
{
  g_autoptr (HdSigner) s = hd_signer_new_from_seed (seed_a);
  g_autoptr (HdSigner) other = hd_signer_new_from_seed (seed_b);
  const char *hdr = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
  g_autofree char *good_claims = claims_json ("party", "h-1", NOW, NOW + 600);
  g_autofree char *good = hd_token_sign_raw (s, hdr, good_claims);
  expect (s, good, "h-1", FALSE, -1);

  /* malformed */
  expect (s, "", NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  expect (s, "abc", NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  expect (s, "a.b", NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  expect (s, "a.b.c.d", NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  expect (s, "..", NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  expect (s, "e30.e30.", NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  expect (s, "!!!.e30.AAAA", NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  expect (s, "eyJhbGciOiJFZERTQSJ9.e30.AAA=", NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  g_autofree char *long_tok = g_strnfill (9000, 'a');
  expect (s, long_tok, NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  g_autofree char *no_sub = hd_token_sign_raw (s, hdr, "{\"iss\":\"hearingd\"}");
  expect (s, no_sub, NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  g_autofree char *extra = hd_token_sign_raw (
      s, hdr,
      "{\"iss\":\"hearingd\",\"sub\":\"p-1\",\"name\":\"n\",\"hid\":\"h-1\",\"role\":"
      "\"party\",\"iat\":1,\"nbf\":1,\"exp\":9999999999,\"jti\":\"t-1\",\"admin\":true}");
  expect (s, extra, NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  g_autofree char *arr = hd_token_sign_raw (s, hdr, "[1,2]");
  expect (s, arr, NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  /* "act" (who joins on the participant's behalf): an object of exactly sub and name */
  static const char *const acts[] = { "\"Chen\"",
                                      "{}",
                                      "{\"sub\":\"a-1\"}",
                                      "{\"sub\":\"a 1\",\"name\":\"Chen\"}",
                                      "{\"sub\":\"a-1\",\"name\":\"\"}",
                                      "{\"sub\":\"a-1\",\"name\":\"Chen\",\"role\":\"judge\"}" };
  for (gsize i = 0; i < G_N_ELEMENTS (acts); i++) {
    g_autofree char *c = g_strdup_printf (
        "{\"iss\":\"hearingd\",\"sub\":\"p-1\",\"name\":\"n\",\"hid\":\"h-1\",\"role\":"
        "\"party\",\"iat\":1,\"nbf\":1,\"exp\":9999999999,\"jti\":\"t-1\",\"act\":%s}",
        acts[i]);
    g_autofree char *t = hd_token_sign_raw (s, hdr, c);
    expect (s, t, NULL, FALSE, HD_AUTH_ERROR_MALFORMED);
  }

  /* alg none: header says none, signature empty or present */
  g_autofree char *h_none = hd_b64url_encode ((const guint8 *)"{\"alg\":\"none\"}", 14);
  g_autofree char *p = hd_b64url_encode ((const guint8 *)good_claims, strlen (good_claims));
  g_autofree char *none1 = g_strdup_printf ("%s.%s.", h_none, p);
  expect (s, none1, NULL, FALSE, HD_AUTH_ERROR_MALFORMED); /* empty third part */
  g_autofree char *none2 = g_strdup_printf ("%s.%s.AAAA", h_none, p);
  expect (s, none2, NULL, FALSE, HD_AUTH_ERROR_BAD_ALG);

  /* HS256 keyed with the Ed25519 public key (the classic key-confusion attack) */
  guint8 pub[32];
  g_assert_true (hd_signer_public_raw (s, pub));
  g_autofree char *h_hs
      = hd_b64url_encode ((const guint8 *)"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27);
  g_autofree char *input = g_strdup_printf ("%s.%s", h_hs, p);
  guint8 mac[32];
  unsigned int maclen = 0;
  HMAC (EVP_sha256 (), pub, 32, (const guint8 *)input, strlen (input), mac, &maclen);
  g_autofree char *macs = hd_b64url_encode (mac, maclen);
  g_autofree char *hs = g_strdup_printf ("%s.%s", input, macs);
  expect (s, hs, NULL, FALSE, HD_AUTH_ERROR_BAD_ALG);

  /* bad signature: another key, or a payload changed after signing */
  g_autofree char *forged = hd_token_sign_raw (other, hdr, good_claims);
  expect (s, forged, NULL, FALSE, HD_AUTH_ERROR_BAD_SIGNATURE);
  g_autofree char *judge_claims = claims_json ("judge", "h-1", NOW, NOW + 600);
  g_autofree char *pj = hd_b64url_encode ((const guint8 *)judge_claims, strlen (judge_claims));
  g_auto (GStrv) parts = g_strsplit (good, ".", 3);
  g_autofree char *tampered = g_strdup_printf ("%s.%s.%s", parts[0], pj, parts[2]);
  expect (s, tampered, NULL, FALSE, HD_AUTH_ERROR_BAD_SIGNATURE);

  /* issuer */
  g_autofree char *iss = hd_token_sign_raw (
      s, hdr,
      "{\"iss\":\"elsewhere\",\"sub\":\"p-1\",\"name\":\"n\",\"hid\":\"h-1\",\"role\":"
      "\"party\",\"iat\":1,\"nbf\":1,\"exp\":9999999999,\"jti\":\"t-1\"}");
  expect (s, iss, NULL, FALSE, HD_AUTH_ERROR_BAD_ISSUER);

  /* time window (30 s leeway) */
  g_autofree char *expired_c = claims_json ("party", "h-1", NOW - 600, NOW - 31);
  g_autofree char *expired = hd_token_sign_raw (s, hdr, expired_c);
  expect (s, expired, NULL, FALSE, HD_AUTH_ERROR_EXPIRED);
  g_autofree char *skew_c = claims_json ("party", "h-1", NOW - 600, NOW - 10);
  g_autofree char *skew = hd_token_sign_raw (s, hdr, skew_c);
  expect (s, skew, NULL, FALSE, -1);
  g_autofree char *early_c = claims_json ("party", "h-1", NOW + 31, NOW + 600);
  g_autofree char *early = hd_token_sign_raw (s, hdr, early_c);
  expect (s, early, NULL, FALSE, HD_AUTH_ERROR_NOT_YET_VALID);

  /* hearing, role, revocation */
  expect (s, good, "h-2", FALSE, HD_AUTH_ERROR_WRONG_HEARING);
  g_autofree char *role_c = claims_json ("bailiff", "h-1", NOW, NOW + 600);
  g_autofree char *role = hd_token_sign_raw (s, hdr, role_c);
  expect (s, role, NULL, FALSE, HD_AUTH_ERROR_UNKNOWN_ROLE);
  expect (s, good, "h-1", TRUE, HD_AUTH_ERROR_REVOKED);

  /* every code has its own name */
  GHashTable *names = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = HD_AUTH_ERROR_MALFORMED; i <= HD_AUTH_ERROR_KEY; i++)
    g_assert_true (g_hash_table_add (names, (gpointer)hd_auth_error_code (i)));
  g_hash_table_unref (names);
}

static void
test_key_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("hd-auth-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "signing-key.pem", NULL);
  g_autoptr (GError) e = NULL;
  g_assert_null (hd_signer_load (path, FALSE, &e));
  g_assert_error (e, HD_AUTH_ERROR, HD_AUTH_ERROR_KEY);
  g_clear_error (&e);
  HdSigner *s1 = hd_signer_load (path, TRUE, &e);
  g_assert_no_error (e);
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  /* Loading again gives the same key: a token from one verifies with the other. */
  HdSigner *s2 = hd_signer_load (path, TRUE, &e);
  HdClaims c = { .iss = "hearingd",
                 .sub = "p",
                 .name = "n",
                 .hid = "h",
                 .role = HD_ROLE_PARTY,
                 .iat = NOW,
                 .nbf = NOW,
                 .exp = NOW + 5,
                 .jti = "t" };
  g_autofree char *tok = hd_token_sign (s1, &c);
  HdClaims out;
  g_assert_true (hd_token_verify (s2, tok, "hearingd", NULL, NOW, NULL, NULL, &out, NULL));
  hd_claims_clear (&out);
  hd_signer_free (s1);
  hd_signer_free (s2);
  /* A bad key file is a clear error. */
  g_assert_true (g_file_set_contents (path, "not a key\n", -1, NULL));
  g_assert_null (hd_signer_load (path, TRUE, &e));
  g_assert_error (e, HD_AUTH_ERROR, HD_AUTH_ERROR_KEY);
  g_assert_nonnull (strstr (e->message, "is not a PEM Ed25519 private key"));
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_b64url (void)
{
  gsize n;
  g_autofree guint8 *d = hd_b64url_decode ("aGk", 3, &n);
  g_assert_nonnull (d);
  g_assert_cmpmem (d, n, "hi", 2);
  g_assert_null (hd_b64url_decode ("aGl", 3, &n)); /* non-canonical trailing bits */
  g_assert_null (hd_b64url_decode ("aG+k", 4, &n));
  g_assert_null (hd_b64url_decode ("a", 1, &n));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/auth/roundtrip", test_roundtrip);
  g_test_add_func ("/auth/refusals", test_refusals);
  g_test_add_func ("/auth/key-file", test_key_file);
  g_test_add_func ("/auth/b64url", test_b64url);
  return g_test_run ();
}
