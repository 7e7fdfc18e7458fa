/* util.h — small helpers shared by the core: time stamps, random identifiers, SHA-256 and
 * base64url (both wrapping OpenSSL/GLib; nothing hand-rolled). Thread-safe. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Wall-clock time as RFC 3339 UTC with milliseconds, "2026-11-28T12:00:00.123Z". Caller frees. */
char *hd_time_iso (gint64 unix_usec);
/* Seconds since the epoch, now. */
gint64 hd_time_now (void);
/* Parse an RFC 3339 time with offset; returns FALSE on anything else. */
gboolean hd_time_parse (const char *text, gint64 *unix_sec);

/* `prefix` followed by 2*nbytes lowercase hex digits from the OpenSSL CSPRNG. Caller frees. */
char *hd_random_id (const char *prefix, gsize nbytes);

/* Lowercase hex SHA-256 of `len` bytes. Caller frees. */
char *hd_sha256_hex (const void *data, gsize len);
/* Lowercase hex SHA-256 of a file, read in 64 KiB blocks, and its size; NULL if it cannot be
 * read. Caller frees. */
char *hd_sha256_file (const char *path, gint64 *bytes);

/* base64url without padding (RFC 4648 §5, RFC 7515 §2). Caller frees. */
char *hd_b64url_encode (const guint8 *data, gsize len);
/* Strict decode: only the base64url alphabet, no padding, canonical trailing bits; NULL on any
 * other input. Caller frees. */
guint8 *hd_b64url_decode (const char *text, gsize text_len, gsize *out_len);

/* TRUE if `s` is a plausible identifier: 1..64 of [A-Za-z0-9_-]. */
gboolean hd_id_valid (const char *s);

G_END_DECLS
