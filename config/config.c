/* config.c — the configuration table and its loaders. Every key lives in `keys[]` below: its
 * type, default, bounds or validator, and help text. Defaults, validation, `--help`, the sample
 * file and environment overrides are all derived from that one table. Main thread only. */
#define G_LOG_DOMAIN "hd-config"

#include "config/config.h"

#include <gio/gio.h>
#include <stddef.h>
#include <string.h>

/* clang-format off */
G_DEFINE_QUARK (hd-config-error-quark, hd_config_error)
/* clang-format on */

typedef enum {
  T_STRING, /* non-empty text */
  T_TEXT,   /* text, may be empty */
  T_INT,
  T_BOOL,
  T_LISTEN, /* HOST:PORT */
  T_LOGLEVEL,
  T_URL,    /* empty, or an http(s) URL */
  T_ICEURL, /* empty, or stun:/turn:/turns: host[:port][?transport=udp|tcp] */
  T_IPV4,   /* empty, or an IPv4 address */
  T_IFACES, /* empty, or a comma-separated list of interface names or IPv4 addresses */
  T_CODEC,  /* vp8 or h264 */
} KeyType;

typedef struct {
  const char *section;
  const char *key;
  KeyType type;
  const char *def;
  gint64 min, max; /* T_INT bounds */
  size_t offset;   /* into HdConfig; for T_LISTEN the host field (port follows) */
  const char *help;
} Key;

#define OFF(f) offsetof (HdConfig, f)

static const Key keys[] = {
  { "server", "listen", T_LISTEN, "127.0.0.1:8443", 0, 0, OFF (listen_host),
    "Address and port to serve HTTPS and WebSocket on, HOST:PORT (IPv4 or localhost). "
    "Port 0 picks a free port; the daemon prints the one it bound." },
  { "server", "plain_http", T_BOOL, "false", 0, 0, OFF (plain_http),
    "Serve plain HTTP instead of HTTPS. Allowed only when listening on a loopback address." },
  { "server", "state_dir", T_STRING, "state", 0, 0, OFF (state_dir),
    "Folder for the SQLite database, the Ed25519 signing key and the TLS certificate." },
  { "server", "web_root", T_STRING, "web", 0, 0, OFF (web_root),
    "Folder of the browser client's static files, served at /." },
  { "server", "public_url", T_URL, "", 0, 0, OFF (public_url),
    "Base URL put into join links (https://court.example:8443). Empty: derived from listen." },
  { "server", "max_sessions", T_INT, "10000", 1, 1000000, OFF (max_sessions),
    "Most WebSocket sessions held at once; more are refused with code server_full." },
  { "limits", "message_max_bytes", T_INT, "65536", 256, 1048576, OFF (message_max_bytes),
    "Largest WebSocket message accepted; a larger one closes the connection with 1009." },
  { "limits", "rate_per_second", T_INT, "20", 1, 100000, OFF (rate_per_second),
    "Messages per second a connection may send on average (token bucket refill)." },
  { "limits", "rate_burst", T_INT, "40", 1, 100000, OFF (rate_burst),
    "Messages a connection may send in a burst before rate_limited errors." },
  { "limits", "join_timeout_seconds", T_INT, "10", 1, 300, OFF (join_timeout_seconds),
    "Seconds a new WebSocket has to send its join message before it is closed (1008)." },
  { "limits", "hearing_max_participants", T_INT, "200", 2, 10000, OFF (hearing_max_participants),
    "Most participants connected to one hearing at once." },
  { "limits", "http_body_max_bytes", T_INT, "65536", 1024, 16777216, OFF (http_body_max_bytes),
    "Largest REST request body accepted (413 beyond)." },
  { "hearing", "lobby", T_BOOL, "true", 0, 0, OFF (lobby),
    "Everyone but the judge and the clerk waits in the lobby until the judge or clerk admits "
    "them. false: everyone with a valid token is in at once." },
  { "hearing", "rejoin_grace_seconds", T_INT, "120", 0, 86400, OFF (rejoin_grace_seconds),
    "Someone admitted whose link drops comes back without the lobby within this many seconds." },
  { "hearing", "clerk_controls_recording", T_BOOL, "true", 0, 0, OFF (clerk_controls_recording),
    "The clerk may take the hearing off the record and back, as the judge may. false: only the "
    "judge." },
  { "tokens", "issuer", T_STRING, "hearingd", 0, 0, OFF (issuer),
    "The iss claim of tokens this daemon signs and accepts." },
  { "tokens", "ttl_seconds", T_INT, "86400", 60, 31536000, OFF (token_ttl_seconds),
    "Default lifetime of a join token." },
  { "tokens", "operator_ttl_seconds", T_INT, "3600", 60, 31536000, OFF (operator_token_ttl_seconds),
    "Lifetime of operator tokens minted by hearingctl operator-token." },
  { "media", "enabled", T_BOOL, "true", 0, 0, OFF (media_enabled),
    "Carry media (WebRTC, the composite, mix-minus). false: signaling only." },
  { "media", "jitter_latency_ms", T_INT, "50", 0, 1000, OFF (jitter_latency_ms),
    "Jitter-buffer latency of each participant's incoming media (webrtcbin's default, 200 ms, "
    "is the whole mouth-to-ear budget of ITU-T G.114)." },
  { "media", "mix_latency_ms", T_INT, "20", 0, 500, OFF (mix_latency_ms),
    "Time each participant's mix waits, beyond the jitter buffer, for sound that is late from "
    "the daemon's own decoding; it adds to everyone's mouth-to-ear delay. Raise it on a "
    "heavily loaded machine if voices break up." },
  { "media", "composite_width", T_INT, "1280", 160, 3840, OFF (composite_width),
    "Width of the hearing's composite picture, sent to every participant." },
  { "media", "composite_height", T_INT, "720", 120, 2160, OFF (composite_height),
    "Height of the composite picture." },
  { "media", "composite_fps", T_INT, "30", 5, 60, OFF (composite_fps),
    "Frame rate of the composite picture." },
  { "media", "video_codec", T_CODEC, "vp8", 0, 0, OFF (video_codec),
    "Video codec of the hearing, both ways: vp8 (every browser) or h264 (OpenH264, for "
    "devices that decode only H.264). Participants may send either; the composite uses this." },
  { "media", "video_bitrate", T_INT, "1500000", 100000, 20000000, OFF (video_bitrate),
    "Bit rate of the composite's one video encode (bits/s)." },
  { "media", "video_retransmission", T_BOOL, "false", 0, 0, OFF (video_retransmission),
    "Resend the composite's packets a participant reports lost (NACK, sent again as RTX) instead "
    "of their picture stopping until the next keyframe, which everyone then receives. Off by "
    "default for now: with it, GStreamer 1.22's RTP stack raised a GLib critical in test "
    "clients twice (docs/operations.md)." },
  { "ice", "stun_server", T_ICEURL, "", 0, 0, OFF (stun_server),
    "STUN server for the daemon and, in welcome, for clients: stun:host[:port]. Empty: none "
    "(peers on one network need none)." },
  { "ice", "turn_server", T_ICEURL, "", 0, 0, OFF (turn_server),
    "TURN relay for clients behind strict NAT: turn:host[:port][?transport=udp|tcp] or turns:…" },
  { "ice", "turn_username", T_TEXT, "", 0, 0, OFF (turn_username),
    "Static TURN user name (ignored when turn_shared_secret is set)." },
  { "ice", "turn_password", T_TEXT, "", 0, 0, OFF (turn_password),
    "Static TURN password (ignored when turn_shared_secret is set)." },
  { "ice", "turn_shared_secret", T_TEXT, "", 0, 0, OFF (turn_shared_secret),
    "Shared secret of the TURN server's REST API: each welcome then carries short-lived "
    "credentials (user expiry:participant, password base64(HMAC-SHA1(secret, user)))." },
  { "ice", "turn_ttl_seconds", T_INT, "86400", 60, 604800, OFF (turn_ttl_seconds),
    "Lifetime of TURN REST credentials." },
  { "ice", "port_min", T_INT, "0", 0, 65535, OFF (ice_port_min),
    "Lowest UDP port for media (0: any). Open port_min..port_max in the firewall." },
  { "ice", "port_max", T_INT, "0", 0, 65535, OFF (ice_port_max),
    "Highest UDP port for media (0: any)." },
  { "ice", "interfaces", T_IFACES, "", 0, 0, OFF (ice_interfaces),
    "Interfaces or addresses to gather candidates on, comma-separated (eth0,10.0.0.5). "
    "Empty: all." },
  { "ice", "public_address", T_IPV4, "", 0, 0, OFF (ice_public_address),
    "Public IPv4 address to advertise when the daemon sits behind 1:1 NAT. Empty: none." },
  { "archive", "dir", T_TEXT, "", 0, 0, OFF (archive_dir),
    "Folder of the recordings (one folder per recording, see docs/archive-format.md). "
    "Empty: <state_dir>/archive." },
  { "archive", "segment_seconds", T_INT, "2", 1, 60, OFF (segment_seconds),
    "Length of a recording segment. A SIGKILL loses about a second of media whatever it is; "
    "a power loss up to a segment and a second (what is fsync'd is the closed segments)." },
  { "archive", "track_queue_kb", T_INT, "32768", 64, 1048576, OFF (track_queue_kb),
    "Media of each recorded track (the composite, each participant's sound and picture) held in "
    "memory while the storage does not take it (a network share that stalls), in KiB: 32 MiB "
    "is about 3 minutes of the composite. When it is full the track stops, the failure is "
    "written down, the judge and clerk are told, and the recording resumes once the storage "
    "answers; the hearing never waits for the storage." },
  { "archive", "checkpoint_every", T_INT, "10", 1, 100000, OFF (checkpoint_every),
    "Segments between signed checkpoints of a running recording's hash chain." },
  { "archive", "min_free_mb", T_INT, "256", 0, 10000000, OFF (min_free_mb),
    "Free space (MiB) the archive folder keeps: a recording does not start below it." },
  { "archive", "retention_public_days", T_INT, "3650", 0, 36500, OFF (retention_public_days),
    "Days a public hearing's recording is kept after it ends before it may be deleted "
    "(never while under legal hold). 0: as soon as it ends." },
  { "archive", "retention_closed_days", T_INT, "3650", 0, 36500, OFF (retention_closed_days),
    "Likewise for a closed hearing's recordings." },
  { "archive", "retention_sealed_days", T_INT, "10950", 0, 36500, OFF (retention_sealed_days),
    "Likewise for a sealed hearing's recordings." },
  { "log", "level", T_LOGLEVEL, "info", 0, 0, OFF (log_level),
    "Least severe level logged on stderr: error, warning, info or debug." },
  { "log", "lws", T_BOOL, "false", 0, 0, OFF (log_lws),
    "Also log libwebsockets' notices (its errors and warnings are always logged)." },
};

static const Key *
find_key (const char *section, const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (g_str_equal (keys[i].section, section) && g_str_equal (keys[i].key, key))
      return &keys[i];
  return NULL;
}

static gboolean
section_known (const char *section)
{
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (g_str_equal (keys[i].section, section))
      return TRUE;
  return FALSE;
}

/* Parse `value` for `k` and store it in `cfg`; on failure set *reason (caller frees). */
static gboolean
apply (HdConfig *cfg, const Key *k, const char *value, char **reason)
{
  char *base = (char *)cfg;
  switch (k->type) {
  case T_CODEC:
    if (g_strcmp0 (value, "vp8") && g_strcmp0 (value, "h264")) {
      *reason = g_strdup ("must be vp8 or h264");
      return FALSE;
    }
    /* fall through */
  case T_TEXT:
  case T_ICEURL:
  case T_IPV4:
  case T_IFACES: {
    if (!g_utf8_validate (value, -1, NULL)) {
      *reason = g_strdup ("not valid UTF-8");
      return FALSE;
    }
    if (*value && k->type == T_ICEURL) {
      const char *rest = g_str_has_prefix (value, "stun:")    ? value + 5
                         : g_str_has_prefix (value, "turn:")  ? value + 5
                         : g_str_has_prefix (value, "turns:") ? value + 6
                                                              : NULL;
      const char *q = rest ? strchr (rest, '?') : NULL;
      if (!rest || !*rest || rest[0] == ':' || strchr (rest, ' ') || strchr (rest, '/')
          || (q && !g_str_equal (q, "?transport=udp") && !g_str_equal (q, "?transport=tcp"))) {
        *reason = g_strdup ("must be stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp] "
                            "or turns:…");
        return FALSE;
      }
    }
    if (*value && k->type == T_IPV4) {
      g_autoptr (GInetAddress) a = g_inet_address_new_from_string (value);
      if (!a || g_inet_address_get_family (a) != G_SOCKET_FAMILY_IPV4) {
        *reason = g_strdup ("must be an IPv4 address");
        return FALSE;
      }
    }
    if (*value && k->type == T_IFACES) {
      g_auto (GStrv) parts = g_strsplit (value, ",", -1);
      for (char **p = parts; *p; p++) {
        gsize n = strlen (*p);
        gboolean ok = n > 0 && n < 16;
        for (gsize i = 0; ok && i < n; i++)
          ok = g_ascii_isalnum ((*p)[i]) || strchr ("._-", (*p)[i]);
        if (!ok) {
          *reason = g_strdup ("must be interface names or IPv4 addresses separated by commas");
          return FALSE;
        }
      }
    }
    char **field = (char **)(base + k->offset);
    g_free (*field);
    *field = g_strdup (value);
    return TRUE;
  }
  case T_STRING:
  case T_URL: {
    if (!g_utf8_validate (value, -1, NULL)) {
      *reason = g_strdup ("not valid UTF-8");
      return FALSE;
    }
    if (k->type == T_STRING && *value == '\0') {
      *reason = g_strdup ("must not be empty");
      return FALSE;
    }
    if (k->type == T_URL && *value != '\0') {
      g_autoptr (GUri) uri = g_uri_parse (value, G_URI_FLAGS_NONE, NULL);
      if (!uri
          || (g_strcmp0 (g_uri_get_scheme (uri), "https") != 0
              && g_strcmp0 (g_uri_get_scheme (uri), "http") != 0)
          || !g_uri_get_host (uri) || !*g_uri_get_host (uri)) {
        *reason = g_strdup ("must be an absolute http:// or https:// URL with a host");
        return FALSE;
      }
    }
    char **field = (char **)(base + k->offset);
    g_free (*field);
    *field = g_strdup (value);
    /* A trailing slash on a URL would double up in join links. */
    if (k->type == T_URL)
      while (**field && (*field)[strlen (*field) - 1] == '/')
        (*field)[strlen (*field) - 1] = '\0';
    return TRUE;
  }
  case T_INT: {
    gint64 v;
    g_autoptr (GError) e = NULL;
    if (!g_ascii_string_to_signed (value, 10, k->min, k->max, &v, &e)) {
      *reason = g_strdup_printf (
          "must be an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT, k->min, k->max);
      return FALSE;
    }
    *(int *)(base + k->offset) = (int)v;
    return TRUE;
  }
  case T_BOOL: {
    gboolean v;
    if (!g_ascii_strcasecmp (value, "true") || !g_strcmp0 (value, "1")
        || !g_ascii_strcasecmp (value, "yes"))
      v = TRUE;
    else if (!g_ascii_strcasecmp (value, "false") || !g_strcmp0 (value, "0")
             || !g_ascii_strcasecmp (value, "no"))
      v = FALSE;
    else {
      *reason = g_strdup ("must be true or false");
      return FALSE;
    }
    *(gboolean *)(base + k->offset) = v;
    return TRUE;
  }
  case T_LOGLEVEL: {
    static const char *names[] = { "error", "warning", "info", "debug" };
    for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
      if (!g_strcmp0 (value, names[i])) {
        *(HdLogLevel *)(base + k->offset) = (HdLogLevel)i;
        return TRUE;
      }
    *reason = g_strdup ("must be one of error, warning, info, debug");
    return FALSE;
  }
  case T_LISTEN: {
    const char *colon = strrchr (value, ':');
    if (!colon || colon == value) {
      *reason = g_strdup ("must be HOST:PORT");
      return FALSE;
    }
    g_autofree char *host = g_strndup (value, colon - value);
    guint64 port;
    if (!g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL)) {
      *reason = g_strdup ("port must be a number from 0 to 65535");
      return FALSE;
    }
    if (g_strcmp0 (host, "localhost") != 0) {
      g_autoptr (GInetAddress) a = g_inet_address_new_from_string (host);
      if (!a || g_inet_address_get_family (a) != G_SOCKET_FAMILY_IPV4) {
        *reason = g_strdup ("host must be an IPv4 address or localhost");
        return FALSE;
      }
    }
    g_free (cfg->listen_host);
    cfg->listen_host = g_steal_pointer (&host);
    cfg->listen_port = (int)port;
    return TRUE;
  }
  }
  *reason = g_strdup ("unknown key type");
  return FALSE;
}

HdConfig *
hd_config_new_defaults (void)
{
  HdConfig *cfg = g_new0 (HdConfig, 1);
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++) {
    g_autofree char *reason = NULL;
    if (!apply (cfg, &keys[i], keys[i].def, &reason))
      g_error ("built-in default of %s.%s is invalid: %s", keys[i].section, keys[i].key, reason);
  }
  return cfg;
}

void
hd_config_free (HdConfig *cfg)
{
  if (!cfg)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (keys[i].type != T_INT && keys[i].type != T_BOOL && keys[i].type != T_LOGLEVEL)
      g_free (*(char **)((char *)cfg + keys[i].offset));
  g_free (cfg);
}

static gboolean
set_one (HdConfig *cfg, const char *section, const char *key, const char *value, const char *origin,
         GError **error)
{
  const Key *k = find_key (section, key);
  if (!k) {
    g_set_error (error, HD_CONFIG_ERROR, HD_CONFIG_ERROR_UNKNOWN_KEY, "%s: [%s] %s: unknown %s",
                 origin, section, key, section_known (section) ? "key" : "section");
    return FALSE;
  }
  g_autofree char *reason = NULL;
  if (!apply (cfg, k, value, &reason)) {
    g_autofree char *shown = g_strescape (value, NULL);
    g_set_error (error, HD_CONFIG_ERROR, HD_CONFIG_ERROR_BAD_VALUE, "%s: [%s] %s = '%s': %s",
                 origin, section, key, shown, reason);
    return FALSE;
  }
  return TRUE;
}

static gboolean
load_keyfile (HdConfig *cfg, GKeyFile *kf, const char *origin, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (char **g = groups; *g; g++) {
    g_auto (GStrv) names = g_key_file_get_keys (kf, *g, NULL, NULL);
    if (!names || !names[0]) {
      if (!section_known (*g)) {
        g_set_error (error, HD_CONFIG_ERROR, HD_CONFIG_ERROR_UNKNOWN_KEY,
                     "%s: [%s]: unknown section", origin, *g);
        return FALSE;
      }
      continue;
    }
    for (char **n = names; *n; n++) {
      g_autoptr (GError) e = NULL;
      g_autofree char *v = g_key_file_get_string (kf, *g, *n, &e);
      if (!v) {
        g_set_error (error, HD_CONFIG_ERROR, HD_CONFIG_ERROR_BAD_VALUE, "%s: [%s] %s: %s", origin,
                     *g, *n, e->message);
        return FALSE;
      }
      if (!set_one (cfg, *g, *n, v, origin, error))
        return FALSE;
    }
  }
  return TRUE;
}

gboolean
hd_config_load_data (HdConfig *cfg, const char *data, gsize len, const char *origin, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) e = NULL;
  if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, &e)) {
    g_set_error (error, HD_CONFIG_ERROR, HD_CONFIG_ERROR_FILE, "%s: %s", origin, e->message);
    return FALSE;
  }
  return load_keyfile (cfg, kf, origin, error);
}

gboolean
hd_config_load_file (HdConfig *cfg, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) e = NULL;
  if (!g_file_get_contents (path, &data, &len, &e)) {
    g_set_error (error, HD_CONFIG_ERROR, HD_CONFIG_ERROR_FILE, "%s: %s", path, e->message);
    return FALSE;
  }
  return hd_config_load_data (cfg, data, len, path, error);
}

gboolean
hd_config_load_env (HdConfig *cfg, char **envp, GError **error)
{
  g_auto (GStrv) own = envp ? NULL : g_get_environ ();
  char **env = envp ? envp : own;
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++) {
    g_autofree char *lower = g_strdup_printf ("HEARINGD_%s_%s", keys[i].section, keys[i].key);
    g_autofree char *name = g_ascii_strup (lower, -1);
    const char *v = g_environ_getenv (env, name);
    if (!v)
      continue;
    g_autofree char *origin = g_strdup_printf ("environment %s", name);
    if (!set_one (cfg, keys[i].section, keys[i].key, v, origin, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
hd_config_set (HdConfig *cfg, const char *dotted_key, const char *value, const char *origin,
               GError **error)
{
  const char *dot = strchr (dotted_key, '.');
  if (!dot) {
    g_set_error (error, HD_CONFIG_ERROR, HD_CONFIG_ERROR_UNKNOWN_KEY,
                 "%s: %s: key must be section.key", origin, dotted_key);
    return FALSE;
  }
  g_autofree char *section = g_strndup (dotted_key, dot - dotted_key);
  return set_one (cfg, section, dot + 1, value, origin, error);
}

gboolean
hd_config_check (const HdConfig *cfg, GError **error)
{
  if ((cfg->ice_port_min == 0) != (cfg->ice_port_max == 0)
      || cfg->ice_port_min > cfg->ice_port_max) {
    g_set_error (error, HD_CONFIG_ERROR, HD_CONFIG_ERROR_BAD_VALUE,
                 "[ice] port_min = %d, port_max = %d: give both (port_min <= port_max) or neither",
                 cfg->ice_port_min, cfg->ice_port_max);
    return FALSE;
  }
  if (*cfg->turn_server && !*cfg->turn_shared_secret
      && (!*cfg->turn_username || !*cfg->turn_password)) {
    g_set_error (error, HD_CONFIG_ERROR, HD_CONFIG_ERROR_BAD_VALUE,
                 "[ice] turn_server = '%s': needs turn_shared_secret, or turn_username and "
                 "turn_password",
                 cfg->turn_server);
    return FALSE;
  }
  if (cfg->plain_http) {
    gboolean loopback = g_str_equal (cfg->listen_host, "localhost");
    if (!loopback) {
      g_autoptr (GInetAddress) a = g_inet_address_new_from_string (cfg->listen_host);
      loopback = a && g_inet_address_get_is_loopback (a);
    }
    if (!loopback) {
      g_set_error (error, HD_CONFIG_ERROR, HD_CONFIG_ERROR_BAD_VALUE,
                   "[server] plain_http = true with listen = '%s:%d': plain HTTP is allowed "
                   "only on a loopback address",
                   cfg->listen_host, cfg->listen_port);
      return FALSE;
    }
  }
  return TRUE;
}

static const char *
type_hint (const Key *k)
{
  switch (k->type) {
  case T_BOOL:
    return "true or false";
  case T_LISTEN:
    return "HOST:PORT";
  case T_LOGLEVEL:
    return "error, warning, info or debug";
  case T_URL:
    return "URL";
  case T_ICEURL:
    return "stun:/turn:/turns: URL or empty";
  case T_IPV4:
    return "IPv4 address or empty";
  case T_IFACES:
    return "comma-separated list or empty";
  case T_CODEC:
    return "vp8 or h264";
  case T_TEXT:
    return "text, may be empty";
  case T_STRING:
    return "text";
  case T_INT:
    return "integer";
  }
  return "";
}

char *
hd_config_sample (void)
{
  GString *s = g_string_new (
      "# hearingd.conf — every key hearingd reads, with its embedded default.\n"
      "# Generated from the table in config/config.c (`hearingd --print-config`); a test\n"
      "# checks that this file and the table agree. Precedence, lowest first: these defaults,\n"
      "# --config FILE, HEARINGD_<SECTION>_<KEY> environment variables, command-line flags.\n");
  const char *section = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++) {
    const Key *k = &keys[i];
    if (!section || !g_str_equal (section, k->section)) {
      section = k->section;
      g_string_append_printf (s, "\n[%s]\n", section);
    }
    /* Wrap the help text at 96 columns. */
    g_auto (GStrv) words = g_strsplit (k->help, " ", -1);
    gsize col = 0;
    g_string_append (s, "\n#");
    for (char **w = words; *w; w++) {
      if (col + strlen (*w) > 94) {
        g_string_append (s, "\n#");
        col = 0;
      }
      g_string_append_printf (s, " %s", *w);
      col += strlen (*w) + 1;
    }
    g_string_append_printf (s, "\n# (%s", type_hint (k));
    if (k->type == T_INT)
      g_string_append_printf (s, ", %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, k->min, k->max);
    g_autofree char *env = g_ascii_strup (k->section, -1);
    g_autofree char *envk = g_ascii_strup (k->key, -1);
    g_string_append_printf (s, "; env HEARINGD_%s_%s)\n%s = %s\n", env, envk, k->key, k->def);
  }
  return g_string_free (s, FALSE);
}

char *
hd_config_help (void)
{
  GString *s
      = g_string_new ("Configuration keys ([section] key = default; env HEARINGD_SECTION_KEY):\n");
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    g_string_append_printf (s, "  [%s] %s = %s\n      %s\n", keys[i].section, keys[i].key,
                            *keys[i].def ? keys[i].def : "\"\"", keys[i].help);
  return g_string_free (s, FALSE);
}
