/* libFuzzer harness: the configuration loader (config/config.c). */
#include "config/config.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  HdConfig *cfg = hd_config_new_defaults ();
  GError *e = NULL;
  if (hd_config_load_data (cfg, (const char *) data, size, "fuzz", &e))
    hd_config_check (cfg, NULL);
  else if (!e || !e->message[0])
    __builtin_trap (); /* every failure has a reason */
  g_clear_error (&e);
  hd_config_free (cfg);
  return 0;
}
