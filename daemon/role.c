/* role.c — the role table. */
#include "daemon/role.h"

static const struct {
  const char *name;
  guint perms;
} roles[HD_ROLE_COUNT] = {
  [HD_ROLE_JUDGE]
  = { "judge", HD_PERM_SPEAK | HD_PERM_VIEW | HD_PERM_ADMIT | HD_PERM_MUTE_OTHERS
                   | HD_PERM_CONTROL_STATE | HD_PERM_RECORD | HD_PERM_LOG_NOTE | HD_PERM_JOIN_EARLY
                   | HD_PERM_LAYOUT | HD_PERM_SKIP_LOBBY | HD_PERM_REMOVE },
  [HD_ROLE_CLERK] = { "clerk", HD_PERM_SPEAK | HD_PERM_VIEW | HD_PERM_ADMIT | HD_PERM_RECORD
                                   | HD_PERM_LOG_NOTE | HD_PERM_JOIN_EARLY | HD_PERM_SKIP_LOBBY },
  [HD_ROLE_PARTY] = { "party", HD_PERM_SPEAK | HD_PERM_VIEW | HD_PERM_RAISE_HAND },
  [HD_ROLE_COUNSEL] = { "counsel", HD_PERM_SPEAK | HD_PERM_VIEW | HD_PERM_RAISE_HAND },
  [HD_ROLE_WITNESS] = { "witness", HD_PERM_SPEAK | HD_PERM_VIEW | HD_PERM_RAISE_HAND },
  [HD_ROLE_INTERPRETER] = { "interpreter", HD_PERM_SPEAK | HD_PERM_VIEW | HD_PERM_RAISE_HAND },
  [HD_ROLE_OBSERVER] = { "observer", HD_PERM_VIEW },
  [HD_ROLE_OPERATOR]
  = { "operator", HD_PERM_SPEAK | HD_PERM_VIEW | HD_PERM_MANAGE | HD_PERM_JOIN_EARLY },
  [HD_ROLE_ARCHIVIST] = { "archivist", HD_PERM_READ_ARCHIVE },
};

static const char *perm_names[]
    = { "speak",  "view",       "admit",  "mute_others",  "control_state",
        "record", "log_note",   "manage", "read_archive", "join_early",
        "layout", "skip_lobby", "remove", "raise_hand" };

const char *
hd_role_name (HdRole role)
{
  return role >= 0 && role < HD_ROLE_COUNT ? roles[role].name : "invalid";
}

HdRole
hd_role_parse (const char *name)
{
  for (int i = 0; i < HD_ROLE_COUNT; i++)
    if (name && g_str_equal (roles[i].name, name))
      return (HdRole)i;
  return HD_ROLE_INVALID;
}

guint
hd_role_permissions (HdRole role)
{
  return role >= 0 && role < HD_ROLE_COUNT ? roles[role].perms : 0;
}

const char **
hd_permission_names (guint perms)
{
  GPtrArray *a = g_ptr_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (perm_names); i++)
    if (perms & (1u << i))
      g_ptr_array_add (a, (gpointer)perm_names[i]);
  g_ptr_array_add (a, NULL);
  return (const char **)g_ptr_array_free (a, FALSE);
}
