/* Standalone driver: replays a libFuzzer corpus through a harness, so the committed corpus runs
 * in the normal test suite (and under ASan/UBSan in CI) without clang's libFuzzer. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
replay_file (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &data, &len, NULL)) {
    fprintf (stderr, "cannot read %s\n", path);
    return 0;
  }
  /* An exact-size copy, as libFuzzer gives it: under ASan, reading one byte past the input
   * (a missing NUL terminator) is caught here too. */
  g_autofree uint8_t *exact = g_memdup2 (data, len);
  LLVMFuzzerTestOneInput (exact, len);
  return 1;
}

int
main (int argc, char **argv)
{
  int n = 0;
  for (int i = 1; i < argc; i++) {
    GDir *d = g_dir_open (argv[i], 0, NULL);
    if (!d) {
      n += replay_file (argv[i]);
      continue;
    }
    const char *name;
    while ((name = g_dir_read_name (d))) {
      g_autofree char *p = g_build_filename (argv[i], name, NULL);
      n += replay_file (p);
    }
    g_dir_close (d);
  }
  printf ("1..1\nok 1 replayed %d inputs\n", n);
  return n > 0 ? 0 : 1;
}
