/* recwriter.h — a running recording's archive writes (daemon/archive.c), on a thread of its own.
 *
 * Every write of a recording — its folder and first manifest, each closed segment (fsync'd,
 * hashed, chained), each event, note and participant, the closing signature — waits for the
 * archive's storage. Storage that stalls (a network share that stops answering, a frozen file
 * system) would hold up whichever thread wrote, and the main thread serves every hearing's
 * signaling and the REST API. So the main thread only queues what is to be written, with the
 * wall-clock time it happened, and one thread per recording writes it, in order; what the main
 * thread needs back (the catalogue's figures, failures, the end) comes back to it as callbacks.
 * All functions here are for the main thread; the callbacks run on it. */
#pragma once
#include "daemon/auth.h"

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

typedef struct HdRecWriter HdRecWriter;

typedef struct {
  /* The folder and first manifest are written (`error` NULL), or could not be (the writer then
   * writes nothing more; free it). */
  void (*on_created) (const char *error, gpointer user);
  /* A segment is in the hash chain: the recording's figures now. */
  void (*on_progress) (gint64 duration_ms, gint64 bytes, guint segments, gpointer user);
  /* A segment could not be added to the chain; a failure event is on the record already. */
  void (*on_segment_failed) (const char *file, const char *reason, gpointer user);
  /* Closed and signed (`error` NULL), or the closing write failed; the last figures. */
  void (*on_closed) (const char *status, const char *error, gint64 duration_ms, gint64 bytes,
                     guint segments, gpointer user);
} HdRecWriterCallbacks;

/* A new recording in `dir` (see hd_archive_create; `hearing` is copied). */
HdRecWriter *hd_recwriter_new (const char *dir, const char *recording_id, json_t *hearing,
                               HdSigner *signer, int checkpoint_every,
                               const HdRecWriterCallbacks *cb, gpointer user);
const char *hd_recwriter_dir (HdRecWriter *w);
const char *hd_recwriter_id (HdRecWriter *w);

/* Queued, in this order, each stamped with the wall-clock time of the call. */
void hd_recwriter_participant (HdRecWriter *w, const char *id, const char *name, const char *role);
void hd_recwriter_event (HdRecWriter *w, const char *type, gint64 offset_ms, const char *who,
                         const char *reason);
/* "start" for a recording with no segment yet, "resume" after one. */
void hd_recwriter_start_event (HdRecWriter *w, gint64 offset_ms, const char *who,
                               const char *reason);
void hd_recwriter_note (HdRecWriter *w, gint64 offset_ms, const char *author, const char *text);
void hd_recwriter_adopt_strays (HdRecWriter *w);
void hd_recwriter_segment (HdRecWriter *w, const char *track, const char *file, gint64 start_ms,
                           gint64 duration_ms);
void hd_recwriter_close (HdRecWriter *w, const char *status);

/* Everything queued is written (or failed): the storage answers. */
gboolean hd_recwriter_idle (HdRecWriter *w);

/* No more callbacks; what is queued is written first (this waits for it). */
void hd_recwriter_free (HdRecWriter *w);

G_END_DECLS
