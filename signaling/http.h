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
  const char *range;         /* the Range header, or NULL */
} HdHttpRequest;

/* What a route answers: a JSON text, or (content_type set) bytes of a file. */
typedef struct {
  char *body;                /* g_malloc'd */
  gsize body_len;            /* for JSON: 0 means strlen (body) */
  const char *content_type;  /* NULL: application/json */
  char *content_range;       /* "bytes 100-199/5000" for a 206, g_malloc'd, or NULL */
} HdHttpReply;

/* A route handler: returns the HTTP status and fills *reply. Runs on the main thread. */
typedef int (*HdHttpHandler) (const HdHttpRequest *req, HdHttpReply *reply, gpointer user);

G_END_DECLS
