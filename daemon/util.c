/* util.c — see util.h. */
#include "daemon/util.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

char *
hd_time_iso (gint64 unix_usec)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (unix_usec / G_USEC_PER_SEC);
  g_autofree char *base = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%03dZ", base, (int)((unix_usec % G_USEC_PER_SEC) / 1000));
}

gint64
hd_time_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

gboolean
hd_time_parse (const char *text, gint64 *unix_sec)
{
  /* GDateTime accepts a time without a zone as local time: a court schedule must be explicit. */
  gsize n = strlen (text);
  if (n < 20 || !(text[n - 1] == 'Z' || text[n - 6] == '+' || text[n - 6] == '-'))
    return FALSE;
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, NULL);
  if (!dt)
    return FALSE;
  *unix_sec = g_date_time_to_unix (dt);
  return TRUE;
}

char *
hd_random_id (const char *prefix, gsize nbytes)
{
  guint8 buf[32];
  g_return_val_if_fail (nbytes <= sizeof buf, NULL);
  if (RAND_bytes (buf, (int)nbytes) != 1)
    g_error ("OpenSSL RAND_bytes failed");
  GString *s = g_string_new (prefix);
  for (gsize i = 0; i < nbytes; i++)
    g_string_append_printf (s, "%02x", buf[i]);
  return g_string_free (s, FALSE);
}

char *
hd_sha256_hex (const void *data, gsize len)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (EVP_Digest (data, len, md, &mdlen, EVP_sha256 (), NULL) != 1)
    g_error ("OpenSSL SHA-256 failed");
  GString *s = g_string_sized_new (64);
  for (unsigned int i = 0; i < mdlen; i++)
    g_string_append_printf (s, "%02x", md[i]);
  return g_string_free (s, FALSE);
}

char *
hd_b64url_encode (const guint8 *data, gsize len)
{
  char *s = g_base64_encode (data, len);
  gsize n = strlen (s);
  while (n > 0 && s[n - 1] == '=')
    s[--n] = '\0';
  for (char *p = s; *p; p++)
    *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  return s;
}

guint8 *
hd_b64url_decode (const char *text, gsize text_len, gsize *out_len)
{
  if (text_len % 4 == 1)
    return NULL;
  for (gsize i = 0; i < text_len; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '-' && text[i] != '_')
      return NULL;
  GString *s = g_string_new_len (text, text_len);
  for (gsize i = 0; i < s->len; i++)
    s->str[i] = s->str[i] == '-' ? '+' : s->str[i] == '_' ? '/' : s->str[i];
  while (s->len % 4)
    g_string_append_c (s, '=');
  guint8 *out = g_base64_decode (s->str, out_len);
  g_string_free (s, TRUE);
  /* Reject non-canonical encodings (stray bits in the last character). */
  g_autofree char *again = hd_b64url_encode (out, *out_len);
  if (strlen (again) != text_len || memcmp (again, text, text_len) != 0) {
    g_free (out);
    return NULL;
  }
  return out;
}

gboolean
hd_id_valid (const char *s)
{
  gsize n = 0;
  for (; s[n]; n++)
    if (!g_ascii_isalnum (s[n]) && s[n] != '_' && s[n] != '-')
      return FALSE;
  return n >= 1 && n <= 64;
}

/* SHA-256 of a file, hex, and its size; NULL if it cannot be read. */
char *
hd_sha256_file (const char *path, gint64 *bytes)
{
  FILE *f = fopen (path, "rb");
  if (!f)
    return NULL;
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
  guint8 buf[65536];
  size_t n;
  gint64 total = 0;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0) {
    EVP_DigestUpdate (md, buf, n);
    total += (gint64)n;
  }
  gboolean ok = !ferror (f);
  fclose (f);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex (md, out, &len);
  EVP_MD_CTX_free (md);
  if (!ok)
    return NULL;
  GString *hex = g_string_sized_new (64);
  for (unsigned int i = 0; i < len; i++)
    g_string_append_printf (hex, "%02x", out[i]);
  *bytes = total;
  return g_string_free (hex, FALSE);
}
