/* audit.h — the hash-chained audit log. Each row's SHA-256 covers its own fields and the
 * previous row's hash, so editing or deleting any row breaks the chain at that row; the chain's
 * head is also kept in audit_head so that dropping the newest rows is caught. Main thread. */
#pragma once

#include "daemon/store.h"

#include <glib.h>

G_BEGIN_DECLS

#define HD_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* Append one event. `actor` is who did it ("operator:p-…", "system", a participant id),
 * `action` a dotted verb ("hearing.create", "token.issue", "session.join", "session.refuse"),
 * `hearing_id` may be NULL, `detail_json` a JSON object text or NULL. */
gboolean hd_audit_append (HdStore *store, const char *actor, const char *action,
                          const char *hearing_id, const char *detail_json, GError **error);

typedef struct {
  gboolean ok;
  gint64 rows;
  gint64 first_bad_seq;   /* 0 when ok */
  char problem[160];      /* what is wrong at first_bad_seq */
  char head_hash[65];     /* hash of the newest row (genesis if empty) */
} HdAuditVerdict;

/* Walk the whole chain. FALSE only if the database cannot be read; the verdict says whether
 * the chain holds. */
gboolean hd_audit_verify (HdStore *store, HdAuditVerdict *verdict, GError **error);

G_END_DECLS
