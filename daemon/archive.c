/* archive.c — see archive.h and docs/archive-format.md. */
#define G_LOG_DOMAIN "hd-archive"

#include "daemon/archive.h"
#include "daemon/util.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

struct HdArchive {
  char *dir, *id;
  HdSigner *signer;
  int checkpoint_every;
  json_t *manifest;      /* the whole manifest: rewritten on events, notes, checkpoints and close;
                            each segment in between is appended to the journal */
  gboolean journal_made; /* the journal file exists (its folder entry is fsync'd) */
  char *chain;           /* hex head of the hash chain */
  gint64 duration_ms, bytes;
};

/* chain_{-1}: a recording's chain starts from its format and id */
static char *
chain_seed (const char *id)
{
  g_autofree char *s = g_strdup_printf ("%s|%s", HD_ARCHIVE_FORMAT, id);
  return hd_sha256_hex (s, strlen (s));
}

static char *
chain_next (const char *prev, gint64 seq, const char *track, const char *file, gint64 bytes,
            const char *sha256)
{
  g_autofree char *s = g_strdup_printf ("%s|%" G_GINT64_FORMAT "|%s|%s|%" G_GINT64_FORMAT "|%s",
                                        prev, seq, track, file, bytes, sha256);
  return hd_sha256_hex (s, strlen (s));
}

static char *
checkpoint_text (const char *id, gint64 count, const char *chain)
{
  return g_strdup_printf ("%s checkpoint|%s|%" G_GINT64_FORMAT "|%s", HD_ARCHIVE_FORMAT, id, count,
                          chain);
}

static gboolean
fsync_path (const char *path, gboolean dir, GError **error)
{
  int fd = open (path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync (fd) != 0) {
    int err = errno;
    if (fd >= 0)
      close (fd);
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "fsync %s: %s", path,
                 g_strerror (err));
    return FALSE;
  }
  close (fd);
  return TRUE;
}

/* Write the manifest: a temporary file, fsync, rename over, fsync the folder. */
static gboolean
write_manifest (HdArchive *a, GError **error)
{
  g_autofree char *path = g_build_filename (a->dir, HD_ARCHIVE_MANIFEST, NULL);
  g_autofree char *tmp = g_strconcat (path, ".tmp", NULL);
  char *text = json_dumps (a->manifest, JSON_INDENT (1) | JSON_SORT_KEYS);
  if (!text) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: manifest cannot be written", path);
    return FALSE;
  }
  gboolean ok = g_file_set_contents_full (
      tmp, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, error);
  free (text);
  if (ok && g_rename (tmp, path) != 0) {
    int err = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "rename %s: %s", tmp,
                 g_strerror (err));
    ok = FALSE;
  }
  if (!ok || !fsync_path (a->dir, TRUE, error))
    return FALSE;
  /* everything the journal held is in the manifest now */
  g_autofree char *journal = g_build_filename (a->dir, HD_ARCHIVE_JOURNAL, NULL);
  if (a->journal_made && truncate (journal, 0) != 0 && errno != ENOENT)
    g_warning ("%s: cannot empty: %s", journal, g_strerror (errno));
  return TRUE;
}

/* One closed segment, appended to the journal and fsync'd: on disk before its hash counts. The
 * manifest is not rewritten for it (that grew with the recording: a 3-hour hearing's manifest
 * rewritten for every segment of every track would be written megabytes at a time). */
static gboolean
journal_append (HdArchive *a, json_t *entry, GError **error)
{
  g_autofree char *path = g_build_filename (a->dir, HD_ARCHIVE_JOURNAL, NULL);
  char *line = json_dumps (entry, JSON_COMPACT | JSON_SORT_KEYS);
  g_autofree char *text = g_strconcat (line, "\n", NULL);
  free (line);
  int fd = g_open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  gsize n = strlen (text);
  gboolean ok = fd >= 0 && write (fd, text, n) == (gssize)n && fsync (fd) == 0;
  int err = errno;
  if (fd >= 0)
    close (fd);
  if (!ok) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "%s: %s", path,
                 g_strerror (err));
    return FALSE;
  }
  if (!a->journal_made) {
    a->journal_made = TRUE;
    return fsync_path (a->dir, TRUE, error);
  }
  return TRUE;
}

json_t *
hd_archive_load (const char *dir, GError **error)
{
  return hd_archive_load_hashed (dir, NULL, error);
}

json_t *
hd_archive_load_hashed (const char *dir, char **sha256, GError **error)
{
  g_autofree char *mpath = g_build_filename (dir, HD_ARCHIVE_MANIFEST, NULL);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  if (!g_file_get_contents (mpath, &bytes, &len, error))
    return NULL;
  json_error_t je;
  json_t *m = json_loadb (bytes, len, JSON_REJECT_DUPLICATES, &je);
  if (!m) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a readable manifest: %s", mpath,
                 je.text);
    return NULL;
  }
  if (sha256) /* of the very bytes parsed: a rewrite after them cannot come between */
    *sha256 = hd_sha256_hex (bytes, len);
  json_t *segs = json_object_get (m, "segments");
  g_autofree char *jpath = g_build_filename (dir, HD_ARCHIVE_JOURNAL, NULL);
  g_autofree char *text = NULL;
  if (!json_is_array (segs) || !g_file_get_contents (jpath, &text, NULL, NULL))
    return m;
  /* entries in order after the manifest's; a line cut short by a crash ends it */
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l && **l; l++) {
    json_t *e = json_loads (*l, JSON_REJECT_DUPLICATES, NULL);
    json_int_t seq = json_integer_value (json_object_get (e, "seq"));
    if (!json_is_object (e) || seq > (json_int_t)json_array_size (segs)) {
      json_decref (e);
      break;
    }
    if (seq == (json_int_t)json_array_size (segs))
      json_array_append_new (segs, e);
    else
      json_decref (e); /* already in the manifest */
  }
  return m;
}

char *
hd_archive_canonical (json_t *manifest)
{
  json_t *copy = json_deep_copy (manifest);
  json_object_del (copy, "signature");
  char *text = json_dumps (copy, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (copy);
  return text;
}

HdArchive *
hd_archive_create (const char *dir, const char *recording_id, json_t *hearing, HdSigner *signer,
                   int checkpoint_every, GError **error)
{
  g_autofree char *manifest = g_build_filename (dir, HD_ARCHIVE_MANIFEST, NULL);
  if (g_mkdir_with_parents (dir, 0750) != 0) {
    int err = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "cannot create %s: %s", dir,
                 g_strerror (err));
    return NULL;
  }
  if (g_file_test (manifest, G_FILE_TEST_EXISTS)) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST, "%s already holds a recording", dir);
    return NULL;
  }
  HdArchive *a = g_new0 (HdArchive, 1);
  a->dir = g_strdup (dir);
  a->id = g_strdup (recording_id);
  a->signer = signer;
  a->checkpoint_every = MAX (checkpoint_every, 1);
  a->chain = chain_seed (recording_id);
  g_autofree char *now = hd_time_iso (g_get_real_time ());
  a->manifest = json_pack ("{s:s, s:s, s:O?, s:s, s:s, s:n, s:[], s:[], s:[], s:[], s:[]}",
                           "format", HD_ARCHIVE_FORMAT, "recording", recording_id, "hearing",
                           hearing, "status", "recording", "started_at", now, "ended_at",
                           "participants", "segments", "events", "notes", "checkpoints");
  if (!write_manifest (a, error)) {
    hd_archive_free (a);
    return NULL;
  }
  return a;
}

const char *
hd_archive_dir (HdArchive *a)
{
  return a->dir;
}

const char *
hd_archive_id (HdArchive *a)
{
  return a->id;
}

gint64
hd_archive_duration_ms (HdArchive *a)
{
  return a->duration_ms;
}

gint64
hd_archive_bytes (HdArchive *a)
{
  return a->bytes;
}

guint
hd_archive_segment_count (HdArchive *a)
{
  return (guint)json_array_size (json_object_get (a->manifest, "segments"));
}

json_t *
hd_archive_manifest (HdArchive *a)
{
  return a->manifest;
}

gboolean
hd_archive_add_segment (HdArchive *a, const char *track, const char *file, gint64 start_ms,
                        gint64 duration_ms, GError **error)
{
  g_autofree char *path = g_build_filename (a->dir, file, NULL);
  g_autofree char *folder = g_path_get_dirname (path);
  /* on disk for good before its hash goes into the chain */
  if (!fsync_path (path, FALSE, error) || !fsync_path (folder, TRUE, error))
    return FALSE;
  gint64 bytes = 0;
  g_autofree char *sha = hd_sha256_file (path, &bytes);
  if (!sha) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_IO, "cannot read %s", path);
    return FALSE;
  }
  json_t *segs = json_object_get (a->manifest, "segments");
  gint64 seq = (gint64)json_array_size (segs);
  char *chain = chain_next (a->chain, seq, track, file, bytes, sha);
  g_free (a->chain);
  a->chain = chain;
  json_t *entry = json_pack ("{s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "seq", (json_int_t)seq,
                             "track", track, "file", file, "bytes", (json_int_t)bytes, "start_ms",
                             (json_int_t)start_ms, "duration_ms", (json_int_t)duration_ms, "sha256",
                             sha, "chain", chain);
  json_array_append (segs, entry);
  gboolean journaled = journal_append (a, entry, error);
  json_decref (entry);
  a->bytes += bytes;
  if (g_str_equal (track, "composite"))
    a->duration_ms += duration_ms;
  if ((seq + 1) % a->checkpoint_every == 0) {
    g_autofree char *text = checkpoint_text (a->id, seq + 1, chain);
    g_autofree char *sig = hd_signer_sign_b64 (a->signer, text, strlen (text));
    g_autofree char *at = hd_time_iso (g_get_real_time ());
    json_array_append_new (json_object_get (a->manifest, "checkpoints"),
                           json_pack ("{s:I, s:s, s:s, s:s}", "segments", (json_int_t)(seq + 1),
                                      "chain", chain, "at", at, "signature", sig));
    return write_manifest (a, error); /* the checkpoint, and the journal folded in */
  }
  return journaled;
}

/* The wall-clock time `at_us` (µs; 0: now) as the manifest writes it. */
static char *
iso_at (gint64 at_us)
{
  return hd_time_iso (at_us ? at_us : g_get_real_time ());
}

void
hd_archive_event (HdArchive *a, gint64 at_us, const char *type, gint64 offset_ms, const char *who,
                  const char *reason)
{
  g_autofree char *at = iso_at (at_us);
  json_array_append_new (json_object_get (a->manifest, "events"),
                         json_pack ("{s:s, s:s, s:I, s:s?, s:s?}", "type", type, "at", at,
                                    "offset_ms", (json_int_t)offset_ms, "who", who, "reason",
                                    reason));
  g_autoptr (GError) e = NULL;
  if (!write_manifest (a, &e))
    g_warning ("recording %s: %s", a->id, e->message);
}

void
hd_archive_participant (HdArchive *a, const char *id, const char *name, const char *role)
{
  json_t *list = json_object_get (a->manifest, "participants");
  for (size_t i = 0; i < json_array_size (list); i++)
    if (!g_strcmp0 (json_string_value (json_object_get (json_array_get (list, i), "id")), id))
      return;
  json_array_append_new (list, json_pack ("{s:s, s:s, s:s}", "id", id, "name", name, "role", role));
}

void
hd_archive_note (HdArchive *a, gint64 at_us, gint64 offset_ms, const char *author, const char *text)
{
  g_autofree char *at = iso_at (at_us);
  json_array_append_new (json_object_get (a->manifest, "notes"),
                         json_pack ("{s:s, s:I, s:s, s:s}", "at", at, "offset_ms",
                                    (json_int_t)offset_ms, "author", author, "text", text));
  g_autoptr (GError) e = NULL;
  if (!write_manifest (a, &e))
    g_warning ("recording %s: %s", a->id, e->message);
}

gboolean
hd_archive_close (HdArchive *a, gint64 at_us, const char *status, GError **error)
{
  g_autofree char *now = iso_at (at_us);
  json_object_set_new (a->manifest, "status", json_string (status));
  json_object_set_new (a->manifest, "ended_at", json_string (now));
  json_object_set_new (a->manifest, "chain", json_string (a->chain));
  char *canon = hd_archive_canonical (a->manifest);
  char *sig = hd_signer_sign_b64 (a->signer, canon, strlen (canon));
  json_object_set_new (a->manifest, "signature", json_string (sig));
  free (canon);
  g_free (sig);
  if (!write_manifest (a, error))
    return FALSE;
  g_autofree char *journal = g_build_filename (a->dir, HD_ARCHIVE_JOURNAL, NULL);
  g_unlink (journal); /* closed: the manifest holds everything */
  return fsync_path (a->dir, TRUE, error);
}

void
hd_archive_free (HdArchive *a)
{
  if (!a)
    return;
  json_decref (a->manifest);
  g_free (a->dir);
  g_free (a->id);
  g_free (a->chain);
  g_free (a);
}

/* ---------------------------------------------------------------- recovery */

static void list_media (const char *root, const char *rel, GHashTable *out);

/* Media files in `dir` that manifest `m` neither lists as segments nor as partial: unfinished
 * segments (a kill, a failed write). Each is hashed and listed under "partial", outside the
 * chain. Returns how many were added. */
static guint
adopt_strays (const char *dir, json_t *m)
{
  GHashTable *listed = g_hash_table_new (g_str_hash, g_str_equal);
  const char *lists[] = { "segments", "partial" };
  for (guint l = 0; l < 2; l++) {
    json_t *arr = json_object_get (m, lists[l]);
    for (size_t i = 0; i < json_array_size (arr); i++)
      g_hash_table_add (
          listed, (gpointer)json_string_value (json_object_get (json_array_get (arr, i), "file")));
  }
  json_t *partial = json_object_get (m, "partial");
  if (!json_is_array (partial)) {
    partial = json_array ();
    json_object_set_new (m, "partial", partial);
  }
  GHashTable *present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  list_media (dir, NULL, present);
  guint added = 0;
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, present);
  while (g_hash_table_iter_next (&it, &k, NULL)) {
    if (g_hash_table_contains (listed, k))
      continue;
    g_autofree char *path = g_build_filename (dir, (char *)k, NULL);
    gint64 bytes = 0;
    g_autofree char *sha = hd_sha256_file (path, &bytes);
    if (sha) {
      json_array_append_new (partial, json_pack ("{s:s, s:I, s:s}", "file", (char *)k, "bytes",
                                                 (json_int_t)bytes, "sha256", sha));
      added++;
    }
  }
  g_hash_table_unref (present);
  g_hash_table_unref (listed);
  return added;
}

guint
hd_archive_adopt_strays (HdArchive *a)
{
  guint n = adopt_strays (a->dir, a->manifest);
  if (n) {
    g_autoptr (GError) e = NULL;
    if (!write_manifest (a, &e))
      g_warning ("recording %s: %s", a->id, e->message);
  }
  return n;
}

json_t *
hd_archive_recover (const char *dir, HdSigner *signer, GError **error)
{
  g_autofree char *mpath = g_build_filename (dir, HD_ARCHIVE_MANIFEST, NULL);
  json_t *m = hd_archive_load (dir, error); /* with the journal's segments */
  if (!m)
    return NULL;
  HdArchive a = { .dir = (char *)dir, .signer = signer, .manifest = m, .journal_made = TRUE };
  a.id = (char *)json_string_value (json_object_get (m, "recording"));
  json_t *segs = json_object_get (m, "segments");
  if (!a.id || !json_is_array (segs)) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a %s manifest", mpath,
                 HD_ARCHIVE_FORMAT);
    json_decref (m);
    return NULL;
  }
  GHashTable *listed = g_hash_table_new (g_str_hash, g_str_equal);
  gint64 end_ms = 0;
  for (size_t i = 0; i < json_array_size (segs); i++) {
    json_t *sg = json_array_get (segs, i);
    g_hash_table_add (listed, (gpointer)json_string_value (json_object_get (sg, "file")));
    end_ms = MAX (end_ms, json_integer_value (json_object_get (sg, "start_ms"))
                              + json_integer_value (json_object_get (sg, "duration_ms")));
  }
  json_t *last = json_array_get (segs, json_array_size (segs) - 1);
  a.chain
      = last ? g_strdup (json_string_value (json_object_get (last, "chain"))) : chain_seed (a.id);
  /* the segment that was open: kept, hashed, flagged, outside the chain */
  g_hash_table_unref (listed);
  guint kept = adopt_strays (dir, m);
  g_autofree char *why = g_strdup_printf (
      "the daemon stopped without closing the recording (killed or power lost); recovered at "
      "start-up; %u unfinished segment(s) kept as partial",
      kept);
  g_autofree char *at = hd_time_iso (g_get_real_time ());
  json_array_append_new (json_object_get (m, "events"),
                         json_pack ("{s:s, s:s, s:I, s:n, s:s}", "type", "gap", "at", at,
                                    "offset_ms", (json_int_t)end_ms, "who", "reason", why));
  gboolean ok = hd_archive_close (&a, 0, "interrupted", error);
  g_free (a.chain);
  if (!ok) {
    json_decref (m);
    return NULL;
  }
  return m;
}

/* ---------------------------------------------------------------- verification */

static void problem (HdArchiveVerdict *v, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
problem (HdArchiveVerdict *v, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_ptr_array_add (v->problems, g_strdup_vprintf (fmt, ap));
  va_end (ap);
  v->ok = FALSE;
}

/* Every media file under the folder, relative ("composite/00001.webm"). */
static void
list_media (const char *root, const char *rel, GHashTable *out)
{
  g_autofree char *path = rel ? g_build_filename (root, rel, NULL) : g_strdup (root);
  GDir *d = g_dir_open (path, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *r = rel ? g_build_filename (rel, name, NULL) : g_strdup (name);
    g_autofree char *full = g_build_filename (root, r, NULL);
    if (g_file_test (full, G_FILE_TEST_IS_DIR))
      list_media (root, r, out);
    else if (g_str_has_suffix (name, ".webm") || g_str_has_suffix (name, ".mkv"))
      g_hash_table_add (out, g_steal_pointer (&r));
  }
  if (d)
    g_dir_close (d);
}

gboolean
hd_archive_verify (const char *dir, const char *public_pem, HdArchiveVerdict *v, GError **error)
{
  memset (v, 0, sizeof *v);
  v->ok = TRUE;
  v->problems = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *mpath = g_build_filename (dir, HD_ARCHIVE_MANIFEST, NULL);
  json_t *m = hd_archive_load (dir, error);
  if (!m)
    return FALSE;
  const char *id = json_string_value (json_object_get (m, "recording"));
  json_t *segs = json_object_get (m, "segments");
  if (g_strcmp0 (json_string_value (json_object_get (m, "format")), HD_ARCHIVE_FORMAT) || !id
      || !json_is_array (segs)) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a %s manifest", mpath,
                 HD_ARCHIVE_FORMAT);
    json_decref (m);
    return FALSE;
  }
  /* the signature covers every entry of a closed recording */
  const char *sig = json_string_value (json_object_get (m, "signature"));
  const char *status = json_string_value (json_object_get (m, "status"));
  if (sig) {
    char *canon = hd_archive_canonical (m);
    v->signed_ = hd_ed25519_verify (public_pem, canon, strlen (canon), sig);
    free (canon);
    if (!v->signed_)
      problem (v, "manifest: the signature does not verify (an entry was edited, or another "
                  "key signed it)");
  } else if (!g_strcmp0 (status, "closed")) {
    problem (v, "manifest: closed but not signed");
  }
  /* the chain, entry by entry; the files behind them */
  g_autofree char *chain = chain_seed (id);
  GHashTable *listed = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTable *chains = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  for (size_t i = 0; i < json_array_size (segs); i++) {
    json_t *s = json_array_get (segs, i);
    json_int_t seq = json_integer_value (json_object_get (s, "seq"));
    const char *track = json_string_value (json_object_get (s, "track"));
    const char *file = json_string_value (json_object_get (s, "file"));
    json_int_t bytes = json_integer_value (json_object_get (s, "bytes"));
    const char *sha = json_string_value (json_object_get (s, "sha256"));
    const char *claimed = json_string_value (json_object_get (s, "chain"));
    if (!track || !file || !sha || !claimed || strstr (file, "..") || g_path_is_absolute (file)) {
      problem (v, "segment entry %zu: malformed", i);
      continue;
    }
    if (seq != (json_int_t)i)
      problem (v,
               "segment %zu (%s): listed as sequence %" JSON_INTEGER_FORMAT
               "; entries reordered or removed",
               i, file, seq);
    g_autofree char *next = chain_next (chain, (gint64)i, track, file, bytes, sha);
    if (g_strcmp0 (next, claimed))
      problem (v,
               "segment %zu (%s): chain hash does not follow from the one before; the "
               "entry was edited, or entries were reordered, removed or inserted",
               i, file);
    g_free (chain);
    chain = g_strdup (claimed); /* go on from what is claimed, to name each break once */
    g_hash_table_insert (chains, GSIZE_TO_POINTER (i + 1), g_strdup (claimed));
    g_hash_table_add (listed, (gpointer)file);
    g_autofree char *path = g_build_filename (dir, file, NULL);
    gint64 size = 0;
    g_autofree char *actual = hd_sha256_file (path, &size);
    if (!actual)
      problem (v, "segment %zu (%s): file missing", i, file);
    else if (size != bytes)
      problem (v,
               "segment %zu (%s): %" G_GINT64_FORMAT
               " bytes, the manifest says %" JSON_INTEGER_FORMAT " (truncated or replaced)",
               i, file, size, bytes);
    else if (g_strcmp0 (actual, sha))
      problem (v, "segment %zu (%s): SHA-256 does not match (altered or replaced)", i, file);
    v->segments++;
  }
  if (sig && g_strcmp0 (json_string_value (json_object_get (m, "chain")), chain))
    problem (v, "manifest: the chain head does not match the last segment");
  /* signed checkpoints: the chain as it stood every N segments */
  json_t *cps = json_object_get (m, "checkpoints");
  for (size_t i = 0; i < json_array_size (cps); i++) {
    json_t *c = json_array_get (cps, i);
    json_int_t n = json_integer_value (json_object_get (c, "segments"));
    const char *cchain = json_string_value (json_object_get (c, "chain"));
    g_autofree char *text = checkpoint_text (id, n, cchain ? cchain : "");
    if (!hd_ed25519_verify (public_pem, text, strlen (text),
                            json_string_value (json_object_get (c, "signature"))))
      problem (v, "checkpoint %zu (%" JSON_INTEGER_FORMAT " segments): signature does not verify",
               i, n);
    else if (g_strcmp0 (g_hash_table_lookup (chains, GSIZE_TO_POINTER ((gsize)n)), cchain))
      problem (v,
               "checkpoint %zu: the first %" JSON_INTEGER_FORMAT " segments are not the ones "
               "signed (edited, removed or reordered)",
               i, n);
  }
  /* segments left unfinished by a crash, flagged at recovery: known, and checked */
  json_t *partial = json_object_get (m, "partial");
  for (size_t i = 0; i < json_array_size (partial); i++) {
    json_t *pe = json_array_get (partial, i);
    const char *file = json_string_value (json_object_get (pe, "file"));
    if (!file || strstr (file, "..") || g_path_is_absolute (file)) {
      problem (v, "partial entry %zu: malformed", i);
      continue;
    }
    g_hash_table_add (listed, (gpointer)file);
    g_autofree char *path = g_build_filename (dir, file, NULL);
    gint64 size = 0;
    g_autofree char *actual = hd_sha256_file (path, &size);
    if (!actual || g_strcmp0 (actual, json_string_value (json_object_get (pe, "sha256"))))
      problem (v, "partial segment %s: missing or altered since recovery", file);
  }
  /* media files nobody listed */
  GHashTable *present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  list_media (dir, NULL, present);
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, present);
  while (g_hash_table_iter_next (&it, &k, NULL))
    if (!g_hash_table_contains (listed, k))
      problem (v, "%s: a media file that the manifest does not list (added)", (char *)k);
  g_hash_table_unref (present);
  g_hash_table_unref (listed);
  g_hash_table_unref (chains);
  json_decref (m);
  return TRUE;
}

void
hd_archive_verdict_clear (HdArchiveVerdict *v)
{
  if (v->problems)
    g_ptr_array_unref (v->problems);
  memset (v, 0, sizeof *v);
}
