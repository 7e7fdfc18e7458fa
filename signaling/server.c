/* server.c — libwebsockets server on the GLib main loop (LWS_SERVER_OPTION_GLIB with our loop
 * as the foreign loop). One vhost: a file mount for web/, callback mounts for /api and /healthz,
 * and the hearing.v1 WebSocket protocol. Transport rules live here; meaning lives in the core. */
#define G_LOG_DOMAIN "hd-sig"

#include "signaling/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* clang-format off */
G_DEFINE_QUARK (hd-server-error-quark, hd_server_error)
/* clang-format on */

/* Consecutive refusals (rate limit, bad messages) after which a connection is closed (1008). */
#define MAX_STRIKES 200
/* Bytes queued to a slow reader before it is cut off. */
#define MAX_QUEUED_BYTES (4 * 1024 * 1024)

struct HdServer {
  struct lws_context *ctx;
  struct lws_vhost *vhost;
  HdServerOptions opts;
  char *host, *cert, *key, *web_root;
  HdSigHandlers handlers;
  gpointer user;
  GHashTable *conns;    /* HdSigConn* set */
  GHashTable *deferred; /* ticket -> struct lws* of requests answered later */
  guint64 next_ticket;
  int port;
  struct lws_protocols protocols[3];
  struct lws_http_mount mounts[3];
};

struct HdSigConn {
  HdServer *srv;
  struct lws *wsi;
  GQueue out; /* OutMsg* */
  gsize out_bytes;
  GString *rx;
  gboolean rx_binary;
  gboolean rx_overflow;
  double bucket;
  gint64 bucket_at;
  int strikes;
  guint join_timer;
  gboolean joined;
  gboolean established; /* the handshake is done: lws_write may be called */
  gboolean closing;
  int close_code;
  char close_reason[120];
  gpointer user;
  char peer[64];
};

/* A queued message. `kind` is set for state snapshots (a roster) where only the newest unsent
 * one matters: a newer one replaces it in the queue instead of queueing behind it. */
typedef struct {
  char *text; /* malloc'd */
  const char *kind;
} OutMsg;

static void
out_free (OutMsg *o)
{
  free (o->text);
  g_free (o);
}

/* A file body (a recording's media, an export) is read on a worker thread, a chunk ahead of the
 * socket: the archive may sit on a share that answers slowly or not at all, and the main thread
 * serves every hearing. Each read in flight holds a reference; the connection going away lets go
 * of its own (wsi NULL) and the last one closes the file. Only `fd`, `at` and `want` are read by
 * the worker, and none of them changes while a read is in flight. */
typedef struct FileRead {
  gint refs;
  int fd;
  struct lws *wsi; /* NULL once the connection is gone (main thread) */
  goffset at;      /* the next read's offset in the file */
  gsize left;      /* bytes not read yet */
  gsize want;      /* the read in flight's length */
  guint8 *buf;     /* a chunk read and not yet written: LWS_PRE bytes, then `len` of the file */
  gsize len;
  gboolean reading, failed;
} FileRead;

enum { FILE_CHUNK = 128 * 1024 };

/* Per-session data of lws: a WebSocket's conn, or an HTTP request being read. */
typedef struct {
  HdSigConn *conn;
  /* HTTP */
  GString *body;
  gboolean body_too_big;
  char *method, *path, *auth, *range;
  GHashTable *query;
  char *resp;
  gsize resp_len, resp_sent;
  struct FileRead *file; /* a file body: read off the main thread, sent from here */
  guint64 ticket;     /* a deferred request's, until answered */
  HdHttpReply *later; /* the deferred answer, written when writable */
  int later_status;
  int status;
  gboolean dispatched; /* this request has been handed to its route */
  char peer[64];
} Pss;

/* ---------------------------------------------------------------- logging */

static gboolean lws_notices;

static void
lws_emit (int level, const char *line)
{
  /* lws lines look like "[2026/11/28 12:00:00:0000] N: text\n": keep only the text. */
  const char *p = strstr (line, "] ");
  p = p ? p + 2 : line;
  if (p[0] && p[1] == ':' && p[2] == ' ')
    p += 3;
  gsize n = strlen (p);
  while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
    n--;
  GLogLevelFlags gl = level == LLL_ERR    ? G_LOG_LEVEL_WARNING /* lws errors are not fatal */
                      : level == LLL_WARN ? G_LOG_LEVEL_MESSAGE
                                          : G_LOG_LEVEL_INFO;
  g_log ("hd-lws", gl, "%.*s", (int)n, p);
}

void
hd_lws_log_to_glib (gboolean notices)
{
  lws_notices = notices;
  lws_set_log_level (LLL_ERR | LLL_WARN | (notices ? LLL_NOTICE : 0), lws_emit);
}

/* ---------------------------------------------------------------- WebSocket sessions */

static void
conn_free (HdSigConn *c)
{
  if (c->join_timer)
    g_source_remove (c->join_timer);
  g_queue_clear_full (&c->out, (GDestroyNotify)out_free);
  g_string_free (c->rx, TRUE);
  g_free (c);
}

void
hd_sig_conn_send_take (HdSigConn *c, char *text)
{
  hd_sig_conn_send_latest (c, NULL, text);
}

void
hd_sig_conn_send_latest (HdSigConn *c, const char *kind, char *text)
{
  if (!text)
    return;
  if (c->closing) {
    free (text);
    return;
  }
  gsize n = strlen (text);
  if (kind)
    for (GList *l = c->out.head; l; l = l->next) {
      OutMsg *o = l->data;
      if (o->kind && g_str_equal (o->kind, kind)) {
        c->out_bytes = c->out_bytes - strlen (o->text) + n;
        free (o->text);
        o->text = text;
        return;
      }
    }
  if (c->out_bytes + n > MAX_QUEUED_BYTES) {
    free (text);
    g_warning ("session %s: send queue over %d bytes, closing", c->peer, MAX_QUEUED_BYTES);
    hd_sig_conn_close (c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "send queue overflow");
    return;
  }
  /* Fast path: nothing queued and the socket can take it now, so write at once instead of
   * waiting a main-loop iteration for a writable callback (each iteration walks every
   * session's GSource: at thousands of sessions that wait dominated join latency). A partial
   * write is kept and finished by lws itself. */
  if (g_queue_is_empty (&c->out) && c->established && !lws_send_pipe_choked (c->wsi)) {
    guint8 *buf = g_malloc (LWS_PRE + n);
    memcpy (buf + LWS_PRE, text, n);
    free (text);
    int w = lws_write (c->wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
    g_free (buf);
    if (w < (int)n)
      hd_sig_conn_close (c, LWS_CLOSE_STATUS_GOINGAWAY, "write failed");
    return;
  }
  OutMsg *o = g_new (OutMsg, 1);
  o->text = text;
  o->kind = kind;
  g_queue_push_tail (&c->out, o);
  c->out_bytes += n;
  lws_callback_on_writable (c->wsi);
}

void
hd_sig_conn_send_error (HdSigConn *c, const char *code, const char *reason, json_t *ref)
{
  hd_sig_conn_send_take (c, hd_protocol_error (code, reason, ref));
}

void
hd_sig_conn_close (HdSigConn *c, int code, const char *reason)
{
  if (c->closing)
    return;
  c->closing = TRUE;
  c->close_code = code;
  g_strlcpy (c->close_reason, reason, sizeof c->close_reason);
  lws_callback_on_writable (c->wsi);
}

void
hd_sig_conn_set_joined (HdSigConn *c)
{
  c->joined = TRUE;
  if (c->join_timer) {
    g_source_remove (c->join_timer);
    c->join_timer = 0;
  }
}

gboolean
hd_sig_conn_is_joined (HdSigConn *c)
{
  return c->joined;
}

void
hd_sig_conn_set_user (HdSigConn *c, gpointer data)
{
  c->user = data;
}

gpointer
hd_sig_conn_get_user (HdSigConn *c)
{
  return c->user;
}

const char *
hd_sig_conn_peer (HdSigConn *c)
{
  return c->peer;
}

static gboolean
join_deadline (gpointer data)
{
  HdSigConn *c = data;
  c->join_timer = 0;
  if (!c->joined) {
    hd_sig_conn_send_error (c, "join_timeout", "no join message within the deadline", NULL);
    hd_sig_conn_close (c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "join timeout");
  }
  return G_SOURCE_REMOVE;
}

/* Token bucket: TRUE if one more message may pass now. */
static gboolean
rate_ok (HdSigConn *c)
{
  gint64 now = g_get_monotonic_time ();
  c->bucket = MIN ((double)c->srv->opts.rate_burst,
                   c->bucket + (now - c->bucket_at) * c->srv->opts.rate_per_second / 1e6);
  c->bucket_at = now;
  if (c->bucket < 1.0)
    return FALSE;
  c->bucket -= 1.0;
  return TRUE;
}

/* Count a refusal; TRUE if the connection has now had too many and is being closed. */
static gboolean
strike (HdSigConn *c)
{
  if (++c->strikes < MAX_STRIKES)
    return FALSE;
  hd_sig_conn_close (c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many refused messages");
  return TRUE;
}

/* A whole message arrived. Returns -1 to close the connection now. */
static int
on_message (HdSigConn *c)
{
  if (c->closing)
    return 0;
  if (!rate_ok (c)) {
    if (!strike (c))
      hd_sig_conn_send_error (c, "rate_limited", "too many messages; slow down", NULL);
    return 0;
  }
  if (c->rx_binary) {
    if (!strike (c))
      hd_sig_conn_send_error (c, "binary_not_supported",
                              "protocol hearing.v1 carries JSON text frames only", NULL);
    return 0;
  }
  if (!g_utf8_validate_len (c->rx->str, c->rx->len, NULL)) {
    lws_close_reason (c->wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD, (unsigned char *)"invalid UTF-8",
                      13);
    return -1;
  }
  HdProtoError perr;
  g_autoptr (HdMsg) msg = hd_protocol_parse (c->rx->str, c->rx->len, &perr);
  if (!msg) {
    if (!strike (c))
      hd_sig_conn_send_error (c, perr.code, perr.reason, perr.ref);
    hd_proto_error_clear (&perr);
    return 0;
  }
  c->strikes = 0;
  c->srv->handlers.message (c, msg, c->srv->user);
  return 0;
}

static int
ws_callback (HdServer *srv, struct lws *wsi, enum lws_callback_reasons reason, Pss *pss, void *in,
             size_t len)
{
  HdSigConn *c = pss ? pss->conn : NULL;
  switch (reason) {
  case LWS_CALLBACK_ESTABLISHED: {
    char uri[64] = "";
    const struct lws_protocols *proto = lws_get_protocol (wsi);
    if (!proto || g_strcmp0 (proto->name, HD_PROTOCOL_NAME) != 0) {
      lws_close_reason (wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
                        (unsigned char *)"subprotocol hearing.v1 required", 31);
      return -1;
    }
    if (lws_hdr_copy (wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 || strcmp (uri, "/ws") != 0) {
      lws_close_reason (wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                        (unsigned char *)"the WebSocket endpoint is /ws", 29);
      return -1;
    }
    c = g_new0 (HdSigConn, 1);
    c->srv = srv;
    c->wsi = wsi;
    c->rx = g_string_sized_new (256);
    c->bucket = srv->opts.rate_burst;
    c->bucket_at = g_get_monotonic_time ();
    lws_get_peer_simple (wsi, c->peer, sizeof c->peer);
    pss->conn = c;
    g_hash_table_add (srv->conns, c);
    if ((int)g_hash_table_size (srv->conns) > srv->opts.max_sessions) {
      hd_sig_conn_send_error (c, "server_full", "the server holds its most sessions", NULL);
      hd_sig_conn_close (c, 1013 /* try again later */, "server full");
      return 0;
    }
    c->join_timer = g_timeout_add_seconds (srv->opts.join_timeout_seconds, join_deadline, c);
    c->established = TRUE;
    return 0;
  }
  case LWS_CALLBACK_RECEIVE:
    if (!c)
      return -1;
    if (lws_is_first_fragment (wsi)) {
      g_string_truncate (c->rx, 0);
      c->rx_binary = lws_frame_is_binary (wsi);
      c->rx_overflow = FALSE;
    }
    if (c->rx->len + len > (gsize)srv->opts.message_max_bytes) {
      char why[64];
      int n = g_snprintf (why, sizeof why, "message over %d bytes", srv->opts.message_max_bytes);
      lws_close_reason (wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why, n);
      return -1;
    }
    g_string_append_len (c->rx, in, len);
    if (lws_is_final_fragment (wsi) && lws_remaining_packet_payload (wsi) == 0)
      return on_message (c);
    return 0;
  case LWS_CALLBACK_SERVER_WRITEABLE: {
    if (!c)
      return -1;
    OutMsg *m = g_queue_pop_head (&c->out);
    if (m) {
      gsize n = strlen (m->text);
      c->out_bytes -= n;
      guint8 *buf = g_malloc (LWS_PRE + n);
      memcpy (buf + LWS_PRE, m->text, n);
      out_free (m);
      int w = lws_write (wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
      g_free (buf);
      if (w < (int)n)
        return -1;
    }
    if (!g_queue_is_empty (&c->out)) {
      lws_callback_on_writable (wsi);
    } else if (c->closing) {
      lws_close_reason (wsi, (enum lws_close_status)c->close_code, (unsigned char *)c->close_reason,
                        strlen (c->close_reason));
      return -1;
    }
    return 0;
  }
  case LWS_CALLBACK_CLOSED:
    if (c) {
      g_hash_table_remove (srv->conns, c);
      srv->handlers.closed (c, srv->user);
      conn_free (c);
      pss->conn = NULL;
    }
    return 0;
  default:
    return 0;
  }
}

/* ---------------------------------------------------------------- HTTP (REST) */

static char *simple_error (const char *code, const char *reason);

static void
reply_clear (HdHttpReply *r)
{
  g_free (r->body);
  g_free (r->content_range);
  g_free (r->file_path);
  if (r->file_open)
    close (r->file_fd);
  g_free (r->content_disposition);
  memset (r, 0, sizeof *r);
}

static FileRead *
file_read_new (int fd, struct lws *wsi, goffset offset, gsize len)
{
  FileRead *f = g_new0 (FileRead, 1);
  f->refs = 1;
  f->fd = fd;
  f->wsi = wsi;
  f->at = offset;
  f->left = len;
  return f;
}

static void
file_read_unref (FileRead *f)
{
  if (!g_atomic_int_dec_and_test (&f->refs))
    return;
  close (f->fd);
  g_free (f->buf);
  g_free (f);
}

static void
file_read_work (GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
  FileRead *f = data;
  guint8 *buf = g_malloc (LWS_PRE + f->want);
  gssize got = pread (f->fd, buf + LWS_PRE, f->want, f->at);
  if (got != (gssize)f->want) { /* the file shrank under us, or cannot be read */
    g_free (buf);
    buf = NULL;
  }
  g_task_return_pointer (task, buf, g_free);
}

static void
file_read_done (GObject *source, GAsyncResult *res, gpointer data)
{
  FileRead *f = data;
  guint8 *buf = g_task_propagate_pointer (G_TASK (res), NULL);
  f->reading = FALSE;
  if (buf) {
    f->buf = buf;
    f->len = f->want;
    f->at += (goffset)f->want;
    f->left -= f->want;
  } else {
    f->failed = TRUE;
  }
  if (f->wsi)
    lws_callback_on_writable (f->wsi);
  file_read_unref (f);
}

/* Read the next chunk, unless one is read, being read, or all is. Main thread. */
static void
file_read_next (FileRead *f)
{
  if (f->reading || f->buf || f->failed || !f->left)
    return;
  f->reading = TRUE;
  f->want = MIN (f->left, (gsize)FILE_CHUNK);
  g_atomic_int_inc (&f->refs);
  GTask *t = g_task_new (NULL, NULL, file_read_done, f);
  g_task_set_task_data (t, f, NULL);
  g_task_run_in_thread (t, file_read_work);
  g_object_unref (t);
}

/* The file body of `reply`, opened already (file_open: taken from it) or opened here (an export
 * in the state folder, which may be unlinked once the deferred answer returns): FALSE when it
 * is gone. */
static gboolean
file_body_open (Pss *p, struct lws *wsi, HdHttpReply *reply, gsize len)
{
  int fd = reply->file_open ? reply->file_fd : g_open (reply->file_path, O_RDONLY | O_CLOEXEC, 0);
  reply->file_open = FALSE;
  if (fd < 0)
    return FALSE;
  p->file = file_read_new (fd, wsi, reply->file_offset, len);
  file_read_next (p->file);
  return TRUE;
}

static void
pss_http_clear (HdServer *srv, Pss *p)
{
  if (p->ticket)
    g_hash_table_remove (srv->deferred, &p->ticket);
  if (p->later) {
    reply_clear (p->later);
    g_free (p->later);
  }
  if (p->file) {
    p->file->wsi = NULL;
    file_read_unref (p->file);
  }
  if (p->body)
    g_string_free (p->body, TRUE);
  g_free (p->method);
  g_free (p->path);
  g_free (p->auth);
  g_free (p->range);
  if (p->query)
    g_hash_table_unref (p->query);
  g_free (p->resp);
  memset (p, 0, sizeof *p);
}

static const char *method_names[]
    = { "GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD" };

/* Write status line, headers, and queue the body (takes what *reply holds). */
static int
http_respond (struct lws *wsi, Pss *p, int status, HdHttpReply *reply)
{
  guint8 buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *q = start, *end = buf + sizeof buf - 1;
  g_free (p->resp);
  p->resp = g_steal_pointer (&reply->body);
  p->resp_len = reply->body_len ? reply->body_len : p->resp ? strlen (p->resp) : 0;
  p->resp_sent = 0;
  if ((reply->file_path || reply->file_open) && !p->file) {
    if (!file_body_open (p, wsi, reply, p->resp_len)) {
      /* gone between the route's look and now */
      reply_clear (reply);
      HdHttpReply gone = { .body = simple_error ("not_found", "the file is gone") };
      return http_respond (wsi, p, 404, &gone);
    }
  }
  const char *type = reply->content_type ? reply->content_type : "application/json";
  int bad = lws_add_http_common_headers (wsi, (unsigned int)status, type, p->resp_len, &q, end)
            || lws_add_http_header_by_token (wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                             (const unsigned char *)"no-store", 8, &q, end)
            || lws_add_http_header_by_name (wsi, (const unsigned char *)"x-content-type-options:",
                                            (const unsigned char *)"nosniff", 7, &q, end);
  if (!bad && reply->content_type)
    bad = lws_add_http_header_by_token (wsi, WSI_TOKEN_HTTP_ACCEPT_RANGES,
                                        (const unsigned char *)"bytes", 5, &q, end);
  if (!bad && reply->content_range)
    bad = lws_add_http_header_by_token (wsi, WSI_TOKEN_HTTP_CONTENT_RANGE,
                                        (const unsigned char *)reply->content_range,
                                        (int)strlen (reply->content_range), &q, end);
  if (!bad && reply->content_disposition)
    bad = lws_add_http_header_by_name (wsi, (const unsigned char *)"content-disposition:",
                                       (const unsigned char *)reply->content_disposition,
                                       (int)strlen (reply->content_disposition), &q, end);
  reply_clear (reply);
  if (bad || lws_finalize_write_http_header (wsi, start, &q, end))
    return 1;
  lws_callback_on_writable (wsi);
  return 0;
}

static int
http_respond_json (struct lws *wsi, Pss *p, int status, char *json)
{
  HdHttpReply r = { .body = json };
  return http_respond (wsi, p, status, &r);
}

static char *
simple_error (const char *code, const char *reason)
{
  json_t *j = json_pack ("{s:s, s:s}", "error", code, "reason", reason);
  char *s = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  char *g = g_strdup (s);
  free (s);
  return g;
}

static int
http_dispatch (HdServer *srv, struct lws *wsi, Pss *p)
{
  p->dispatched = TRUE;
  if (p->body_too_big) {
    g_autofree char *why
        = g_strdup_printf ("request body over %d bytes", srv->opts.http_body_max_bytes);
    return http_respond_json (wsi, p, 413, simple_error ("body_too_large", why));
  }
  HdHttpRequest req = {
    .method = p->method,
    .path = p->path,
    .query = p->query,
    .authorization = p->auth,
    .body = p->body ? p->body->str : NULL,
    .body_len = p->body ? p->body->len : 0,
    .peer = p->peer,
    .range = p->range,
    .ticket = ++srv->next_ticket,
  };
  HdHttpReply reply = { 0 };
  int status = srv->handlers.http (&req, &reply, srv->user);
  if (status == HD_HTTP_DEFERRED) { /* hd_server_http_complete() answers */
    reply_clear (&reply);
    p->ticket = req.ticket;
    g_hash_table_insert (srv->deferred, &p->ticket, wsi);
    lws_set_timeout (wsi, NO_PENDING_TIMEOUT, 0); /* an export may take a while */
    return 0;
  }
  return http_respond (wsi, p, status, &reply);
}

static int
http_callback (HdServer *srv, struct lws *wsi, enum lws_callback_reasons reason, Pss *p, void *in,
               size_t len)
{
  if (!p)
    return reason == LWS_CALLBACK_HTTP ? -1 : 0; /* no session data: nothing of ours to touch */
  switch (reason) {
  case LWS_CALLBACK_HTTP: {
    char *uri = NULL;
    int ulen = 0;
    int m = lws_http_get_uri_and_method (wsi, &uri, &ulen);
    pss_http_clear (srv, p);
    lws_get_peer_simple (wsi, p->peer, sizeof p->peer);
    p->query = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    if (m < 0 || m >= (int)G_N_ELEMENTS (method_names)) {
      p->method = g_strdup ("?");
      p->path = g_strdup ("/");
      return http_respond_json (wsi, p, 405, simple_error ("method_not_allowed", "unknown method"));
    }
    p->method = g_strdup (method_names[m]);
    p->path = g_strndup (uri, ulen);
    int alen = lws_hdr_total_length (wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (alen > 0 && alen < 16384) {
      p->auth = g_malloc (alen + 1);
      if (lws_hdr_copy (wsi, p->auth, alen + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
        g_clear_pointer (&p->auth, g_free);
    }
    int rlen = lws_hdr_total_length (wsi, WSI_TOKEN_HTTP_RANGE);
    if (rlen > 0 && rlen < 1024) {
      p->range = g_malloc (rlen + 1);
      if (lws_hdr_copy (wsi, p->range, rlen + 1, WSI_TOKEN_HTTP_RANGE) < 0)
        g_clear_pointer (&p->range, g_free);
    }
    char arg[1024];
    for (int i = 0; i < 32; i++) {
      int n = lws_hdr_copy_fragment (wsi, arg, sizeof arg, WSI_TOKEN_HTTP_URI_ARGS, i);
      if (n < 0)
        break;
      char *eq = strchr (arg, '=');
      if (eq) {
        *eq = '\0';
        g_hash_table_replace (p->query, g_strdup (arg), g_strdup (eq + 1));
      } else {
        g_hash_table_replace (p->query, g_strdup (arg), g_strdup (""));
      }
    }
    char cl[32] = "";
    if (lws_hdr_copy (wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && atoll (cl) > 0) {
      if (atoll (cl) > srv->opts.http_body_max_bytes)
        p->body_too_big = TRUE; /* answered once the body is drained */
      p->body = g_string_new (NULL);
      return 0; /* wait for LWS_CALLBACK_HTTP_BODY_COMPLETION */
    }
    return http_dispatch (srv, wsi, p);
  }
  case LWS_CALLBACK_HTTP_BODY:
    if (!p->body)
      p->body = g_string_new (NULL);
    if (p->body->len + len > (gsize)srv->opts.http_body_max_bytes)
      p->body_too_big = TRUE;
    if (!p->body_too_big)
      g_string_append_len (p->body, in, len);
    return 0;
  case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    /* lws also reports the end of an empty body (a browser's POST sends Content-Length: 0):
     * that request was answered already */
    if (!p->body || p->dispatched)
      return 0;
    return http_dispatch (srv, wsi, p);
  case LWS_CALLBACK_HTTP_WRITEABLE: {
    if (!p->method)
      return 0;
    if (p->later) { /* a deferred answer has come: its headers first */
      HdHttpReply *r = g_steal_pointer (&p->later);
      int rc = http_respond (wsi, p, p->later_status, r);
      g_free (r);
      return rc;
    }
    if (p->ticket) /* still being worked on */
      return 0;
    gsize chunk;
    guint8 *buf;
    if (p->file) {
      FileRead *f = p->file;
      if (f->failed) /* the file shrank under us, or cannot be read: end the connection */
        return -1;
      if (!f->buf) { /* written when it has been read (file_read_done) */
        file_read_next (f);
        return 0;
      }
      buf = g_steal_pointer (&f->buf);
      chunk = f->len;
      file_read_next (f); /* the next chunk is read while this one is sent */
    } else {
      chunk = MIN (p->resp_len - p->resp_sent, (gsize)65536);
      buf = g_malloc (LWS_PRE + chunk + 1);
      if (chunk)
        memcpy (buf + LWS_PRE, p->resp + p->resp_sent, chunk);
    }
    p->resp_sent += chunk;
    gboolean last = p->resp_sent == p->resp_len;
    int w = lws_write (wsi, buf + LWS_PRE, chunk, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
    g_free (buf);
    if (w < (int)chunk)
      return -1;
    if (!last) {
      lws_callback_on_writable (wsi);
      return 0;
    }
    pss_http_clear (srv, p);
    return lws_http_transaction_completed (wsi) ? -1 : 0;
  }
  case LWS_CALLBACK_CLOSED_HTTP:
    /* A connection that timed out before sending a request (a browser's speculative
     * pre-connect, or anyone's idle socket) has no session data at all. */
    if (p)
      pss_http_clear (srv, p);
    return 0;
  default:
    return 0;
  }
}

static int
callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
  HdServer *srv = lws_context_user (lws_get_context (wsi));
  Pss *pss = user;
  switch (reason) {
  case LWS_CALLBACK_ESTABLISHED:
  case LWS_CALLBACK_RECEIVE:
  case LWS_CALLBACK_SERVER_WRITEABLE:
  case LWS_CALLBACK_CLOSED:
    return ws_callback (srv, wsi, reason, pss, in, len);
  case LWS_CALLBACK_HTTP:
  case LWS_CALLBACK_HTTP_BODY:
  case LWS_CALLBACK_HTTP_BODY_COMPLETION:
  case LWS_CALLBACK_HTTP_WRITEABLE:
  case LWS_CALLBACK_CLOSED_HTTP:
    return http_callback (srv, wsi, reason, pss, in, len);
  default:
    return lws_callback_http_dummy (wsi, reason, user, in, len);
  }
}

/* ---------------------------------------------------------------- lifecycle */

/* Find out why a listen failed, for a clear one-line error (lws only returns NULL). */
static char *
why_no_listen (const char *host, int port)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t)port) };
  if (fd < 0 || inet_pton (AF_INET, host, &sa.sin_addr) != 1) {
    if (fd >= 0)
      close (fd);
    return g_strdup ("cannot listen");
  }
  char *why = NULL;
  if (bind (fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    why = g_strdup (g_strerror (errno));
  close (fd);
  return why ? why : g_strdup ("libwebsockets could not start (see its log above)");
}

HdServer *
hd_server_new (const HdServerOptions *opts, const HdSigHandlers *handlers, gpointer user,
               GMainLoop *loop, GError **error)
{
  HdServer *srv = g_new0 (HdServer, 1);
  srv->opts = *opts;
  srv->host = g_strdup (g_str_equal (opts->host, "localhost") ? "127.0.0.1" : opts->host);
  srv->cert = g_strdup (opts->cert_path);
  srv->key = g_strdup (opts->key_path);
  srv->web_root = g_canonicalize_filename (opts->web_root, NULL);
  srv->handlers = *handlers;
  srv->user = user;
  srv->conns = g_hash_table_new (NULL, NULL);
  srv->deferred = g_hash_table_new (g_int64_hash, g_int64_equal);

  srv->protocols[0] = (struct lws_protocols){ "http", callback, sizeof (Pss), 0, 0, NULL, 0 };
  srv->protocols[1]
      = (struct lws_protocols){ HD_PROTOCOL_NAME, callback, sizeof (Pss), 4096, 0, NULL, 0 };
  /* protocols[2] stays zeroed: the list terminator (lws 4.1 has no LWS_PROTOCOL_LIST_TERM). */

  /* lws picks the longest matching mountpoint. */
  srv->mounts[0] = (struct lws_http_mount){ .mountpoint = "/api",
                                            .mountpoint_len = 4,
                                            .origin = "http",
                                            .origin_protocol = LWSMPRO_CALLBACK,
                                            .mount_next = &srv->mounts[1] };
  srv->mounts[1] = (struct lws_http_mount){ .mountpoint = "/healthz",
                                            .mountpoint_len = 8,
                                            .origin = "http",
                                            .origin_protocol = LWSMPRO_CALLBACK,
                                            .mount_next = &srv->mounts[2] };
  srv->mounts[2] = (struct lws_http_mount){ .mountpoint = "/",
                                            .mountpoint_len = 1,
                                            .origin = srv->web_root,
                                            .def = "index.html",
                                            .origin_protocol = LWSMPRO_FILE };

  struct lws_context_creation_info info;
  memset (&info, 0, sizeof info);
  void *foreign[1] = { loop };
  /* lws's "security best practices" headers, with media from ourselves allowed (the archive
   * portal plays recordings) and no Referer (a recording's URL may carry an access token) */
  static const struct lws_protocol_vhost_options headers[] = {
    { &headers[1], NULL, "content-security-policy:",
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "media-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; "
      "form-action 'self'" },
    { &headers[2], NULL, "x-frame-options:", "deny" },
    { &headers[3], NULL, "x-xss-protection:", "1; mode=block" },
    { &headers[4], NULL, "x-content-type-options:", "nosniff" },
    { NULL, NULL, "referrer-policy:", "no-referrer" },
  };
  info.options = LWS_SERVER_OPTION_GLIB | LWS_SERVER_OPTION_DISABLE_IPV6;
  info.headers = headers;
  info.foreign_loops = foreign;
  info.port = opts->port; /* 0: the kernel picks; read back with lws_get_vhost_listen_port */
  info.iface = srv->host;
  info.protocols = srv->protocols;
  info.mounts = &srv->mounts[0];
  info.user = srv;
  info.vhost_name = "hearingd";
  /* A dropped village link is found by TCP keepalive: probes after 20 s idle, every 5 s, 5 of
   * them (about 45 s). lws's own WebSocket ping policy keeps one timer per session in a sorted
   * list (O(n) insert on every activity): with thousands of sessions it dominated the profile. */
  info.ka_time = 20;
  info.ka_interval = 5;
  info.ka_probes = 5;
  info.timeout_secs = 20;
  if (!opts->plain_http) {
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.ssl_cert_filepath = srv->cert;
    info.ssl_private_key_filepath = srv->key;
    /* HTTP/1.1 only: with h2 negotiated, lws 4.1 on the GLib loop stopped serving the vhost
     * after the first request (measured: every later connection hung). WebSockets and REST
     * need nothing from h2. */
    info.alpn = "http/1.1";
  }
  srv->ctx = lws_create_context (&info);
  if (!srv->ctx) {
    g_autofree char *why = why_no_listen (srv->host, opts->port);
    g_set_error (error, HD_SERVER_ERROR, 0, "cannot listen on %s:%d: %s", opts->host, opts->port,
                 why);
    hd_server_free (srv);
    return NULL;
  }
  srv->vhost = lws_get_vhost_by_name (srv->ctx, "hearingd");
  srv->port = srv->vhost ? lws_get_vhost_listen_port (srv->vhost) : -1;
  if (srv->port <= 0) {
    g_set_error (error, HD_SERVER_ERROR, 0, "cannot listen on %s:%d", opts->host, opts->port);
    hd_server_free (srv);
    return NULL;
  }
  return srv;
}

int
hd_server_port (HdServer *srv)
{
  return srv->port;
}

guint
hd_server_session_count (HdServer *srv)
{
  return g_hash_table_size (srv->conns);
}

void
hd_server_shutdown (HdServer *srv, const char *reason)
{
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, srv->conns);
  while (g_hash_table_iter_next (&it, &key, NULL)) {
    HdSigConn *c = key;
    hd_sig_conn_send_take (c, hd_protocol_bye (reason, NULL));
    hd_sig_conn_close (c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
  }
}

gboolean
hd_server_http_complete (HdServer *srv, guint64 ticket, int status, HdHttpReply *reply)
{
  struct lws *wsi = g_hash_table_lookup (srv->deferred, &ticket);
  if (!wsi) {
    reply_clear (reply);
    return FALSE;
  }
  Pss *p = lws_wsi_user (wsi);
  g_hash_table_remove (srv->deferred, &ticket);
  p->ticket = 0;
  p->later = g_new0 (HdHttpReply, 1);
  *p->later = *reply;
  memset (reply, 0, sizeof *reply);
  p->later_status = status;
  if (p->later->file_path || p->later->file_open) { /* the caller may unlink it once we return */
    gboolean open = file_body_open (p, wsi, p->later, p->later->body_len);
    g_clear_pointer (&p->later->file_path, g_free);
    if (!open) {
      reply_clear (p->later);
      p->later->body = simple_error ("not_found", "the file is gone");
      p->later_status = 404;
    }
  }
  lws_callback_on_writable (wsi);
  return TRUE;
}

void
hd_server_free (HdServer *srv)
{
  if (!srv)
    return;
  if (srv->ctx)
    lws_context_destroy (srv->ctx);
  g_hash_table_unref (srv->conns);
  g_hash_table_unref (srv->deferred);
  g_free (srv->host);
  g_free (srv->cert);
  g_free (srv->key);
  g_free (srv->web_root);
  g_free (srv);
}
