/* Unit tests of the configuration table: defaults, every kind of validation error, precedence,
 * and the sample file kept in step with the table. */
#include "config/config.h"

#include <string.h>

static void
assert_load_fails (const char *text, int code, const char *fragment)
{
  g_autoptr (HdConfig) cfg = hd_config_new_defaults ();
  g_autoptr (GError) e = NULL;
  g_assert_false (hd_config_load_data (cfg, text, strlen (text), "test.conf", &e));
  g_assert_error (e, HD_CONFIG_ERROR, code);
  g_assert_nonnull (strstr (e->message, fragment));
  /* Every error names where it came from. */
  g_assert_true (g_str_has_prefix (e->message, "test.conf: "));
}

static void
test_defaults (void)
{
  g_autoptr (HdConfig) cfg = hd_config_new_defaults ();
  g_assert_cmpstr (cfg->listen_host, ==, "127.0.0.1");
  g_assert_cmpint (cfg->listen_port, ==, 8443);
  g_assert_false (cfg->plain_http);
  g_assert_cmpint (cfg->message_max_bytes, ==, 65536);
  g_assert_cmpint (cfg->join_timeout_seconds, ==, 10);
  g_assert_cmpint (cfg->log_level, ==, HD_LOG_INFO);
  g_assert_true (hd_config_check (cfg, NULL));
}

static void
test_errors (void)
{
  assert_load_fails ("[limits]\nrate_burst = many\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "[limits] rate_burst = 'many': must be an integer from 1 to 100000");
  assert_load_fails ("[limits]\nrate_burst = 0\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "must be an integer from 1");
  assert_load_fails ("[limits]\nmessage_max_bytes = 99999999\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "message_max_bytes = '99999999'");
  assert_load_fails ("[server]\nplain_http = maybe\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "must be true or false");
  assert_load_fails ("[server]\nlisten = 8443\n", HD_CONFIG_ERROR_BAD_VALUE, "must be HOST:PORT");
  assert_load_fails ("[server]\nlisten = 127.0.0.1:70000\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "port must be a number from 0 to 65535");
  assert_load_fails ("[server]\nlisten = court.example:443\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "host must be an IPv4 address or localhost");
  assert_load_fails ("[server]\nstate_dir =\n", HD_CONFIG_ERROR_BAD_VALUE, "must not be empty");
  assert_load_fails ("[server]\npublic_url = ftp://x\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "absolute http:// or https:// URL");
  assert_load_fails ("[log]\nlevel = loud\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "must be one of error, warning, info, debug");
  assert_load_fails ("[ice]\nstun_server = stun.example:3478\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "must be stun:HOST[:PORT]");
  assert_load_fails ("[ice]\nturn_server = turn:relay?transport=sctp\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "must be stun:HOST[:PORT]");
  assert_load_fails ("[ice]\npublic_address = 2001:db8::1\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "must be an IPv4 address");
  assert_load_fails ("[ice]\ninterfaces = eth0,,eth1\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "interface names or IPv4 addresses");
  assert_load_fails ("[ice]\nport_max = 70000\n", HD_CONFIG_ERROR_BAD_VALUE, "from 0 to 65535");
  assert_load_fails ("[media]\njitter_latency_ms = 5000\n", HD_CONFIG_ERROR_BAD_VALUE,
                     "from 0 to 1000");
  assert_load_fails ("[server]\nlisen = 1\n", HD_CONFIG_ERROR_UNKNOWN_KEY, "[server] lisen: unknown key");
  assert_load_fails ("[srever]\nlisten = 1\n", HD_CONFIG_ERROR_UNKNOWN_KEY, "unknown section");
  assert_load_fails ("[srever]\n", HD_CONFIG_ERROR_UNKNOWN_KEY, "unknown section");
  assert_load_fails ("listen = 1\n", HD_CONFIG_ERROR_FILE, "test.conf: ");
  assert_load_fails ("[server\n", HD_CONFIG_ERROR_FILE, "test.conf: ");

  g_autoptr (HdConfig) cfg = hd_config_new_defaults ();
  g_autoptr (GError) e = NULL;
  g_assert_false (hd_config_load_file (cfg, "/nonexistent/hearingd.conf", &e));
  g_assert_error (e, HD_CONFIG_ERROR, HD_CONFIG_ERROR_FILE);
  g_assert_nonnull (strstr (e->message, "/nonexistent/hearingd.conf"));
}

static void
test_plain_http_loopback_only (void)
{
  g_autoptr (HdConfig) cfg = hd_config_new_defaults ();
  g_autoptr (GError) e = NULL;
  g_assert_true (hd_config_set (cfg, "server.plain_http", "true", "--plain-http", NULL));
  g_assert_true (hd_config_check (cfg, NULL));
  g_assert_true (hd_config_set (cfg, "server.listen", "0.0.0.0:8080", "--listen", NULL));
  g_assert_false (hd_config_check (cfg, &e));
  g_assert_nonnull (strstr (e->message, "only on a loopback address"));
  g_clear_error (&e);
  g_assert_true (hd_config_set (cfg, "server.listen", "localhost:0", "--listen", NULL));
  g_assert_true (hd_config_check (cfg, NULL));
  g_assert_cmpint (cfg->listen_port, ==, 0);
}

static void
test_ice_cross_checks (void)
{
  g_autoptr (HdConfig) cfg = hd_config_new_defaults ();
  g_autoptr (GError) e = NULL;
  const char *ok = "[ice]\nstun_server = stun:stun.example:3478\nturn_server = "
                   "turn:relay.example:3478?transport=udp\nturn_shared_secret = s3cret\n"
                   "port_min = 40000\nport_max = 40100\ninterfaces = eth0,10.0.0.5\n"
                   "public_address = 203.0.113.7\n";
  g_assert_true (hd_config_load_data (cfg, ok, strlen (ok), "t", &e));
  g_assert_no_error (e);
  g_assert_true (hd_config_check (cfg, &e));
  g_assert_cmpint (cfg->ice_port_min, ==, 40000);
  g_assert_cmpstr (cfg->ice_public_address, ==, "203.0.113.7");
  g_assert_true (hd_config_set (cfg, "ice.port_max", "39000", "--x", NULL));
  g_assert_false (hd_config_check (cfg, &e));
  g_assert_nonnull (strstr (e->message, "port_min <= port_max"));
  g_clear_error (&e);
  g_assert_true (hd_config_set (cfg, "ice.port_max", "0", "--x", NULL));
  g_assert_false (hd_config_check (cfg, &e));
  g_clear_error (&e);
  g_assert_true (hd_config_set (cfg, "ice.port_min", "0", "--x", NULL));
  g_assert_true (hd_config_set (cfg, "ice.turn_shared_secret", "", "--x", NULL));
  g_assert_false (hd_config_check (cfg, &e));
  g_assert_nonnull (strstr (e->message, "needs turn_shared_secret, or turn_username"));
  g_clear_error (&e);
  g_assert_true (hd_config_set (cfg, "ice.turn_username", "u", "--x", NULL));
  g_assert_true (hd_config_set (cfg, "ice.turn_password", "p", "--x", NULL));
  g_assert_true (hd_config_check (cfg, NULL));
}

static void
test_precedence_and_env (void)
{
  g_autoptr (HdConfig) cfg = hd_config_new_defaults ();
  const char *file = "[limits]\nrate_burst = 5\nrate_per_second = 7\n";
  g_assert_true (hd_config_load_data (cfg, file, strlen (file), "f", NULL));
  char *env[] = { "HEARINGD_LIMITS_RATE_BURST=9", "PATH=/bin", NULL };
  g_assert_true (hd_config_load_env (cfg, env, NULL));
  g_assert_cmpint (cfg->rate_burst, ==, 9);      /* env over file */
  g_assert_cmpint (cfg->rate_per_second, ==, 7); /* file over default */
  g_assert_true (hd_config_set (cfg, "limits.rate_burst", "11", "--flag", NULL));
  g_assert_cmpint (cfg->rate_burst, ==, 11);     /* flag over env */

  g_autoptr (GError) e = NULL;
  char *bad[] = { "HEARINGD_LOG_LEVEL=verbose", NULL };
  g_assert_false (hd_config_load_env (cfg, bad, &e));
  g_assert_nonnull (strstr (e->message, "environment HEARINGD_LOG_LEVEL: [log] level = 'verbose'"));
  g_clear_error (&e);
  g_assert_false (hd_config_set (cfg, "nodot", "1", "--x", &e));
}

static void
test_sample_matches_file (void)
{
  const char *root = g_getenv ("HD_SOURCE_ROOT");
  g_assert_nonnull (root);
  g_autofree char *path = g_build_filename (root, "config", "hearingd.conf", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_autofree char *sample = hd_config_sample ();
  g_assert_cmpstr (text, ==, sample);
  /* The sample itself loads and equals the defaults. */
  g_autoptr (HdConfig) cfg = hd_config_new_defaults ();
  g_assert_true (hd_config_load_data (cfg, sample, strlen (sample), path, NULL));
  g_autofree char *help = hd_config_help ();
  g_assert_nonnull (strstr (help, "[limits] join_timeout_seconds = 10"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/errors", test_errors);
  g_test_add_func ("/config/plain-http-loopback-only", test_plain_http_loopback_only);
  g_test_add_func ("/config/precedence-and-env", test_precedence_and_env);
  g_test_add_func ("/config/ice-cross-checks", test_ice_cross_checks);
  g_test_add_func ("/config/sample-matches-file", test_sample_matches_file);
  return g_test_run ();
}
