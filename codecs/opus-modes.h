/* opus-modes.h — libopus's standard CELT mode served from a cache, so that GStreamer's Opus
 * elements stop probing the CPU with `cpuid` on every frame (see opus-modes.c). Linked into
 * every program that links the media layer (codecs/meson.build); nothing to call. */
#pragma once

#include <glib.h>

/* How many of libopus's mode lookups the cache has answered since start-up (0 where the
 * opus plugin was never used, or where this libopus's standard mode is not a static table). */
guint hd_opus_modes_served (void);
