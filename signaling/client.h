/* client.h — libwebsockets clients with their own (poll) event loop, for hearingctl, the tests
 * and the benchmarks: a synchronous HTTP(S) request, and WebSocket clients (many per context).
 * Not for the daemon. One thread per context. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HD_CLIENT_ERROR (hd_client_error_quark ())
GQuark hd_client_error_quark (void);

/* Silence libwebsockets' own logging (command-line tools print their own errors). */
void hd_client_quiet (void);

typedef struct {
  const char *ca_file; /* PEM to trust for https, or NULL for the system store */
  gboolean insecure;   /* accept any certificate (self-signed test daemons) */
  int timeout_ms;      /* 0: 10000 */
  gsize *response_len; /* if set: the body's length (a media body may hold NUL bytes) */
} HdHttpOptions;

/* Perform one request. `url` is http:// or https://; `bearer` and `body` may be NULL. On a
 * completed exchange sets *status and *response (caller frees) and returns TRUE, whatever the
 * status; FALSE with a one-line reason if no answer came. */
gboolean hd_http_fetch (const char *url, const char *method, const char *bearer, const char *body,
                        const HdHttpOptions *opts, int *status, char **response, GError **error);

typedef struct HdWsContext HdWsContext;
typedef struct HdWsClient HdWsClient;

HdWsContext *hd_ws_context_new (gboolean tls_insecure);
void hd_ws_context_free (HdWsContext *ctx); /* frees its clients too */
/* Run the loop for up to `ms` milliseconds. */
void hd_ws_context_service (HdWsContext *ctx, int ms);

/* Start connecting; `subprotocol` may be NULL (no header). Borrowed; owned by ctx. */
HdWsClient *hd_ws_connect (HdWsContext *ctx, const char *host, int port, gboolean tls,
                           const char *path, const char *subprotocol);
/* Queue a frame. */
void hd_ws_send (HdWsClient *c, const char *data, gsize len, gboolean binary);
void hd_ws_send_text (HdWsClient *c, const char *text);
/* Close from our side. */
void hd_ws_close (HdWsClient *c);

gboolean hd_ws_is_open (HdWsClient *c);
gboolean hd_ws_is_closed (HdWsClient *c);
/* The close code the server sent (0 if none) and its reason. */
int hd_ws_close_code (HdWsClient *c);
const char *hd_ws_close_reason (HdWsClient *c);
/* Frames queued but not yet written. */
guint hd_ws_pending (HdWsClient *c);
/* Pop the oldest received message, or NULL. Caller frees. */
char *hd_ws_pop (HdWsClient *c);
/* Service until a message arrives (returned, caller frees) or `ms` pass (NULL). */
char *hd_ws_wait_message (HdWsContext *ctx, HdWsClient *c, int ms);
/* Service until the client is open (TRUE) or closed/timed out (FALSE). */
gboolean hd_ws_wait_open (HdWsContext *ctx, HdWsClient *c, int ms);
/* Service until the client is closed (TRUE) or `ms` pass. */
gboolean hd_ws_wait_closed (HdWsContext *ctx, HdWsClient *c, int ms);
/* User data for benchmarks (borrowed). */
void hd_ws_set_data (HdWsClient *c, gpointer data);
gpointer hd_ws_get_data (HdWsClient *c);
/* Called on every message received, on the servicing thread (optional). */
typedef void (*HdWsMessageFunc) (HdWsClient *c, const char *text, gsize len, gpointer user);
void hd_ws_context_set_message_func (HdWsContext *ctx, HdWsMessageFunc fn, gpointer user);
/* Called when a client's connection opens (optional). */
typedef void (*HdWsOpenFunc) (HdWsClient *c, gpointer user);
void hd_ws_context_set_open_func (HdWsContext *ctx, HdWsOpenFunc fn, gpointer user);

G_END_DECLS
