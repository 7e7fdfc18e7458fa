/* Unit tests of the archive: a recording's segments, hash chain, checkpoints and signed
 * manifest, and verification that names every kind of tampering: a flipped byte, a truncated,
 * deleted, reordered, replaced or added segment, an edited manifest entry, another key. */
#include "daemon/archive.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static const guint8 seed[32] = { 42 };

typedef struct {
  char *dir;
  HdSigner *signer;
  char *pub;
} Fix;

static void
write_file (const char *dir, const char *rel, const char *content, gsize len)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *folder = g_path_get_dirname (path);
  g_mkdir_with_parents (folder, 0755);
  g_assert_true (g_file_set_contents (path, content, (gssize)len, NULL));
}

/* A closed recording of 3 composite and 2 participant segments, checkpoints every 2. */
static void
fix_setup (Fix *f, gconstpointer data)
{
  g_autofree char *tmp = g_dir_make_tmp ("hd-archive-XXXXXX", NULL);
  f->dir = g_build_filename (tmp, "rec", NULL);
  f->signer = hd_signer_new_from_seed (seed);
  f->pub = hd_signer_public_pem (f->signer);
  json_t *hearing = json_pack ("{s:s, s:s}", "id", "h-1", "case_number", "(2026)浙0109民初1号");
  g_autoptr (GError) e = NULL;
  HdArchive *a = hd_archive_create (f->dir, "r-1", hearing, f->signer, 2, &e);
  json_decref (hearing);
  g_assert_no_error (e);
  hd_archive_participant (a, "p-1", "Wang", "party");
  hd_archive_event (a, 0, "start", 0, NULL, "session opened");
  const char *files[][2] = { { "composite", "composite/00000.webm" },
                             { "p-1-audio", "p-1-audio/00000.webm" },
                             { "composite", "composite/00001.webm" },
                             { "p-1-audio", "p-1-audio/00001.webm" },
                             { "composite", "composite/00002.webm" } };
  for (int i = 0; i < 5; i++) {
    g_autofree char *fill = g_strnfill (100 + i, 'x');
    g_autofree char *content = g_strdup_printf ("segment %d %s", i, fill);
    write_file (f->dir, files[i][1], content, strlen (content));
    g_assert_true (hd_archive_add_segment (a, files[i][0], files[i][1], i * 2000, 2000, &e));
    g_assert_no_error (e);
  }
  hd_archive_note (a, 0, 2500, "Clerk Li", "Exhibit 3 shown");
  hd_archive_event (a, 0, "stop", 6000, "j-1", "hearing closed");
  g_assert_cmpint (hd_archive_duration_ms (a), ==, 6000);
  g_assert_true (hd_archive_close (a, 0, "closed", &e));
  hd_archive_free (a);
}

static void
fix_teardown (Fix *f, gconstpointer data)
{
  g_autofree char *parent = g_path_get_dirname (f->dir);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", parent);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (f->dir);
  g_free (f->pub);
  hd_signer_free (f->signer);
}

/* Verify and expect exactly the problems containing each of `needles` (NULL-terminated). */
static void
expect (Fix *f, const char *pub, const char *const *needles)
{
  HdArchiveVerdict v;
  g_autoptr (GError) e = NULL;
  g_assert_true (hd_archive_verify (f->dir, pub ? pub : f->pub, &v, &e));
  g_assert_no_error (e);
  for (guint i = 0; i < v.problems->len; i++)
    g_test_message ("problem: %s", (char *)v.problems->pdata[i]);
  if (!needles || !needles[0]) {
    g_assert_true (v.ok);
    g_assert_true (v.signed_);
    g_assert_cmpuint (v.problems->len, ==, 0);
  } else {
    g_assert_false (v.ok);
    for (const char *const *n = needles; *n; n++) {
      gboolean found = FALSE;
      for (guint i = 0; i < v.problems->len; i++)
        found |= strstr (v.problems->pdata[i], *n) != NULL;
      if (!found)
        g_error ("no problem mentions \"%s\"", *n);
    }
  }
  hd_archive_verdict_clear (&v);
}

static json_t *
load (Fix *f)
{
  g_autofree char *p = g_build_filename (f->dir, HD_ARCHIVE_MANIFEST, NULL);
  return json_load_file (p, 0, NULL);
}

static void
save (Fix *f, json_t *m)
{
  g_autofree char *p = g_build_filename (f->dir, HD_ARCHIVE_MANIFEST, NULL);
  g_assert_cmpint (json_dump_file (m, p, JSON_INDENT (1)), ==, 0);
  json_decref (m);
}

static void
test_intact (Fix *f, gconstpointer data)
{
  expect (f, NULL, NULL);
  json_t *m = load (f);
  g_assert_cmpstr (json_string_value (json_object_get (m, "status")), ==, "closed");
  g_assert_cmpuint (json_array_size (json_object_get (m, "checkpoints")), ==, 2);
  g_assert_cmpuint (json_array_size (json_object_get (m, "notes")), ==, 1);
  json_t *s0 = json_array_get (json_object_get (m, "segments"), 0);
  g_assert_cmpint (json_integer_value (json_object_get (s0, "bytes")), ==,
                   110); /* "segment 0 " and 100 x */
  g_assert_cmpuint (strlen (json_string_value (json_object_get (s0, "sha256"))), ==, 64);
  json_decref (m);
  /* another daemon's key */
  static const guint8 other[32] = { 1 };
  g_autoptr (HdSigner) s = hd_signer_new_from_seed (other);
  g_autofree char *pub = hd_signer_public_pem (s);
  expect (f, pub, (const char *const[]){ "signature does not verify", NULL });
}

static void
test_flipped_byte (Fix *f, gconstpointer data)
{
  g_autofree char *p = g_build_filename (f->dir, "composite/00001.webm", NULL);
  g_autofree char *c = NULL;
  gsize n;
  g_assert_true (g_file_get_contents (p, &c, &n, NULL));
  c[5] ^= 1;
  g_assert_true (g_file_set_contents (p, c, (gssize)n, NULL));
  expect (f, NULL, (const char *const[]){ "segment 2 (composite/00001.webm): SHA-256", NULL });
}

/* One bit flipped at a random place of a random file (segment or manifest), 100 times: every
 * flip is found, a segment's by its name; the file is restored before the next. */
static void
test_hundred_flips (Fix *f, gconstpointer data)
{
  static const char *const files[]
      = { "composite/00000.webm", "p-1-audio/00000.webm", "composite/00001.webm",
          "p-1-audio/00001.webm", "composite/00002.webm", HD_ARCHIVE_MANIFEST };
  guint manifest_flips = 0;
  for (int k = 0; k < 100; k++) {
    const char *rel = files[g_test_rand_int_range (0, G_N_ELEMENTS (files))];
    gboolean manifest = g_str_equal (rel, HD_ARCHIVE_MANIFEST);
    g_autofree char *p = g_build_filename (f->dir, rel, NULL);
    g_autofree char *orig = NULL;
    gsize n;
    g_assert_true (g_file_get_contents (p, &orig, &n, NULL));
    g_autofree char *c = g_memdup2 (orig, n);
    gsize at = (gsize)g_test_rand_int_range (0, (gint32)n);
    c[at] ^= (char)(1u << g_test_rand_int_range (0, 8));
    g_assert_true (g_file_set_contents (p, c, (gssize)n, NULL));
    HdArchiveVerdict v;
    g_autoptr (GError) e = NULL;
    if (hd_archive_verify (f->dir, f->pub, &v, &e)) {
      g_assert_false (v.ok);
      gboolean named = FALSE;
      for (guint i = 0; i < v.problems->len; i++)
        named = named || strstr (v.problems->pdata[i], rel) != NULL;
      /* a flip in the manifest is found by what it broke: an entry, the chain, the signature */
      g_assert_true (named || manifest);
      hd_archive_verdict_clear (&v);
    } else { /* the manifest no longer parses: refused as unreadable, which is found too */
      g_assert_true (manifest);
      g_assert_nonnull (e);
    }
    manifest_flips += manifest;
    g_assert_true (g_file_set_contents (p, orig, (gssize)n, NULL));
  }
  g_test_message ("100 flips (%u in the manifest): all found", manifest_flips);
  expect (f, NULL, NULL); /* and restored, it is intact again */
}

static void
test_truncated_deleted_added (Fix *f, gconstpointer data)
{
  g_autofree char *p = g_build_filename (f->dir, "p-1-audio/00000.webm", NULL);
  g_assert_cmpint (truncate (p, 10), ==, 0);
  g_autofree char *q = g_build_filename (f->dir, "composite/00002.webm", NULL);
  g_assert_cmpint (g_unlink (q), ==, 0);
  write_file (f->dir, "composite/00003.webm", "extra", 5);
  expect (f, NULL,
          (const char *const[]){
              "segment 1 (p-1-audio/00000.webm): 10 bytes",
              "segment 4 (composite/00002.webm): file missing",
              "composite/00003.webm: a media file that the manifest does not list", NULL });
}

static void
test_replaced (Fix *f, gconstpointer data)
{
  /* one segment's file copied over another's: a well-formed segment, the wrong one */
  g_autofree char *a = g_build_filename (f->dir, "composite/00000.webm", NULL);
  g_autofree char *b = g_build_filename (f->dir, "composite/00001.webm", NULL);
  g_autofree char *c = NULL;
  gsize n;
  g_assert_true (g_file_get_contents (a, &c, &n, NULL));
  g_assert_true (g_file_set_contents (b, c, (gssize)n, NULL));
  expect (f, NULL, (const char *const[]){ "segment 2 (composite/00001.webm)", NULL });
}

static void
test_reordered_and_removed_entries (Fix *f, gconstpointer data)
{
  json_t *m = load (f);
  json_t *segs = json_object_get (m, "segments");
  json_t *s0 = json_incref (json_array_get (segs, 0));
  json_array_remove (segs, 0);
  json_array_insert_new (segs, 2, s0);
  save (f, m);
  expect (f, NULL, (const char *const[]){ "reordered", "signature does not verify", NULL });
  m = load (f);
  json_array_remove (json_object_get (m, "segments"), 2);
  save (f, m);
  expect (f, NULL, (const char *const[]){ "signature does not verify", NULL });
}

static void
test_edited_entry (Fix *f, gconstpointer data)
{
  /* a forger edits a note and the events: the signature catches it */
  json_t *m = load (f);
  json_t *note = json_array_get (json_object_get (m, "notes"), 0);
  json_object_set_new (note, "text", json_string ("Exhibit 4 shown"));
  save (f, m);
  expect (f, NULL, (const char *const[]){ "manifest: the signature does not verify", NULL });
  /* a forger who drops the signature to pass as a recording still running: the signed
   * checkpoints still pin the segments */
  m = load (f);
  json_object_del (m, "signature");
  json_object_set_new (m, "status", json_string ("recording"));
  json_t *s1 = json_array_get (json_object_get (m, "segments"), 1);
  json_object_set_new (s1, "duration_ms", json_integer (9999));
  g_autofree char *forged = g_strnfill (64, 'a');
  json_object_set_new (s1, "sha256", json_string (forged));
  save (f, m);
  expect (f, NULL, (const char *const[]){ "segment 1 (p-1-audio/00000.webm): chain hash", NULL });
}

static void
test_refusals (Fix *f, gconstpointer data)
{
  g_autoptr (GError) e = NULL;
  g_assert_null (hd_archive_create (f->dir, "r-2", NULL, f->signer, 2, &e));
  g_assert_error (e, G_FILE_ERROR, G_FILE_ERROR_EXIST);
  g_clear_error (&e);
  HdArchiveVerdict v;
  g_assert_false (hd_archive_verify ("/nonexistent", f->pub, &v, &e));
  g_assert_nonnull (e);
  hd_archive_verdict_clear (&v);
  g_autofree char *p = g_build_filename (f->dir, HD_ARCHIVE_MANIFEST, NULL);
  g_assert_true (g_file_set_contents (p, "{\"format\":\"other\"}", -1, NULL));
  g_clear_error (&e);
  g_assert_false (hd_archive_verify (f->dir, f->pub, &v, &e));
  g_assert_nonnull (strstr (e->message, "not a hearingd-archive/1 manifest"));
  hd_archive_verdict_clear (&v);
}

/* SIGKILL in the middle of a segment: the closed segments stay verified, the open one is kept
 * and flagged, the recording is marked interrupted with the gap and signed. */
static void
test_recover_after_crash (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("hd-archive-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "rec", NULL);
  g_autoptr (HdSigner) signer = hd_signer_new_from_seed (seed);
  g_autofree char *pub = hd_signer_public_pem (signer);
  g_autoptr (GError) e = NULL;
  HdArchive *a = hd_archive_create (dir, "r-9", NULL, signer, 3, &e);
  g_assert_no_error (e);
  for (int i = 0; i < 2; i++) {
    g_autofree char *rel = g_strdup_printf ("composite/00-%05d.webm", i);
    write_file (dir, rel, "closed segment", 14);
    g_assert_true (hd_archive_add_segment (a, "composite", rel, i * 2000, 2000, &e));
  }
  write_file (dir, "composite/00-00002.webm", "half a segm", 11); /* being written: killed */
  hd_archive_free (a);                                            /* no close: as after SIGKILL */
  HdArchiveVerdict v;
  g_assert_true (hd_archive_verify (dir, pub, &v, &e));
  g_assert_false (v.ok); /* before recovery the open segment is an unlisted file */
  hd_archive_verdict_clear (&v);
  json_t *m = hd_archive_recover (dir, signer, &e);
  g_assert_no_error (e);
  g_assert_cmpstr (json_string_value (json_object_get (m, "status")), ==, "interrupted");
  json_t *partial = json_object_get (m, "partial");
  g_assert_cmpuint (json_array_size (partial), ==, 1);
  g_assert_cmpstr (json_string_value (json_object_get (json_array_get (partial, 0), "file")), ==,
                   "composite/00-00002.webm");
  json_t *ev = json_object_get (m, "events");
  json_t *gap = json_array_get (ev, json_array_size (ev) - 1);
  g_assert_cmpstr (json_string_value (json_object_get (gap, "type")), ==, "gap");
  g_assert_cmpint (json_integer_value (json_object_get (gap, "offset_ms")), ==, 4000);
  json_decref (m);
  g_assert_true (hd_archive_verify (dir, pub, &v, &e));
  for (guint i = 0; i < v.problems->len; i++)
    g_test_message ("problem: %s", (char *)v.problems->pdata[i]);
  g_assert_true (v.ok);
  g_assert_true (v.signed_);
  g_assert_cmpuint (v.segments, ==, 2);
  hd_archive_verdict_clear (&v);
  /* the flagged partial segment is protected too */
  g_autofree char *p = g_build_filename (dir, "composite/00-00002.webm", NULL);
  g_assert_true (g_file_set_contents (p, "half a segmX", 12, NULL));
  g_assert_true (hd_archive_verify (dir, pub, &v, &e));
  g_assert_false (v.ok);
  hd_archive_verdict_clear (&v);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
  g_assert_cmpint (system (cmd), ==, 0);
}

/* The journal: segments closed since the manifest was rewritten are there, fsync'd, and count
 * as the manifest's; a line torn by a crash ends it (that segment becomes partial); an edited
 * line breaks the chain like an edited manifest entry. */
static void
test_journal (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("hd-archive-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "rec", NULL);
  g_autoptr (HdSigner) signer = hd_signer_new_from_seed (seed);
  g_autofree char *pub = hd_signer_public_pem (signer);
  g_autoptr (GError) e = NULL;
  HdArchive *a = hd_archive_create (dir, "r-j", NULL, signer, 100, &e);
  for (int i = 0; i < 3; i++) {
    g_autofree char *rel = g_strdup_printf ("composite/00-00-%05d.webm", i);
    write_file (dir, rel, "closed segment", 14);
    g_assert_true (hd_archive_add_segment (a, "composite", rel, i * 2000, 2000, &e));
  }
  /* the manifest on disk was not rewritten for them; the journal holds them */
  g_autofree char *mpath = g_build_filename (dir, HD_ARCHIVE_MANIFEST, NULL);
  json_t *disk = json_load_file (mpath, 0, NULL);
  g_assert_cmpuint (json_array_size (json_object_get (disk, "segments")), ==, 0);
  json_decref (disk);
  json_t *m = hd_archive_load (dir, &e);
  g_assert_cmpuint (json_array_size (json_object_get (m, "segments")), ==, 3);
  json_decref (m);
  HdArchiveVerdict v;
  g_assert_true (hd_archive_verify (dir, pub, &v, &e));
  g_assert_true (v.ok);
  g_assert_cmpuint (v.segments, ==, 3);
  hd_archive_verdict_clear (&v);
  /* an event rewrites the manifest: the journal is folded in and emptied */
  hd_archive_event (a, 0, "pause", 6000, NULL, "recess");
  disk = json_load_file (mpath, 0, NULL);
  g_assert_cmpuint (json_array_size (json_object_get (disk, "segments")), ==, 3);
  json_decref (disk);
  g_autofree char *jpath = g_build_filename (dir, HD_ARCHIVE_JOURNAL, NULL);
  g_autofree char *jt = NULL;
  gsize jn = 0;
  g_assert_true (g_file_get_contents (jpath, &jt, &jn, NULL));
  g_assert_cmpuint (jn, ==, 0);
  /* two more; the last line torn by a crash */
  for (int i = 3; i < 5; i++) {
    g_autofree char *rel = g_strdup_printf ("composite/00-00-%05d.webm", i);
    write_file (dir, rel, "closed segment", 14);
    g_assert_true (hd_archive_add_segment (a, "composite", rel, i * 2000, 2000, &e));
  }
  hd_archive_free (a); /* killed */
  g_autofree char *lines = NULL;
  g_assert_true (g_file_get_contents (jpath, &lines, &jn, NULL));
  g_assert_true (g_file_set_contents (jpath, lines, (gssize)(jn - 20), NULL));
  m = hd_archive_load (dir, &e);
  g_assert_cmpuint (json_array_size (json_object_get (m, "segments")), ==, 4);
  json_decref (m);
  /* an edited journal line: found */
  g_autofree char *edited = g_strdup (lines);
  char *b = strstr (edited, "\"bytes\":14");
  g_assert_nonnull (b);
  b[9] = '5';
  g_assert_true (g_file_set_contents (jpath, edited, (gssize)jn, NULL));
  g_assert_true (hd_archive_verify (dir, pub, &v, &e));
  g_assert_false (v.ok);
  hd_archive_verdict_clear (&v);
  /* put back torn: recovery keeps the 4, the 5th file is partial, and it all verifies */
  g_assert_true (g_file_set_contents (jpath, lines, (gssize)(jn - 20), NULL));
  m = hd_archive_recover (dir, signer, &e);
  g_assert_no_error (e);
  g_assert_cmpuint (json_array_size (json_object_get (m, "segments")), ==, 4);
  g_assert_cmpuint (json_array_size (json_object_get (m, "partial")), ==, 1);
  json_decref (m);
  g_assert_false (g_file_test (jpath, G_FILE_TEST_EXISTS)); /* closed: folded in, removed */
  g_assert_true (hd_archive_verify (dir, pub, &v, &e));
  g_assert_true (v.ok);
  g_assert_true (v.signed_);
  hd_archive_verdict_clear (&v);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
  g_assert_cmpint (system (cmd), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/archive/intact", Fix, NULL, fix_setup, test_intact, fix_teardown);
  g_test_add ("/archive/flipped-byte", Fix, NULL, fix_setup, test_flipped_byte, fix_teardown);
  g_test_add ("/archive/hundred-flips", Fix, NULL, fix_setup, test_hundred_flips, fix_teardown);
  g_test_add ("/archive/truncated-deleted-added", Fix, NULL, fix_setup,
              test_truncated_deleted_added, fix_teardown);
  g_test_add ("/archive/replaced", Fix, NULL, fix_setup, test_replaced, fix_teardown);
  g_test_add ("/archive/reordered-and-removed-entries", Fix, NULL, fix_setup,
              test_reordered_and_removed_entries, fix_teardown);
  g_test_add ("/archive/edited-entry", Fix, NULL, fix_setup, test_edited_entry, fix_teardown);
  g_test_add ("/archive/refusals", Fix, NULL, fix_setup, test_refusals, fix_teardown);
  g_test_add_func ("/archive/recover-after-crash", test_recover_after_crash);
  g_test_add_func ("/archive/journal", test_journal);
  return g_test_run ();
}
