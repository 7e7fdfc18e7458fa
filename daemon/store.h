/* store.h — the SQLite catalogue: hearings, issued and revoked tokens, the audit table.
 * Versioned schema migrations run on open. One HdStore per thread (the daemon: main thread). */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define HD_STORE_ERROR (hd_store_error_quark ())
GQuark hd_store_error_quark (void);

typedef enum {
  HD_STORE_ERROR_SQL,       /* SQLite failed; the message says how */
  HD_STORE_ERROR_NOT_FOUND, /* no such row */
  HD_STORE_ERROR_EXISTS,    /* a row with that key exists */
  HD_STORE_ERROR_VERSION,   /* the database is newer than this program */
} HdStoreError;

typedef struct HdStore HdStore;

typedef struct {
  char *id;
  char *case_number;
  char *title;
  char *court;
  char *scheduled_start; /* RFC 3339 */
  char *visibility;      /* public | closed | sealed */
  char *state;           /* scheduled | open | in_session | recess | closed */
  char *created_at;
  char *updated_at;
} HdHearingRow;

void hd_hearing_row_free (HdHearingRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HdHearingRow, hd_hearing_row_free)

/* Open (creating) the database at `path` and migrate it to the newest schema. Caller owns. */
HdStore *hd_store_open (const char *path, GError **error);
/* Open and migrate only up to `version` (tests of migrations). */
HdStore *hd_store_open_at_version (const char *path, int version, GError **error);
void hd_store_close (HdStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HdStore, hd_store_close)

/* The schema version of the open database, and the newest this program knows. */
int hd_store_schema_version (HdStore *store);
int hd_store_schema_latest (void);
/* The raw handle, for audit.c. Borrowed. */
sqlite3 *hd_store_db (HdStore *store);

gboolean hd_store_hearing_add (HdStore *store, const HdHearingRow *row, GError **error);
/* Caller owns the returned row; NULL with HD_STORE_ERROR_NOT_FOUND if absent. */
HdHearingRow *hd_store_hearing_get (HdStore *store, const char *id, GError **error);
/* Rows filtered by state and/or case number (either may be NULL), newest first. Caller owns
 * the array (elements freed with it). */
GPtrArray *hd_store_hearing_list (HdStore *store, const char *state, const char *case_number,
                                  GError **error);
/* Write every field of `row` (by id); updated_at is set by the store. */
gboolean hd_store_hearing_update (HdStore *store, HdHearingRow *row, GError **error);

typedef struct {
  const char *jti, *hearing_id, *participant_id, *name, *role;
  gint64 issued_at, expires_at;
} HdTokenRecord;

gboolean hd_store_token_add (HdStore *store, const HdTokenRecord *rec, GError **error);
/* Mark revoked. NOT_FOUND if this store never issued that jti; revoking twice is no error. */
gboolean hd_store_token_revoke (HdStore *store, const char *jti, GError **error);
gboolean hd_store_token_is_revoked (HdStore *store, const char *jti);

/* Run `sql` (no results) inside the store; for migrations and tests. */
gboolean hd_store_exec (HdStore *store, const char *sql, GError **error);

/* Recordings catalogue. Each row points at a recording folder whose manifest is the evidence. */
gboolean hd_store_recording_add (HdStore *store, const char *id, const char *hearing_id,
                                 const char *case_number, const char *court, const char *dir,
                                 const char *started_at, GError **error);
/* `participants`: names, one per line, case-folded (searched by substring). */
gboolean hd_store_recording_update (HdStore *store, const char *id, const char *status,
                                    const char *ended_at, gint64 duration_ms, gint64 bytes,
                                    gint64 segments, const char *participants, GError **error);
typedef struct {
  const char *case_number, *status, *court, *hearing_id, *participant;
  const char *from, *to; /* ISO 8601 UTC bounds on started_at */
} HdRecordingQuery;
/* Newest first, at most 500; a JSON array of catalogue entries. */
json_t *hd_store_recording_list (HdStore *store, const HdRecordingQuery *q, GError **error);
json_t *hd_store_recording_get (HdStore *store, const char *id);
/* A legal hold on (or off) a recording: held, it cannot be deleted. */
gboolean hd_store_recording_hold (HdStore *store, const char *id, gboolean hold, const char *reason,
                                  GError **error);
/* The recording's files are gone: its row stays, status "deleted", for the record. */
gboolean hd_store_recording_deleted (HdStore *store, const char *id, const char *at,
                                     GError **error);

/* Grants: archivist `subject` (a token's sub) may read sealed hearing `hearing_id`'s recordings. */
gboolean hd_store_grant_add (HdStore *store, const char *hearing_id, const char *subject,
                             const char *by, const char *at, const char *reason, GError **error);
/* Rows removed (0 or 1), -1 on a database error. */
int hd_store_grant_remove (HdStore *store, const char *hearing_id, const char *subject);
gboolean hd_store_grant_exists (HdStore *store, const char *hearing_id, const char *subject);
json_t *hd_store_grant_list (HdStore *store, const char *hearing_id);

G_END_DECLS
