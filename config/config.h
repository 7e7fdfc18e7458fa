/* config.h — hearingd's typed configuration: one table of keys drives the defaults, validation,
 * `hearingd --help`, the sample file config/hearingd.conf, and environment overrides. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HD_CONFIG_ERROR (hd_config_error_quark ())
GQuark hd_config_error_quark (void);

typedef enum {
  HD_CONFIG_ERROR_BAD_VALUE,   /* a value fails its type or validator */
  HD_CONFIG_ERROR_UNKNOWN_KEY, /* a key or section the table does not have */
  HD_CONFIG_ERROR_FILE,        /* the file cannot be read or parsed */
} HdConfigError;

typedef enum { HD_LOG_ERROR, HD_LOG_WARNING, HD_LOG_INFO, HD_LOG_DEBUG } HdLogLevel;

typedef struct {
  /* [server] */
  char *listen_host; /* parsed from server.listen */
  int listen_port;
  gboolean plain_http;
  char *state_dir;
  char *web_root;
  char *public_url; /* base of join links; empty: derived from listen */
  int max_sessions;
  /* [limits] */
  int message_max_bytes;
  int rate_per_second;
  int rate_burst;
  int join_timeout_seconds;
  int hearing_max_participants;
  gboolean lobby;
  int rejoin_grace_seconds;
  gboolean clerk_controls_recording;
  int http_body_max_bytes;
  /* [tokens] */
  char *issuer;
  int token_ttl_seconds;
  int operator_token_ttl_seconds;
  /* [media] */
  gboolean media_enabled;
  int jitter_latency_ms;
  int mix_latency_ms;
  int composite_width, composite_height, composite_fps, video_bitrate;
  char *video_codec; /* "vp8" or "h264" */
  gboolean video_retransmission;
  /* [ice] */
  char *stun_server;
  char *turn_server;
  char *turn_username;
  char *turn_password;
  char *turn_shared_secret;
  int turn_ttl_seconds;
  int ice_port_min, ice_port_max;
  char *ice_interfaces;
  char *ice_public_address;
  /* [archive] */
  char *archive_dir;
  int segment_seconds;
  int track_queue_kb;
  int checkpoint_every;
  int min_free_mb;
  int retention_public_days, retention_closed_days, retention_sealed_days;
  /* [log] */
  HdLogLevel log_level;
  gboolean log_lws;
} HdConfig;

/* A new HdConfig holding the embedded defaults. Caller owns; free with hd_config_free(). */
HdConfig *hd_config_new_defaults (void);
void hd_config_free (HdConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HdConfig, hd_config_free)

/* Overlay a GKeyFile. Unknown sections/keys and bad values are errors naming the file, key,
 * value and reason. Main thread. */
gboolean hd_config_load_file (HdConfig *cfg, const char *path, GError **error);

/* Overlay key=value text in GKeyFile syntax (tests, fuzzing). `origin` names it in errors. */
gboolean hd_config_load_data (HdConfig *cfg, const char *data, gsize len, const char *origin,
                              GError **error);

/* Overlay HEARINGD_<SECTION>_<KEY> variables from `envp` (NULL: the process environment). */
gboolean hd_config_load_env (HdConfig *cfg, char **envp, GError **error);

/* Set one key ("section.key") from a command-line flag. */
gboolean hd_config_set (HdConfig *cfg, const char *dotted_key, const char *value,
                        const char *origin, GError **error);

/* Cross-key checks that need the final values (plain HTTP only on loopback). */
gboolean hd_config_check (const HdConfig *cfg, GError **error);

/* The documented sample file (what config/hearingd.conf holds). Caller frees. */
char *hd_config_sample (void);

/* One line per key for --help. Caller frees. */
char *hd_config_help (void);

G_END_DECLS
