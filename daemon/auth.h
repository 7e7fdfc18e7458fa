/* auth.h — join tokens: JWT (RFC 7519) signed with EdDSA over Ed25519 (RFC 8037) through
 * OpenSSL 3 EVP. Each refusal has its own error code (HdAuthError and hd_auth_error_code()).
 * A HdSigner is immutable after load: sign and verify from any thread. */
#pragma once

#include "daemon/role.h"

#include <glib.h>

G_BEGIN_DECLS

#define HD_AUTH_ERROR (hd_auth_error_quark ())
GQuark hd_auth_error_quark (void);

typedef enum {
  HD_AUTH_ERROR_MALFORMED,     /* token_malformed: not three base64url parts of JSON claims */
  HD_AUTH_ERROR_BAD_ALG,       /* token_bad_alg: alg other than EdDSA, including none, HS256 */
  HD_AUTH_ERROR_BAD_SIGNATURE, /* token_bad_signature */
  HD_AUTH_ERROR_BAD_ISSUER,    /* token_bad_issuer: iss is not this daemon's issuer */
  HD_AUTH_ERROR_EXPIRED,       /* token_expired */
  HD_AUTH_ERROR_NOT_YET_VALID, /* token_not_yet_valid */
  HD_AUTH_ERROR_WRONG_HEARING, /* token_wrong_hearing */
  HD_AUTH_ERROR_UNKNOWN_ROLE,  /* token_unknown_role */
  HD_AUTH_ERROR_REVOKED,       /* token_revoked */
  HD_AUTH_ERROR_KEY,           /* the signing key file is missing, unreadable or not Ed25519 */
} HdAuthError;

/* The protocol/REST error code of an HD_AUTH_ERROR code, e.g. "token_expired"; static. */
const char *hd_auth_error_code (int code);

/* Seconds of clock skew tolerated on nbf and exp. */
#define HD_AUTH_LEEWAY 30
/* "hid" of tokens valid for every hearing (operator tokens). */
#define HD_AUTH_ANY_HEARING "*"

typedef struct HdSigner HdSigner;

/* Load the Ed25519 private key (PEM, PKCS#8) at `path`, creating it with mode 0600 when absent
 * and `create` is TRUE. Caller owns. */
HdSigner *hd_signer_load (const char *path, gboolean create, GError **error);
/* A signer from a 32-byte Ed25519 seed (tests and fuzzing use fixed keys). Caller owns. */
HdSigner *hd_signer_new_from_seed (const guint8 seed[32]);
/* The raw 32-byte public key (tests forge HS256 tokens keyed with it). */
gboolean hd_signer_public_raw (HdSigner *signer, guint8 out[32]);
void hd_signer_free (HdSigner *signer);
/* Ed25519 signature of `data`, base64 (standard alphabet). Caller frees. */
char *hd_signer_sign_b64 (HdSigner *signer, const void *data, gsize len);
/* The public key as PEM (SubjectPublicKeyInfo), to publish. Caller frees. */
char *hd_signer_public_pem (HdSigner *signer);
/* TRUE if `sig_b64` is a valid Ed25519 signature of `data` by the PEM public key. */
gboolean hd_ed25519_verify (const char *public_pem, const void *data, gsize len,
                            const char *sig_b64);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HdSigner, hd_signer_free)

typedef struct {
  char *iss;
  char *sub;   /* participant id */
  char *name;
  char *hid;   /* hearing id, or "*" */
  HdRole role;
  gint64 iat, nbf, exp;
  char *jti;
  /* "act" (RFC 8693 §4.1): who acts for the participant — the shared court's operator
   * joining on a party's behalf — or both NULL. The participant keeps their own role. */
  char *act_sub, *act_name;
} HdClaims;

void hd_claims_clear (HdClaims *c);

/* Sign `c` as a compact JWS. Caller frees. */
char *hd_token_sign (HdSigner *signer, const HdClaims *c);
/* Sign raw header and payload JSON texts (tests and fuzz corpora make odd tokens this way). */
char *hd_token_sign_raw (HdSigner *signer, const char *header_json, const char *payload_json);

/* Returns TRUE if `jti` is revoked. */
typedef gboolean (*HdRevokedFunc) (const char *jti, gpointer user);

/* Verify `token`: signature, alg, issuer, time window (at `now`, unix seconds), hearing
 * (`expected_hid` NULL accepts any; "*" tokens match any hearing), role, revocation (`revoked`
 * may be NULL). Fills `out` (caller clears) on success. */
gboolean hd_token_verify (HdSigner *signer, const char *token, const char *issuer,
                          const char *expected_hid, gint64 now, HdRevokedFunc revoked,
                          gpointer revoked_user, HdClaims *out, GError **error);

G_END_DECLS
