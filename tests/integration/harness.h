/* harness.h — start hearingd and hearingctl as the integration tests and benchmarks need them:
 * a daemon on 127.0.0.1 port 0 with a temporary state dir, REST calls, WebSocket helpers. */
#pragma once

#include "signaling/client.h"

#include <gio/gio.h>
#include <jansson.h>

typedef struct {
  GSubprocess *proc;
  char *state_dir;
  char *stderr_path;
  int port;
  gboolean tls;
  char *base_url;
} HdTestDaemon;

/* Start hearingd (path from $HD_HEARINGD) with `args` (NULL-terminated, may be NULL) and
 * `env` additions ("K=V", NULL-terminated, may be NULL). Plain HTTP on loopback unless `tls`.
 * Returns NULL (and logs why) if it did not print its port. */
HdTestDaemon *hd_test_daemon_start (const char *state_dir, gboolean tls, const char *const *args,
                                    const char *const *env);
/* A GSpawnChildSetupFunc: the child is killed when the test process dies (even on abort). */
void hd_test_die_with_parent (gpointer data);

/* SIGTERM and wait; returns the exit status (-1 if it had to be killed). */
int hd_test_daemon_stop (HdTestDaemon *d);
void hd_test_daemon_free (HdTestDaemon *d);
/* The daemon's stderr so far. Caller frees. */
char *hd_test_daemon_log (HdTestDaemon *d);

/* Run hearingctl (path from $HD_HEARINGCTL) with argv (NULL-terminated). Returns the exit
 * status; *out and *err (caller frees) get its output. */
int hd_test_ctl (char **out, char **err, const char *const *argv);

/* REST call on the daemon; returns the parsed body (caller decrefs) and sets *status. */
json_t *hd_test_rest (HdTestDaemon *d, const char *method, const char *path, const char *token,
                      const char *body, int *status);
/* PATCH hearing `hid`'s state with `token`; returns the HTTP status. */
int hd_test_set_state (HdTestDaemon *d, const char *token, const char *hid, const char *state);

/* Pop messages of `c` until one whose type is `type` arrives (others are dropped); NULL on
 * timeout. Caller decrefs. */
json_t *hd_test_ws_expect (HdWsContext *ctx, HdWsClient *c, const char *type, int ms);
