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
  guint64 ticket;            /* this request, for an answer given later (HD_HTTP_DEFERRED) */
} HdHttpRequest;

/* What a route answers: a JSON text, or (content_type set) bytes: of `body`, or of the file
 * `file_path` — or the file already open as `file_fd` — from `file_offset` on (streamed from
 * disk, never held in memory). */
typedef struct {
  char *body;                /* g_malloc'd */
  gsize body_len;            /* for JSON: 0 means strlen (body); for a file: bytes to send */
  const char *content_type;  /* NULL: application/json */
  char *content_range;       /* "bytes 100-199/5000" for a 206, g_malloc'd, or NULL */
  char *file_path;           /* g_malloc'd, or NULL */
  gboolean file_open;        /* the file is `file_fd` instead, the server's to close */
  int file_fd;
  goffset file_offset;
  char *content_disposition; /* e.g. attachment; filename="r-….webm", g_malloc'd, or NULL */
} HdHttpReply;

/* A handler that returns HD_HTTP_DEFERRED answers later, with hd_server_http_complete() and the
 * request's ticket (long work, done off the main thread). */
#define HD_HTTP_DEFERRED 0

/* A route handler: returns the HTTP status and fills *reply. Runs on the main thread. */
typedef int (*HdHttpHandler) (const HdHttpRequest *req, HdHttpReply *reply, gpointer user);

G_END_DECLS
