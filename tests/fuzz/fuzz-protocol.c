/* libFuzzer harness: the WebSocket protocol parser (signaling/protocol.c). */
#include "signaling/protocol.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  HdProtoError err;
  HdMsg *m = hd_protocol_parse ((const char *) data, size, &err);
  char *reply;
  if (m) {
    reply = m->type == HD_MSG_PING ? hd_protocol_pong (m->id) : hd_protocol_bye ("x", m->id);
    hd_msg_free (m);
  } else {
    reply = hd_protocol_error (err.code, err.reason, err.ref);
    hd_proto_error_clear (&err);
  }
  if (!reply)
    __builtin_trap (); /* every refusal must serialise */
  free (reply);
  return 0;
}
