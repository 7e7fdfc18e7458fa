/* auth.c — Ed25519 signing key and JWT sign/verify. The verifier checks the signature before it
 * believes any claim, accepts exactly {"alg":"EdDSA"} (so "none" and HS256-with-the-public-key
 * are refused), and unpacks the claims with JSON_STRICT. */
#define G_LOG_DOMAIN "hd-auth"

#include "daemon/auth.h"
#include "daemon/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK (hd-auth-error-quark, hd_auth_error)

#define TOKEN_MAX_LEN 8192

struct HdSigner {
  EVP_PKEY *key;
};

const char *
hd_auth_error_code (int code)
{
  static const char *names[] = {
    [HD_AUTH_ERROR_MALFORMED] = "token_malformed",
    [HD_AUTH_ERROR_BAD_ALG] = "token_bad_alg",
    [HD_AUTH_ERROR_BAD_SIGNATURE] = "token_bad_signature",
    [HD_AUTH_ERROR_BAD_ISSUER] = "token_bad_issuer",
    [HD_AUTH_ERROR_EXPIRED] = "token_expired",
    [HD_AUTH_ERROR_NOT_YET_VALID] = "token_not_yet_valid",
    [HD_AUTH_ERROR_WRONG_HEARING] = "token_wrong_hearing",
    [HD_AUTH_ERROR_UNKNOWN_ROLE] = "token_unknown_role",
    [HD_AUTH_ERROR_REVOKED] = "token_revoked",
    [HD_AUTH_ERROR_KEY] = "signing_key",
  };
  return code >= 0 && code < (int) G_N_ELEMENTS (names) ? names[code] : "token_invalid";
}

static char *
ssl_reason (void)
{
  unsigned long e = ERR_get_error ();
  char buf[256] = "unknown OpenSSL error";
  if (e)
    ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  return g_strdup (buf);
}

static EVP_PKEY *
create_key (const char *path, GError **error)
{
  EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "ED25519");
  if (!key) {
    g_autofree char *r = ssl_reason ();
    g_set_error (error, HD_AUTH_ERROR, HD_AUTH_ERROR_KEY, "cannot generate Ed25519 key: %s", r);
    return NULL;
  }
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  FILE *f = fd >= 0 ? fdopen (fd, "w") : NULL;
  if (!f) {
    g_set_error (error, HD_AUTH_ERROR, HD_AUTH_ERROR_KEY, "cannot create signing key %s: %s",
                 path, g_strerror (errno));
    if (fd >= 0)
      close (fd);
    EVP_PKEY_free (key);
    return NULL;
  }
  gboolean ok = PEM_write_PrivateKey (f, key, NULL, NULL, 0, NULL, NULL) == 1;
  ok = (fflush (f) == 0 && fsync (fileno (f)) == 0) && ok;
  ok = fclose (f) == 0 && ok;
  if (!ok) {
    g_set_error (error, HD_AUTH_ERROR, HD_AUTH_ERROR_KEY, "cannot write signing key %s", path);
    unlink (path);
    EVP_PKEY_free (key);
    return NULL;
  }
  g_info ("created Ed25519 signing key %s", path);
  return key;
}

HdSigner *
hd_signer_load (const char *path, gboolean create, GError **error)
{
  EVP_PKEY *key = NULL;
  FILE *f = fopen (path, "re");
  if (!f && errno == ENOENT && create) {
    key = create_key (path, error);
    if (!key)
      return NULL;
  } else if (!f) {
    g_set_error (error, HD_AUTH_ERROR, HD_AUTH_ERROR_KEY, "cannot read signing key %s: %s", path,
                 g_strerror (errno));
    return NULL;
  } else {
    key = PEM_read_PrivateKey (f, NULL, NULL, NULL);
    fclose (f);
    if (!key || EVP_PKEY_get_id (key) != EVP_PKEY_ED25519) {
      g_autofree char *r = ssl_reason ();
      g_set_error (error, HD_AUTH_ERROR, HD_AUTH_ERROR_KEY,
                   "signing key %s is not a PEM Ed25519 private key (%s)", path,
                   key ? "wrong key type" : r);
      EVP_PKEY_free (key);
      return NULL;
    }
  }
  HdSigner *s = g_new0 (HdSigner, 1);
  s->key = key;
  return s;
}

HdSigner *
hd_signer_new_from_seed (const guint8 seed[32])
{
  EVP_PKEY *key = EVP_PKEY_new_raw_private_key (EVP_PKEY_ED25519, NULL, seed, 32);
  if (!key)
    return NULL;
  HdSigner *s = g_new0 (HdSigner, 1);
  s->key = key;
  return s;
}

gboolean
hd_signer_public_raw (HdSigner *signer, guint8 out[32])
{
  size_t n = 32;
  return EVP_PKEY_get_raw_public_key (signer->key, out, &n) == 1 && n == 32;
}

void
hd_signer_free (HdSigner *signer)
{
  if (!signer)
    return;
  EVP_PKEY_free (signer->key);
  g_free (signer);
}

char *
hd_signer_sign_b64 (HdSigner *signer, const void *data, gsize len)
{
  guint8 sig[64];
  size_t siglen = sizeof sig;
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  if (!md || EVP_DigestSignInit (md, NULL, NULL, NULL, signer->key) != 1 ||
      EVP_DigestSign (md, sig, &siglen, data, len) != 1)
    g_error ("Ed25519 signing failed");
  EVP_MD_CTX_free (md);
  return g_base64_encode (sig, siglen);
}

char *
hd_signer_public_pem (HdSigner *signer)
{
  BIO *bio = BIO_new (BIO_s_mem ());
  char *pem = NULL;
  if (bio && PEM_write_bio_PUBKEY (bio, signer->key) == 1) {
    BUF_MEM *mem = NULL;
    BIO_get_mem_ptr (bio, &mem);
    pem = g_strndup (mem->data, mem->length);
  }
  BIO_free (bio);
  return pem;
}

gboolean
hd_ed25519_verify (const char *public_pem, const void *data, gsize len, const char *sig_b64)
{
  BIO *bio = BIO_new_mem_buf (public_pem, -1);
  EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY (bio, NULL, NULL, NULL) : NULL;
  BIO_free (bio);
  gsize siglen = 0;
  g_autofree guint8 *sig = sig_b64 && *sig_b64 ? g_base64_decode (sig_b64, &siglen) : NULL;
  gboolean ok = FALSE;
  if (key && EVP_PKEY_get_id (key) == EVP_PKEY_ED25519 && sig && siglen == 64) {
    EVP_MD_CTX *md = EVP_MD_CTX_new ();
    ok = md && EVP_DigestVerifyInit (md, NULL, NULL, NULL, key) == 1 &&
         EVP_DigestVerify (md, sig, siglen, data, len) == 1;
    EVP_MD_CTX_free (md);
  }
  EVP_PKEY_free (key);
  return ok;
}

void
hd_claims_clear (HdClaims *c)
{
  g_free (c->iss);
  g_free (c->sub);
  g_free (c->name);
  g_free (c->hid);
  g_free (c->jti);
  g_free (c->act_sub);
  g_free (c->act_name);
  memset (c, 0, sizeof *c);
  c->role = HD_ROLE_INVALID;
}

char *
hd_token_sign_raw (HdSigner *signer, const char *header_json, const char *payload_json)
{
  g_autofree char *h = hd_b64url_encode ((const guint8 *) header_json, strlen (header_json));
  g_autofree char *p = hd_b64url_encode ((const guint8 *) payload_json, strlen (payload_json));
  g_autofree char *input = g_strconcat (h, ".", p, NULL);
  guint8 sig[64];
  size_t siglen = sizeof sig;
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  if (!md || EVP_DigestSignInit (md, NULL, NULL, NULL, signer->key) != 1 ||
      EVP_DigestSign (md, sig, &siglen, (const guint8 *) input, strlen (input)) != 1)
    g_error ("Ed25519 signing failed");
  EVP_MD_CTX_free (md);
  g_autofree char *s = hd_b64url_encode (sig, siglen);
  return g_strconcat (input, ".", s, NULL);
}

char *
hd_token_sign (HdSigner *signer, const HdClaims *c)
{
  json_t *payload = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", c->iss,
                               "sub", c->sub, "name", c->name, "hid", c->hid, "role",
                               hd_role_name (c->role), "iat", (json_int_t) c->iat, "nbf",
                               (json_int_t) c->nbf, "exp", (json_int_t) c->exp, "jti", c->jti);
  g_return_val_if_fail (payload != NULL, NULL);
  if (c->act_name)
    json_object_set_new (payload, "act",
                         json_pack ("{s:s, s:s}", "sub", c->act_sub, "name", c->act_name));
  char *p = json_dumps (payload, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (payload);
  char *token = hd_token_sign_raw (signer, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", p);
  free (p);
  return token;
}

static gboolean
refuse (GError **error, HdAuthError code, const char *reason)
{
  g_set_error_literal (error, HD_AUTH_ERROR, code, reason);
  return FALSE;
}

static json_t *
decode_json (const char *part, gsize len)
{
  gsize n = 0;
  g_autofree guint8 *raw = hd_b64url_decode (part, len, &n);
  if (!raw)
    return NULL;
  json_t *j = json_loadb ((const char *) raw, n, JSON_REJECT_DUPLICATES, NULL);
  if (j && !json_is_object (j)) {
    json_decref (j);
    return NULL;
  }
  return j;
}

gboolean
hd_token_verify (HdSigner *signer, const char *token, const char *issuer,
                 const char *expected_hid, gint64 now, HdRevokedFunc revoked,
                 gpointer revoked_user, HdClaims *out, GError **error)
{
  json_t *header = NULL, *payload = NULL;
  g_autofree guint8 *sig = NULL;
  gboolean ok = FALSE;
  memset (out, 0, sizeof *out);
  out->role = HD_ROLE_INVALID;

  gsize len = strnlen (token, TOKEN_MAX_LEN + 1);
  const char *dot1 = memchr (token, '.', len);
  const char *dot2 = dot1 ? memchr (dot1 + 1, '.', len - (dot1 + 1 - token)) : NULL;
  if (len > TOKEN_MAX_LEN || !dot2 || memchr (dot2 + 1, '.', len - (dot2 + 1 - token)) ||
      dot1 == token || dot2 == dot1 + 1 || dot2 + 1 == token + len)
    return refuse (error, HD_AUTH_ERROR_MALFORMED, "a token is three non-empty base64url parts");

  header = decode_json (token, dot1 - token);
  if (!header) {
    refuse (error, HD_AUTH_ERROR_MALFORMED, "token header is not base64url JSON object");
    goto out;
  }
  const char *alg = NULL, *typ = NULL;
  json_error_t je;
  if (json_unpack_ex (header, &je, 0, "{s:s, s?s}", "alg", &alg, "typ", &typ) != 0) {
    refuse (error, HD_AUTH_ERROR_MALFORMED, "token header has no alg");
    goto out;
  }
  if (!g_str_equal (alg, "EdDSA")) {
    g_autofree char *msg = g_strdup_printf ("alg %.16s is not accepted; only EdDSA", alg);
    refuse (error, HD_AUTH_ERROR_BAD_ALG, msg);
    goto out;
  }
  if (json_object_size (header) != (typ ? 2u : 1u) || (typ && !g_str_equal (typ, "JWT"))) {
    refuse (error, HD_AUTH_ERROR_MALFORMED, "token header may hold only alg and typ JWT");
    goto out;
  }

  gsize siglen = 0;
  sig = hd_b64url_decode (dot2 + 1, len - (dot2 + 1 - token), &siglen);
  if (!sig) {
    refuse (error, HD_AUTH_ERROR_MALFORMED, "token signature is not base64url");
    goto out;
  }
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  int v = md && EVP_DigestVerifyInit (md, NULL, NULL, NULL, signer->key) == 1
              ? EVP_DigestVerify (md, sig, siglen, (const guint8 *) token, dot2 - token)
              : -1;
  EVP_MD_CTX_free (md);
  ERR_clear_error ();
  if (v != 1) {
    refuse (error, HD_AUTH_ERROR_BAD_SIGNATURE, "token signature does not verify");
    goto out;
  }

  payload = decode_json (dot1 + 1, dot2 - dot1 - 1);
  const char *iss, *sub, *name, *hid, *role, *jti, *act_sub = NULL, *act_name = NULL;
  json_int_t iat, nbf, exp;
  json_t *act = NULL; /* RFC 8693 actor: {"sub", "name"} of whoever joins on sub's behalf */
  if (!payload ||
      json_unpack_ex (payload, &je, JSON_STRICT,
                      "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s?o}", "iss", &iss, "sub",
                      &sub, "name", &name, "hid", &hid, "role", &role, "iat", &iat, "nbf", &nbf,
                      "exp", &exp, "jti", &jti, "act", &act) != 0 ||
      (act && json_unpack_ex (act, &je, JSON_STRICT, "{s:s, s:s}", "sub", &act_sub, "name",
                              &act_name) != 0)) {
    g_autofree char *msg = g_strdup_printf ("token claims: %s", payload ? je.text : "not JSON");
    refuse (error, HD_AUTH_ERROR_MALFORMED, msg);
    goto out;
  }
  if (act && (!hd_id_valid (act_sub) || !*act_name || g_utf8_strlen (act_name, -1) > 128)) {
    refuse (error, HD_AUTH_ERROR_MALFORMED, "token act.sub or act.name is not well formed");
    goto out;
  }
  if (!hd_id_valid (sub) || !hd_id_valid (jti) ||
      !(hd_id_valid (hid) || g_str_equal (hid, HD_AUTH_ANY_HEARING)) || !*name ||
      g_utf8_strlen (name, -1) > 128) {
    refuse (error, HD_AUTH_ERROR_MALFORMED, "token sub, jti, hid or name is not well formed");
    goto out;
  }
  if (!g_str_equal (iss, issuer)) {
    refuse (error, HD_AUTH_ERROR_BAD_ISSUER, "token was issued by someone else");
    goto out;
  }
  HdRole r = hd_role_parse (role);
  if (r == HD_ROLE_INVALID) {
    g_autofree char *msg = g_strdup_printf ("role %.32s is not a court role", role);
    refuse (error, HD_AUTH_ERROR_UNKNOWN_ROLE, msg);
    goto out;
  }
  if (now + HD_AUTH_LEEWAY < nbf) {
    refuse (error, HD_AUTH_ERROR_NOT_YET_VALID, "token is not valid yet");
    goto out;
  }
  if (now >= exp + HD_AUTH_LEEWAY) {
    refuse (error, HD_AUTH_ERROR_EXPIRED, "token has expired");
    goto out;
  }
  if (expected_hid && !g_str_equal (hid, expected_hid) &&
      !g_str_equal (hid, HD_AUTH_ANY_HEARING)) {
    refuse (error, HD_AUTH_ERROR_WRONG_HEARING, "token is for another hearing");
    goto out;
  }
  if (revoked && revoked (jti, revoked_user)) {
    refuse (error, HD_AUTH_ERROR_REVOKED, "token has been revoked");
    goto out;
  }
  out->iss = g_strdup (iss);
  out->sub = g_strdup (sub);
  out->name = g_strdup (name);
  out->hid = g_strdup (hid);
  out->role = r;
  out->iat = iat;
  out->nbf = nbf;
  out->exp = exp;
  out->jti = g_strdup (jti);
  out->act_sub = g_strdup (act_sub);
  out->act_name = g_strdup (act_name);
  ok = TRUE;

out:
  json_decref (header);
  json_decref (payload);
  return ok;
}
