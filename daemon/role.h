/* role.h — court roles (GLOSSARY.md) and the permissions each one holds. The server checks
 * these; the web client only shows them. Pure data, thread-safe. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  HD_ROLE_JUDGE,
  HD_ROLE_CLERK,
  HD_ROLE_PARTY,
  HD_ROLE_COUNSEL,
  HD_ROLE_WITNESS,
  HD_ROLE_INTERPRETER,
  HD_ROLE_OBSERVER,
  HD_ROLE_OPERATOR,
  HD_ROLE_ARCHIVIST,
  HD_ROLE_COUNT,
  HD_ROLE_INVALID = -1,
} HdRole;

typedef enum {
  HD_PERM_SPEAK = 1 << 0,         /* send audio/video into the hearing */
  HD_PERM_VIEW = 1 << 1,          /* receive the hearing's picture and sound */
  HD_PERM_ADMIT = 1 << 2,         /* admit people from the lobby */
  HD_PERM_MUTE_OTHERS = 1 << 3,   /* mute other participants */
  HD_PERM_CONTROL_STATE = 1 << 4, /* open, start, recess, resume, close the hearing */
  HD_PERM_RECORD = 1 << 5,        /* control the recording */
  HD_PERM_LOG_NOTE = 1 << 6,      /* write log notes on the record */
  HD_PERM_MANAGE = 1 << 7,        /* create hearings, issue and revoke tokens (REST) */
  HD_PERM_READ_ARCHIVE = 1 << 8,  /* retrieve recordings */
  HD_PERM_JOIN_EARLY = 1 << 9,    /* join before the hearing is open */
  HD_PERM_LAYOUT = 1 << 10,       /* lay out the composite, pin a participant */
  HD_PERM_SKIP_LOBBY = 1 << 11,   /* never waits in the lobby */
  HD_PERM_REMOVE = 1 << 12,       /* remove a participant from the hearing */
  HD_PERM_RAISE_HAND = 1 << 13,   /* raise a hand to ask to speak */
} HdPermission;

/* The role's name in GLOSSARY.md, e.g. "judge"; static. */
const char *hd_role_name (HdRole role);
/* HD_ROLE_INVALID for anything that is not a role name. */
HdRole hd_role_parse (const char *name);
guint hd_role_permissions (HdRole role);
/* Permission names of `perms`, in a fixed order, as a NULL-terminated static-string array
 * (caller frees the array only). */
const char **hd_permission_names (guint perms);

G_END_DECLS
