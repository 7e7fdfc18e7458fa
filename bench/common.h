/* common.h — helpers shared by the benchmarks (bench/common.c). */
#pragma once

#include "tests/integration/harness.h"

#include <gio/gio.h>
#include <jansson.h>

extern HdTestDaemon *d; /* the daemon under measure */
extern char *op;        /* an operator token for it */

/* Enter a network namespace of our own with lo and a veth pair (10.77.0.1/24 on v0): all the
 * benchmark's media stays in it. Root only; FALSE if it cannot. */
gboolean private_network (void);
/* Run a shell command; TRUE if it exited 0. */
gboolean sh (const char *cmd);
/* A new hearing, open. Caller frees. */
char *new_hearing (void);
/* The benchmarks' participants count the composite's frames without decoding them and send a
 * picture and a tone encoded once before joining (hd-test-client --pre-encoded): they share the
 * two cores with the daemon, so the cheaper they are, the more the figures are the daemon's.
 * Their sound comes in 20 ms Opus frames, as browsers send it (and as bench-media's floor
 * receives it); the tests' clients send 10 ms. */
#define CLIENT_OPTS "--no-decode --size=640x360 --pre-encoded --audio-frame-ms=20"

/* A participant: the C test client with `extra` options (space-separated), living `seconds`. */
GSubprocess *client (const char *hid, int seconds, int freq, const char *extra);
/* Wait for a client and take its JSON report. */
json_t *finish (GSubprocess *p);
/* CPU seconds so far and resident KiB of a process. */
void pid_stat (const char *pid, double *cpu_s, long *rss_kib);
void proc_stat (GSubprocess *p, double *cpu_s, long *rss_kib);
/* A process's CPU over the next `seconds`, in % of one core (-1 if unreadable); its resident
 * KiB at the end into *rss_kib when given. */
double cpu_window (GSubprocess *p, double seconds, long *rss_kib);
/* Remove a run's temporary folder (its daemon stopped first). */
void remove_tree (const char *root);
/* Median of n values (sorts them); -1 for none. */
double median (double *v, int n);
/* Start hearingd ($HD_HEARINGD) with `env` on a state folder in a new temporary folder named
 * after `prefix`, into `d`, with an operator token in `op`. Returns the folder (caller frees). */
char *daemon_begin (const char *prefix, const char *const *env);
/* Stop `d` and remove the folder daemon_begin made. */
void daemon_end (const char *root);
