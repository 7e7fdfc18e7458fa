/* api.h — the REST API under /api/v1/ and /healthz (docs/api.md): routing, bearer-token
 * authentication and role checks, strict JSON bodies. Main thread. */
#pragma once

#include "codecs/export.h" /* the type only: the daemon hands in hd_export_remux */
#include "daemon/hearing.h"
#include "signaling/http.h"

G_BEGIN_DECLS

/* Live figures for /healthz. */
typedef guint (*HdSessionCountFunc) (gpointer user);

typedef struct {
  HdCore *core;
  HdSessionCountFunc sessions;
  gpointer sessions_user;
  /* Exports (GET /api/v1/recordings/{id}/export): where they are kept, the remuxer (run on a
   * worker thread), and how a deferred request is answered. Without them: 503. */
  const char *export_dir;
  gboolean (*remux) (const HdExportSource *sources, guint n, gboolean mkv, const char *out,
                     GError **error);
  gboolean (*complete) (guint64 ticket, int status, HdHttpReply *reply, gpointer user);
  gpointer complete_user;
  GHashTable *exports; /* "<recording>/<track>" -> the export being made (internal) */
  guint verifications; /* POST …/verify running on worker threads (internal) */
  guint manifest_reads; /* manifests being read on worker threads (internal) */
} HdApi;

/* Call once the API's owner is going: exports, verifications and manifest reads still running
 * are waited for
 * (10 s at most). */
void hd_api_shutdown (HdApi *api);

/* An HdHttpHandler; `user` is an HdApi*. */
int hd_api_handle (const HdHttpRequest *req, HdHttpReply *reply, gpointer user);

G_END_DECLS
