/* client.c — see client.h. Uses lws's own poll loop: these clients run in short-lived tools
 * and tests, never inside the daemon's GLib loop. */
#define G_LOG_DOMAIN "hd-client"

#include "signaling/client.h"

#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

/* clang-format off */
G_DEFINE_QUARK (hd-client-error-quark, hd_client_error)
/* clang-format on */

void
hd_client_quiet (void)
{
  lws_set_log_level (g_getenv ("HD_LWS_DEBUG") ? LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO : 0,
                     NULL);
}

/* ---------------------------------------------------------------- HTTP */

typedef struct {
  const char *bearer;
  const char *body;
  const char *method;
  GString *resp;
  int status;
  gboolean done;
  char *error;
} HttpJob;

static int
http_cb (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
  HttpJob *j = lws_get_opaque_user_data (wsi);
  switch (reason) {
  case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
    unsigned char **p = in, *end = *p + len;
    if (j->bearer) {
      g_autofree char *v = g_strdup_printf ("Bearer %s", j->bearer);
      if (lws_add_http_header_by_token (wsi, WSI_TOKEN_HTTP_AUTHORIZATION, (unsigned char *)v,
                                        (int)strlen (v), p, end))
        return -1;
    }
    if (j->body) {
      char cl[32];
      int n = g_snprintf (cl, sizeof cl, "%zu", strlen (j->body));
      if (lws_add_http_header_by_token (wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                        (unsigned char *)"application/json", 16, p, end)
          || lws_add_http_header_by_token (wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, (unsigned char *)cl,
                                           n, p, end))
        return -1;
      lws_client_http_body_pending (wsi, 1);
      lws_callback_on_writable (wsi);
    }
    return 0;
  }
  case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
    if (!j->body)
      return 0;
    gsize n = strlen (j->body);
    guint8 *buf = g_malloc (LWS_PRE + n + 1);
    memcpy (buf + LWS_PRE, j->body, n);
    int w = lws_write (wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
    g_free (buf);
    lws_client_http_body_pending (wsi, 0);
    j->body = NULL;
    return w < (int)n ? -1 : 0;
  }
  case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
    j->status = (int)lws_http_client_http_response (wsi);
    return 0;
  case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
    char buf[LWS_PRE + 4096], *px = buf + LWS_PRE;
    int lenx = sizeof buf - LWS_PRE;
    return lws_http_client_read (wsi, &px, &lenx) < 0 ? -1 : 0;
  }
  case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
    g_string_append_len (j->resp, in, len);
    return 0;
  case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
    j->done = TRUE;
    lws_cancel_service (lws_get_context (wsi));
    return 0;
  case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    if (j) {
      j->error = g_strdup (in ? (const char *)in : "connection failed");
      j->done = TRUE;
    }
    return 0;
  case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
    if (j && !j->done) {
      j->done = TRUE;
      if (!j->status)
        j->error = g_strdup ("connection closed before a response");
    }
    return 0;
  default:
    return lws_callback_http_dummy (wsi, reason, user, in, len);
  }
}

gboolean
hd_http_fetch (const char *url, const char *method, const char *bearer, const char *body,
               const HdHttpOptions *opts, int *status, char **response, GError **error)
{
  static const struct lws_protocols protos[]
      = { { "hd-http-client", http_cb, 0, 0, 0, NULL, 0 }, { NULL, NULL, 0, 0, 0, NULL, 0 } };
  HdHttpOptions defaults = { 0 };
  if (!opts)
    opts = &defaults;
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;
  gboolean tls = g_strcmp0 (scheme, "https") == 0;
  if (!uri || (!tls && g_strcmp0 (scheme, "http") != 0) || !g_uri_get_host (uri)) {
    g_set_error (error, HD_CLIENT_ERROR, 0, "%s is not an http:// or https:// URL", url);
    return FALSE;
  }
  int port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : (tls ? 443 : 80);
  const char *q = g_uri_get_query (uri);
  g_autofree char *path = g_strdup_printf (
      "%s%s%s", *g_uri_get_path (uri) ? g_uri_get_path (uri) : "/", q ? "?" : "", q ? q : "");

  struct lws_context_creation_info info;
  memset (&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protos;
  /* Plain http: no TLS set-up at all (it loads the system CA store into every context). */
  info.options = tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
  info.client_ssl_ca_filepath = tls ? opts->ca_file : NULL;
  info.fd_limit_per_thread = 8;
  struct lws_context *ctx = lws_create_context (&info);
  if (!ctx) {
    g_set_error (error, HD_CLIENT_ERROR, 0, "cannot start an HTTP client");
    return FALSE;
  }
  HttpJob job = { .bearer = bearer, .body = body, .method = method, .resp = g_string_new (NULL) };
  struct lws_client_connect_info ci;
  memset (&ci, 0, sizeof ci);
  ci.context = ctx;
  ci.address = g_uri_get_host (uri);
  ci.port = port;
  ci.path = path;
  ci.host = ci.address;
  ci.origin = ci.address;
  ci.method = method;
  ci.protocol = protos[0].name;
  ci.opaque_user_data = &job;
  if (tls)
    ci.ssl_connection
        = LCCSCF_USE_SSL
          | (opts->insecure ? LCCSCF_ALLOW_SELFSIGNED | LCCSCF_ALLOW_INSECURE
                                  | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_EXPIRED
                            : 0);
  gint64 deadline = g_get_monotonic_time () + (opts->timeout_ms ? opts->timeout_ms : 10000) * 1000;
  if (!lws_client_connect_via_info (&ci)) {
    job.done = TRUE;
    if (!job.error)
      job.error = g_strdup ("cannot connect");
  }
  while (!job.done && g_get_monotonic_time () < deadline)
    lws_service (ctx, 0);
  lws_context_destroy (ctx);
  if (!job.done) {
    g_free (job.error);
    job.error = g_strdup ("timed out");
  }
  if (job.error || !job.status) {
    g_set_error (error, HD_CLIENT_ERROR, 0, "%s %s: %s", method, url,
                 job.error ? job.error : "no response");
    g_free (job.error);
    g_string_free (job.resp, TRUE);
    return FALSE;
  }
  *status = job.status;
  if (opts->response_len)
    *opts->response_len = job.resp->len;
  *response = g_string_free (job.resp, FALSE);
  return TRUE;
}

/* ---------------------------------------------------------------- WebSocket */

struct HdWsContext {
  struct lws_context *ctx;
  GPtrArray *clients;
  HdWsMessageFunc on_message;
  gpointer on_message_user;
  HdWsOpenFunc on_open;
  gpointer on_open_user;
  gboolean insecure;
  lws_sorted_usec_list_t wake;      /* ends lws_service's wait at our deadlines */
  lws_sorted_usec_list_t heartbeat; /* bounds every wait */
};

typedef struct {
  guint8 *data;
  gsize len;
  gboolean binary;
} Frame;

struct HdWsClient {
  HdWsContext *owner;
  struct lws *wsi;
  gboolean open, closed;
  GQueue out; /* Frame* */
  GQueue in;  /* char* */
  GString *rx;
  int close_code;
  char close_reason[128];
  gpointer data;
};

static void
frame_free (Frame *f)
{
  g_free (f->data);
  g_free (f);
}

static int
ws_cb (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
  HdWsClient *c = lws_get_opaque_user_data (wsi);
  if (!c)
    return lws_callback_http_dummy (wsi, reason, user, in, len);
  switch (reason) {
  case LWS_CALLBACK_CLIENT_ESTABLISHED:
    c->open = TRUE;
    c->wsi = wsi;
    {
      /* Small messages back to back (join, pings): no Nagle delay waiting for an ACK. */
      int one = 1;
      setsockopt (lws_get_socket_fd (wsi), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (c->owner->on_open)
      c->owner->on_open (c, c->owner->on_open_user);
    if (!g_queue_is_empty (&c->out))
      lws_callback_on_writable (wsi);
    return 0;
  case LWS_CALLBACK_CLIENT_RECEIVE:
    if (lws_is_first_fragment (wsi))
      g_string_truncate (c->rx, 0);
    g_string_append_len (c->rx, in, len);
    if (lws_is_final_fragment (wsi) && lws_remaining_packet_payload (wsi) == 0) {
      if (c->owner->on_message)
        c->owner->on_message (c, c->rx->str, c->rx->len, c->owner->on_message_user);
      else
        g_queue_push_tail (&c->in, g_strndup (c->rx->str, c->rx->len));
    }
    return 0;
  case LWS_CALLBACK_CLIENT_WRITEABLE: {
    Frame *f = g_queue_pop_head (&c->out);
    if (f) {
      guint8 *buf = g_malloc (LWS_PRE + f->len + 1);
      memcpy (buf + LWS_PRE, f->data, f->len);
      int w = lws_write (wsi, buf + LWS_PRE, f->len, f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
      g_free (buf);
      frame_free (f);
      if (w < 0)
        return -1;
    }
    if (!g_queue_is_empty (&c->out))
      lws_callback_on_writable (wsi);
    return 0;
  }
  case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    if (len >= 2) {
      const guint8 *p = in;
      c->close_code = (p[0] << 8) | p[1];
      g_snprintf (c->close_reason, sizeof c->close_reason, "%.*s", (int)(len - 2),
                  (const char *)in + 2);
    }
    return 0;
  case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    g_snprintf (c->close_reason, sizeof c->close_reason, "%s",
                in ? (const char *)in : "connection error");
    c->closed = TRUE;
    c->open = FALSE;
    c->wsi = NULL;
    return 0;
  case LWS_CALLBACK_CLIENT_CLOSED:
    c->closed = TRUE;
    c->open = FALSE;
    c->wsi = NULL;
    return 0;
  default:
    return 0;
  }
}

static const struct lws_protocols ws_protos[]
    = { { "hd-ws-client", ws_cb, 0, 65536, 0, NULL, 0 }, { NULL, NULL, 0, 0, 0, NULL, 0 } };

static void heartbeat_cb (lws_sorted_usec_list_t *sul);

HdWsContext *
hd_ws_context_new (gboolean tls_insecure)
{
  struct lws_context_creation_info info;
  memset (&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = ws_protos;
  info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  HdWsContext *w = g_new0 (HdWsContext, 1);
  w->ctx = lws_create_context (&info);
  w->insecure = tls_insecure;
  if (!w->ctx) {
    g_free (w);
    return NULL;
  }
  w->clients = g_ptr_array_new ();
  heartbeat_cb (&w->heartbeat);
  return w;
}

static void
client_free (HdWsClient *c)
{
  g_queue_clear_full (&c->out, (GDestroyNotify)frame_free);
  g_queue_clear_full (&c->in, g_free);
  g_string_free (c->rx, TRUE);
  g_free (c);
}

void
hd_ws_context_free (HdWsContext *w)
{
  if (!w)
    return;
  lws_sul_cancel (&w->wake);
  lws_sul_cancel (&w->heartbeat);
  for (guint i = 0; i < w->clients->len; i++)
    if (((HdWsClient *)w->clients->pdata[i])->wsi)
      lws_set_opaque_user_data (((HdWsClient *)w->clients->pdata[i])->wsi, NULL);
  lws_context_destroy (w->ctx);
  for (guint i = 0; i < w->clients->len; i++)
    client_free (w->clients->pdata[i]);
  g_ptr_array_unref (w->clients);
  g_free (w);
}

static void
wake_cb (lws_sorted_usec_list_t *sul)
{
}

/* Reschedules itself: lws_service never sleeps longer than 20 ms, whatever else happens. */
static void
heartbeat_cb (lws_sorted_usec_list_t *sul)
{
  HdWsContext *w = lws_container_of (sul, HdWsContext, heartbeat);
  lws_sul_schedule (w->ctx, 0, &w->heartbeat, heartbeat_cb, 20 * LWS_US_PER_MS);
}

/* lws_service sleeps until the next socket event or lws timer (lws 4.1 ignores its timeout
 * argument): arm a timer at `end` so that a wait loop ends on time even when nothing
 * arrives. A deadline already past means a non-blocking service. */
static void
service_until (HdWsContext *w, gint64 end)
{
  gint64 left = end - g_get_monotonic_time ();
  if (left < 1000) {
    /* lws polls in whole milliseconds: under one, its poll does not wait at all and this
     * loop spun (a test client's main thread at 8 % of a core, measured); nap 0.1 ms between
     * looks instead, fine enough for the benchmarks' round trips */
    lws_service (w->ctx, -1);
    if (left > 0)
      g_usleep (MIN (left, 100));
    return;
  }
  lws_sul_schedule (w->ctx, 0, &w->wake, wake_cb, MAX (left, (gint64)200));
  lws_service (w->ctx, 0);
}

void
hd_ws_context_service (HdWsContext *w, int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  do
    service_until (w, end);
  while (g_get_monotonic_time () < end);
}

void
hd_ws_context_set_open_func (HdWsContext *w, HdWsOpenFunc fn, gpointer user)
{
  w->on_open = fn;
  w->on_open_user = user;
}

void
hd_ws_context_set_message_func (HdWsContext *w, HdWsMessageFunc fn, gpointer user)
{
  w->on_message = fn;
  w->on_message_user = user;
}

HdWsClient *
hd_ws_connect (HdWsContext *w, const char *host, int port, gboolean tls, const char *path,
               const char *subprotocol)
{
  HdWsClient *c = g_new0 (HdWsClient, 1);
  c->owner = w;
  c->rx = g_string_new (NULL);
  g_ptr_array_add (w->clients, c);
  struct lws_client_connect_info ci;
  memset (&ci, 0, sizeof ci);
  ci.context = w->ctx;
  ci.address = host;
  ci.port = port;
  ci.path = path;
  ci.host = host;
  ci.origin = host;
  ci.protocol = subprotocol;
  ci.local_protocol_name = ws_protos[0].name;
  ci.opaque_user_data = c;
  if (tls)
    ci.ssl_connection
        = LCCSCF_USE_SSL
          | (w->insecure ? LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK : 0);
  ci.pwsi = &c->wsi;
  if (!lws_client_connect_via_info (&ci)) {
    c->closed = TRUE;
    c->wsi = NULL;
  }
  return c;
}

void
hd_ws_send (HdWsClient *c, const char *data, gsize len, gboolean binary)
{
  Frame *f = g_new0 (Frame, 1);
  f->data = g_memdup2 (data, len);
  f->len = len;
  f->binary = binary;
  g_queue_push_tail (&c->out, f);
  if (c->wsi && c->open)
    lws_callback_on_writable (c->wsi);
}

void
hd_ws_send_text (HdWsClient *c, const char *text)
{
  hd_ws_send (c, text, strlen (text), FALSE);
}

void
hd_ws_close (HdWsClient *c)
{
  if (c->wsi)
    lws_set_timeout (c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

gboolean
hd_ws_is_open (HdWsClient *c)
{
  return c->open;
}

gboolean
hd_ws_is_closed (HdWsClient *c)
{
  return c->closed;
}

int
hd_ws_close_code (HdWsClient *c)
{
  return c->close_code;
}

const char *
hd_ws_close_reason (HdWsClient *c)
{
  return c->close_reason;
}

guint
hd_ws_pending (HdWsClient *c)
{
  return g_queue_get_length (&c->out);
}

char *
hd_ws_pop (HdWsClient *c)
{
  return g_queue_pop_head (&c->in);
}

char *
hd_ws_wait_message (HdWsContext *w, HdWsClient *c, int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  while (g_queue_is_empty (&c->in) && !c->closed && g_get_monotonic_time () < end)
    service_until (w, end);
  return g_queue_pop_head (&c->in);
}

gboolean
hd_ws_wait_open (HdWsContext *w, HdWsClient *c, int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  while (!c->open && !c->closed && g_get_monotonic_time () < end)
    service_until (w, end);
  return c->open;
}

gboolean
hd_ws_wait_closed (HdWsContext *w, HdWsClient *c, int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  while (!c->closed && g_get_monotonic_time () < end)
    service_until (w, end);
  return c->closed;
}

void
hd_ws_set_data (HdWsClient *c, gpointer data)
{
  c->data = data;
}

gpointer
hd_ws_get_data (HdWsClient *c)
{
  return c->data;
}
