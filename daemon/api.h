/* api.h — the REST API under /api/v1/ and /healthz (docs/api.md): routing, bearer-token
 * authentication and role checks, strict JSON bodies. Main thread. */
#pragma once

#include "daemon/hearing.h"
#include "signaling/http.h"

G_BEGIN_DECLS

/* Live figures for /healthz. */
typedef guint (*HdSessionCountFunc) (gpointer user);

typedef struct {
  HdCore *core;
  HdSessionCountFunc sessions;
  gpointer sessions_user;
} HdApi;

/* An HdHttpHandler; `user` is an HdApi*. */
int hd_api_handle (const HdHttpRequest *req, HdHttpReply *reply, gpointer user);

G_END_DECLS
