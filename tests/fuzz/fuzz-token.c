/* libFuzzer harness: the JWT verifier (daemon/auth.c) with a fixed key. */
#include "daemon/auth.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gboolean
never_revoked (const char *jti, gpointer user)
{
  return FALSE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static HdSigner *signer;
  static const guint8 seed[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
  if (!signer)
    signer = hd_signer_new_from_seed (seed);
  char *token = g_strndup ((const char *) data, size);
  HdClaims c;
  GError *e = NULL;
  if (hd_token_verify (signer, token, "hearingd", NULL, 1800000000, never_revoked, NULL, &c, &e))
    hd_claims_clear (&c);
  else if (!e || e->domain != HD_AUTH_ERROR || !*hd_auth_error_code (e->code))
    __builtin_trap (); /* every refusal has a code */
  g_clear_error (&e);
  g_free (token);
  return 0;
}
