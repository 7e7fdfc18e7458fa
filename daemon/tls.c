/* tls.c — see tls.h. */
#define G_LOG_DOMAIN "hd-tls"

#include "daemon/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

static gboolean
add_ext (X509 *cert, int nid, const char *value)
{
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb (&ctx);
  X509V3_set_ctx (&ctx, cert, cert, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
  if (!ext)
    return FALSE;
  int ok = X509_add_ext (cert, ext, -1);
  X509_EXTENSION_free (ext);
  return ok == 1;
}

static FILE *
open_private (const char *path, mode_t mode)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  return fd >= 0 ? fdopen (fd, "w") : NULL;
}

gboolean
hd_tls_ensure (const char *dir, char **cert_path, char **key_path, GError **error)
{
  g_autofree char *cp = g_build_filename (dir, "tls-cert.pem", NULL);
  g_autofree char *kp = g_build_filename (dir, "tls-key.pem", NULL);
  if (g_file_test (cp, G_FILE_TEST_EXISTS) && g_file_test (kp, G_FILE_TEST_EXISTS)) {
    *cert_path = g_steal_pointer (&cp);
    *key_path = g_steal_pointer (&kp);
    return TRUE;
  }

  gboolean ok = FALSE;
  EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
  X509 *cert = X509_new ();
  FILE *kf = NULL, *cf = NULL;
  if (!key || !cert)
    goto out;
  X509_set_version (cert, 2);
  ASN1_INTEGER_set (X509_get_serialNumber (cert), (long) (g_get_real_time () & 0x7fffffff));
  X509_gmtime_adj (X509_getm_notBefore (cert), -3600);
  X509_gmtime_adj (X509_getm_notAfter (cert), 825L * 24 * 3600);
  X509_set_pubkey (cert, key);
  X509_NAME *name = X509_get_subject_name (cert);
  X509_NAME_add_entry_by_txt (name, "O", MBSTRING_ASC, (const unsigned char *) "hearingd", -1,
                              -1, 0);
  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC, (const unsigned char *) "localhost", -1,
                              -1, 0);
  X509_set_issuer_name (cert, name);
  if (!add_ext (cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") ||
      !add_ext (cert, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext (cert, NID_ext_key_usage, "serverAuth") ||
      X509_sign (cert, key, EVP_sha256 ()) == 0)
    goto out;
  kf = open_private (kp, 0600);
  cf = open_private (cp, 0644);
  if (!kf || !cf) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                 "cannot write TLS certificate in %s: %s", dir, g_strerror (errno));
    goto out;
  }
  ok = PEM_write_PrivateKey (kf, key, NULL, NULL, 0, NULL, NULL) == 1 &&
       PEM_write_X509 (cf, cert) == 1;
out:
  if (kf)
    ok = fclose (kf) == 0 && ok;
  if (cf)
    ok = fclose (cf) == 0 && ok;
  if (!ok && error && !*error)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create TLS certificate in %s",
                 dir);
  X509_free (cert);
  EVP_PKEY_free (key);
  if (!ok)
    return FALSE;
  g_info ("created self-signed TLS certificate %s (localhost, 127.0.0.1)", cp);
  *cert_path = g_steal_pointer (&cp);
  *key_path = g_steal_pointer (&kp);
  return TRUE;
}
