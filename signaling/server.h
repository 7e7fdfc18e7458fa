/* server.h — the signaling server: libwebsockets on the GLib main loop, one port serving the
 * web client's files, the REST API (/api/v1/, /healthz) and the WebSocket endpoint /ws with
 * subprotocol hearing.v1. It enforces transport rules (size, UTF-8, binary, rate, join deadline)
 * and hands validated messages to the core. Every function here: main thread only. */
#pragma once

#include "signaling/http.h"
#include "signaling/protocol.h"

#include <glib.h>

G_BEGIN_DECLS

#define HD_SERVER_ERROR (hd_server_error_quark ())
GQuark hd_server_error_quark (void);

typedef struct HdServer HdServer;
typedef struct HdSigConn HdSigConn;

typedef struct {
  /* A message passed every transport check and strict parsing. `msg` is borrowed. */
  void (*message) (HdSigConn *conn, const HdMsg *msg, gpointer user);
  /* The connection is gone; called once, before `conn` is freed. */
  void (*closed) (HdSigConn *conn, gpointer user);
  /* A request under /api/ or /healthz. */
  HdHttpHandler http;
} HdSigHandlers;

typedef struct {
  const char *host;       /* IPv4 literal or localhost */
  int port;               /* 0: any free port */
  gboolean plain_http;
  const char *cert_path;  /* PEM, when !plain_http */
  const char *key_path;
  const char *web_root;
  int message_max_bytes;
  int rate_per_second;
  int rate_burst;
  int join_timeout_seconds;
  int max_sessions;
  int http_body_max_bytes;
  gboolean log_lws_notices;
} HdServerOptions;

/* Start listening. NULL with a one-line reason if the port is in use, the certificate cannot
 * be loaded, … Caller owns. */
HdServer *hd_server_new (const HdServerOptions *opts, const HdSigHandlers *handlers,
                         gpointer user, GMainLoop *loop, GError **error);
void hd_server_free (HdServer *srv);
/* The port actually bound. */
int hd_server_port (HdServer *srv);
/* Number of open WebSocket sessions. */
guint hd_server_session_count (HdServer *srv);
/* Tell every session `reason` (a bye message), then close it with 1001 (going away). */
void hd_server_shutdown (HdServer *srv, const char *reason);

/* Answer the deferred request `ticket` (see HD_HTTP_DEFERRED): takes what *reply holds. A file
 * named by the reply is open once this returns (it may be unlinked). FALSE if the client has
 * gone meanwhile. */
gboolean hd_server_http_complete (HdServer *srv, guint64 ticket, int status, HdHttpReply *reply);

/* Queue a text message; takes ownership of `text` (malloc'd, freed with free()). Ignored once
 * the connection is closing. */
void hd_sig_conn_send_take (HdSigConn *conn, char *text);
/* Like hd_sig_conn_send_take for a state snapshot of `kind` (e.g. "roster"): an unsent queued
 * message of the same kind is replaced, so a slow reader gets the newest state, once. */
void hd_sig_conn_send_latest (HdSigConn *conn, const char *kind, char *text);
/* Send an error message (`ref` borrowed, may be NULL). */
void hd_sig_conn_send_error (HdSigConn *conn, const char *code, const char *reason, json_t *ref);
/* Close after the queued messages are sent, with a WebSocket close code and reason. */
void hd_sig_conn_close (HdSigConn *conn, int code, const char *reason);
/* The session has joined: stop its join deadline. */
void hd_sig_conn_set_joined (HdSigConn *conn);
gboolean hd_sig_conn_is_joined (HdSigConn *conn);
/* The core's data for this session (borrowed both ways). */
void hd_sig_conn_set_user (HdSigConn *conn, gpointer data);
gpointer hd_sig_conn_get_user (HdSigConn *conn);
/* The peer's address, e.g. "127.0.0.1". */
const char *hd_sig_conn_peer (HdSigConn *conn);

/* Route libwebsockets' own log lines into g_log (domain hd-lws). Errors and warnings always;
 * notices when `notices`. */
void hd_lws_log_to_glib (gboolean notices);

G_END_DECLS
