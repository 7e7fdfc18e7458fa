/* opus-modes.c — libopus's standard CELT mode, looked up once instead of on every frame.
 *
 * GStreamer's opusenc and opusdec use libopus's multistream API, which asks for the size of an
 * encoder or decoder on every frame it codes. With custom modes compiled in (Debian's libopus
 * 1.3.1 is built so), each of those sizes calls opus_custom_mode_create(48000, 960), and that
 * begins by probing the processor's features with the `cpuid` instruction — whose answer it
 * does not even need for a standard mode. A hearing of four decodes and encodes ~2 400 such
 * frames a second; under a hypervisor, where every `cpuid` traps to the host (~3 µs each on the
 * project's machine), that was 5 % of the daemon's CPU (docs/performance.md).
 *
 * libopus calls opus_custom_mode_create() through its own PLT, so a definition in the
 * executable, exported to its dynamic symbols (codecs/meson.build), is the one every call
 * reaches. The standard mode is one of libopus's static tables: it is asked for once, its
 * pointer checked to be the same on a second asking (a static table, not an allocation), and
 * handed out from then on. Any other mode, or a libopus where the standard mode is not static,
 * goes to libopus every time, as before.
 */
#define G_LOG_DOMAIN "hd-media"

#include "codecs/opus-modes.h"

#include <dlfcn.h>

/* libopus's own declaration (opus_custom.h; not installed without libopus-dev): the mode is
 * opaque to everyone but libopus. */
typedef struct OpusCustomMode OpusCustomMode;
typedef OpusCustomMode *(*ModeCreate) (gint32 fs, int frame_size, int *error);
typedef void (*ModeDestroy) (OpusCustomMode *mode);
OpusCustomMode *opus_custom_mode_create (gint32 fs, int frame_size, int *error);

enum { OPUS_OK = 0, OPUS_ALLOC_FAIL = -7 };
#define STANDARD_RATE 48000
#define STANDARD_FRAME 960

static struct {
  ModeCreate create;
  ModeDestroy destroy;
  OpusCustomMode *standard; /* NULL: not static in this libopus, never cached */
} libopus;
static gint served; /* atomic: lookups answered from the cache */

static gpointer
find_libopus (gpointer unused)
{
  (void)unused;
  /* Only libopus calls this function, so it is loaded by now (by GStreamer's opus plugin);
   * the handle is kept: GStreamer never unloads a plugin. */
  void *lib = dlopen ("libopus.so.0", RTLD_LAZY | RTLD_NOLOAD);
  if (!lib)
    lib = RTLD_NEXT;
  libopus.create = (ModeCreate)dlsym (lib, "opus_custom_mode_create");
  libopus.destroy = (ModeDestroy)dlsym (lib, "opus_custom_mode_destroy");
  if (!libopus.create) {
    g_critical ("libopus's opus_custom_mode_create not found: Opus cannot code");
    return NULL;
  }
  int err = OPUS_OK;
  OpusCustomMode *a = libopus.create (STANDARD_RATE, STANDARD_FRAME, &err);
  OpusCustomMode *b = a ? libopus.create (STANDARD_RATE, STANDARD_FRAME, &err) : NULL;
  if (a && a == b)
    libopus.standard = a;
  else if (libopus.destroy)
    for (OpusCustomMode **m = (OpusCustomMode *[]){ a, b, NULL }; *m; m++)
      libopus.destroy (*m);
  return &libopus;
}

OpusCustomMode *
opus_custom_mode_create (gint32 fs, int frame_size, int *error)
{
  static GOnce once = G_ONCE_INIT;
  if (!g_once (&once, find_libopus, NULL)) {
    if (error)
      *error = OPUS_ALLOC_FAIL;
    return NULL;
  }
  if (libopus.standard && fs == STANDARD_RATE && frame_size == STANDARD_FRAME) {
    g_atomic_int_inc (&served);
    if (error)
      *error = OPUS_OK;
    return libopus.standard;
  }
  return libopus.create (fs, frame_size, error);
}

guint
hd_opus_modes_served (void)
{
  return (guint)g_atomic_int_get (&served);
}
