/* http.h — a REST request as the signaling server hands it to the core: plain data, no lws, so
 * route handlers are testable without a socket. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *method;        /* "GET", "POST", "PATCH", "DELETE", … */
  const char *path;          /* "/api/v1/hearings/h-…" (no query) */
  GHashTable *query;         /* decoded name -> value; never NULL */
  const char *authorization; /* the Authorization header, or NULL */
  const char *body;          /* request body (NUL-terminated), or NULL */
  gsize body_len;
  const char *peer;          /* client address, for the audit log */
} HdHttpRequest;

/* A route handler: returns the HTTP status and sets *body to a JSON text (g_malloc'd).
 * Runs on the main thread. */
typedef int (*HdHttpHandler) (const HdHttpRequest *req, char **body, gpointer user);

G_END_DECLS
