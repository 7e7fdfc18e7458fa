/* export.h — one playable file from a recording's segments: remuxed, never re-encoded. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One run of segment files, in order, holding a picture, a sound, or both (the composite's). */
typedef struct {
  const char *const *files; /* NULL-terminated */
  gboolean video, audio;
} HdExportSource;

/* Join each source's files, in order, and mux their streams into one WebM (Matroska with
 * `mkv`, for H.264) at `out`. A source's segments follow one another without gaps: a pause in
 * the recording is not a pause in the file. Blocks until done (call it off the main thread);
 * FALSE with a reason if a file cannot be read or written. */
gboolean hd_export_remux (const HdExportSource *sources, guint n_sources, gboolean mkv,
                          const char *out, GError **error);

G_END_DECLS
