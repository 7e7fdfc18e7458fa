/* archive.h — a recording's folder on disk: its segments, their SHA-256 hash chain, the
 * manifest (participants, events, notes, checkpoints) and its Ed25519 signature; and the
 * offline verification of all that. The format is docs/archive-format.md. One thread at a time
 * per recording: a running recording's writes are its writer's (daemon/recwriter.h). */
#pragma once
#include "daemon/auth.h"

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

#define HD_ARCHIVE_FORMAT "hearingd-archive/1"
#define HD_ARCHIVE_MANIFEST "manifest.json"
/* Segments closed since the manifest was last rewritten, one JSON entry per line (fsync'd). */
#define HD_ARCHIVE_JOURNAL "segments.journal"

typedef struct HdArchive HdArchive;

/* Start a recording in `dir` (created; must not hold a manifest yet). `hearing` (borrowed) is
 * copied into the manifest. A signed checkpoint is written every `checkpoint_every` segments. */
HdArchive *hd_archive_create (const char *dir, const char *recording_id, json_t *hearing,
                              HdSigner *signer, int checkpoint_every, GError **error);
const char *hd_archive_dir (HdArchive *a);
const char *hd_archive_id (HdArchive *a);
/* Milliseconds of media recorded so far (the sum of the composite's segment durations). */
gint64 hd_archive_duration_ms (HdArchive *a);
gint64 hd_archive_bytes (HdArchive *a);
guint hd_archive_segment_count (HdArchive *a);

/* A closed segment `file` (relative to the folder) of `track`: fsync'd (file and folder),
 * hashed, chained, and the manifest rewritten (atomically, fsync'd). */
gboolean hd_archive_add_segment (HdArchive *a, const char *track, const char *file, gint64 start_ms,
                                 gint64 duration_ms, GError **error);
/* An event on the record: start, pause, resume, stop, join, leave, mute, failure, gap… with the
 * wall-clock time it happened (`at_us`, g_get_real_time's µs; 0: now), the recording offset,
 * who (or NULL) and why (or NULL). */
void hd_archive_event (HdArchive *a, gint64 at_us, const char *type, gint64 offset_ms,
                       const char *who, const char *reason);
void hd_archive_participant (HdArchive *a, const char *id, const char *name, const char *role);
void hd_archive_note (HdArchive *a, gint64 at_us, gint64 offset_ms, const char *author,
                      const char *text);
/* Close with `status` ("closed" or "interrupted") and sign the whole manifest. */
/* The manifest of the recording in `dir` with the journal's segments after it (a recording
 * still running, or stopped by a crash). NULL with a reason if there is no readable manifest. */
json_t *hd_archive_load (const char *dir, GError **error);
/* The same, and the SHA-256 (hex) of the manifest file's bytes that were parsed. */
json_t *hd_archive_load_hashed (const char *dir, char **sha256, GError **error);

/* Unfinished segment files (a write that failed) are hashed and listed under "partial";
 * returns how many. */
guint hd_archive_adopt_strays (HdArchive *a);
gboolean hd_archive_close (HdArchive *a, gint64 at_us, const char *status, GError **error);
/* After a crash or power loss (status still "recording"): the listed segments stay as they are;
 * media files the manifest does not list (the segment that was being written) are kept and
 * flagged as "partial" with their hash; a "gap" event is written; the recording is marked
 * interrupted and signed. Returns the manifest (caller decrefs) or NULL. */
json_t *hd_archive_recover (const char *dir, HdSigner *signer, GError **error);
/* The manifest as it stands (borrowed). */
json_t *hd_archive_manifest (HdArchive *a);
void hd_archive_free (HdArchive *a);

/* Verification, offline: the folder and the daemon's public key (PEM) are all it needs. Every
 * problem is named ("segment 3 (composite/00003.webm): SHA-256 does not match", …). */
typedef struct {
  gboolean ok;
  gboolean signed_;    /* the manifest carries a valid signature (a closed recording) */
  guint segments;      /* segments listed and checked */
  GPtrArray *problems; /* char* */
} HdArchiveVerdict;

gboolean hd_archive_verify (const char *dir, const char *public_pem, HdArchiveVerdict *verdict,
                            GError **error);
void hd_archive_verdict_clear (HdArchiveVerdict *v);
/* The bytes a manifest's signature covers: canonical JSON (sorted keys, compact) of the
 * manifest without its "signature" member. Caller frees. */
char *hd_archive_canonical (json_t *manifest);

G_END_DECLS
