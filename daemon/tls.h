/* tls.h — the daemon's self-signed TLS certificate for localhost and 127.0.0.1, made with
 * OpenSSL on first start. Main thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Ensure `dir`/tls-cert.pem and `dir`/tls-key.pem exist, creating an ECDSA P-256 key (0600) and a
 * certificate (SAN DNS:localhost, IP:127.0.0.1, valid 825 days) when either is absent. Returns
 * the paths (caller frees) or FALSE with a one-line reason. */
gboolean hd_tls_ensure (const char *dir, char **cert_path, char **key_path, GError **error);

G_END_DECLS
