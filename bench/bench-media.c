/* bench-media — media figures, measured inside a private network namespace that the benchmark
 * makes itself (root; unshare -n, lo, veth 10.77.0.1/24); nothing leaves it:
 *  - join → first decoded composite frame (a 4th participant joining a running hearing);
 *  - mouth-to-ear: a beep sent by one participant → heard by another, through the mixer;
 *  - the daemon's CPU for a hearing of 2, 4, 6 and 9 participants (640x360 VP8 + Opus in,
 *    1280x720 at 30 fps out), against its floor: the same decode → compositor → one encode and
 *    per-participant Opus mix-minus run bare with gst-launch-1.0 in the same invocation (ratio);
 *  - resident memory per participant (9 in one hearing);
 *  - how many 4-participant hearings at once still deliver every composite frame (≥ 29 fps).
 * Medians over RUNS (argument, default 3). Prints figures; never fails on time. Bounded: every
 * client and floor pipeline lives a fixed number of seconds. */
#define _GNU_SOURCE
#include "bench/common.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static GSubprocess *
gst_launch (const char *desc)
{
  g_auto (GStrv) words = NULL;
  g_autofree char *cmd = g_strdup_printf ("gst-launch-1.0 -q %s", desc);
  if (!g_shell_parse_argv (cmd, NULL, &words, NULL))
    return NULL;
  return g_subprocess_newv ((const char *const *)words, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, NULL);
}

/* The floor of a hearing of n: what the daemon must at least do, bare. A second gst-launch
 * (not measured) sends n 640x360 VP8 and n Opus streams to it over loopback UDP. Returns the
 * floor's CPU in % of one core over 6 s. */
static double
floor_cpu (int n, int port0)
{
  GString *src = g_string_new (NULL), *fl = g_string_new (NULL);
  g_string_append (
      fl, /* first: the background is the compositor's sink_0 */
      " videotestsrc is-live=true pattern=black ! video/x-raw,width=16,height=16,framerate=30/1"
      " ! compositor name=comp background=black latency=40000000 sink_0::alpha=0 !"
      " video/x-raw,format=I420,width=1280,height=720,framerate=30/1 !"
      " vp8enc deadline=1 cpu-used=-6 end-usage=cbr target-bitrate=1500000"
      " keyframe-max-dist=300 lag-in-frames=0 error-resilient=1 threads=1 !"
      " rtpvp8pay pt=96 ! fakesink sync=false");
  for (int i = 0; i < n; i++) {
    g_string_append_printf (
        src,
        " videotestsrc is-live=true pattern=solid-color foreground-color=0xff%06x !"
        " video/x-raw,width=640,height=360,framerate=30/1 ! videoconvert !"
        " vp8enc deadline=1 cpu-used=-6 keyframe-max-dist=60 ! rtpvp8pay pt=96 !"
        " udpsink host=127.0.0.1 port=%d sync=false"
        " audiotestsrc is-live=true wave=sine freq=%d ! audioconvert ! audioresample ! opusenc !"
        " rtpopuspay pt=111 ! udpsink host=127.0.0.1 port=%d sync=false",
        0x3355aa * (i + 1) & 0xffffff, port0 + 2 * i, 300 + 100 * i, port0 + 2 * i + 1);
    g_string_append_printf (
        fl,
        " udpsrc port=%d caps=\"application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,"
        "payload=96\" ! rtpjitterbuffer latency=50 ! rtpvp8depay ! vp8dec ! videoconvert ! comp."
        " udpsrc port=%d caps=\"application/x-rtp,media=audio,encoding-name=OPUS,"
        "clock-rate=48000,payload=111\" ! rtpjitterbuffer latency=50 ! rtpopusdepay ! opusdec !"
        " audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate=48000,channels=2 !"
        " tee name=t%d allow-not-linked=true"
        " audiotestsrc is-live=true wave=silence samplesperbuffer=480 !"
        " audiomixer name=m%d latency=20000000 start-time-selection=first !"
        " audioconvert ! opusenc bitrate=48000 frame-size=10 ! rtpopuspay ! fakesink sync=false",
        port0 + 2 * i, port0 + 2 * i + 1, i, i);
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      if (i != j)
        g_string_append_printf (fl, " t%d. ! m%d.sink_%%u", i, j); /* as the daemon: no queue */
  GSubprocess *f = gst_launch (fl->str), *s = gst_launch (src->str);
  g_string_free (src, TRUE);
  g_string_free (fl, TRUE);
  double cpu = -1;
  if (f && s) {
    g_usleep (3 * G_USEC_PER_SEC);
    cpu = cpu_window (f, 6, NULL);
  }
  for (GSubprocess **p = (GSubprocess *[]){ f, s, NULL }; *p; p++) {
    g_subprocess_force_exit (*p);
    g_subprocess_wait (*p, NULL, NULL);
    g_object_unref (*p);
  }
  return cpu;
}

/* Beep → onset delays (ms) from a sender's and a listener's reports, appended to `out`. */
static int
mouth_to_ear (json_t *sender, json_t *listener, double *out, int max)
{
  int n = 0;
  json_t *beeps = json_object_get (sender, "beeps"), *ons = json_object_get (listener, "onsets");
  for (size_t i = 0; i < json_array_size (beeps) && n < max; i++) {
    gint64 b = json_integer_value (json_array_get (beeps, i));
    for (size_t k = 0; k < json_array_size (ons); k++) {
      gint64 o = json_integer_value (json_array_get (ons, k));
      if (o >= b && o < b + G_USEC_PER_SEC) {
        out[n++] = (o - b) / 1000.0;
        break;
      }
    }
  }
  return n;
}


static const char *const env[] = { "HEARINGD_LOG_LEVEL=warning", "HEARINGD_HEARING_LOBBY=false",
                                   NULL };

/* `bench-media RUNS compare OTHER_HEARINGD`: the daemon's CPU for a hearing of 4, held 16 s,
 * with OTHER_HEARINGD and with $HD_HEARINGD alternately, RUNS times each. Between invocations on
 * a shared machine the same daemon reads ±15 %; interleaved, a few points show. */
static int
compare (int runs, const char *other)
{
  g_autofree char *self = g_strdup (g_getenv ("HD_HEARINGD"));
  if (!self) {
    fprintf (stderr, "bench-media compare: HD_HEARINGD names this daemon\n");
    return 1;
  }
  const char *bins[2] = { other, self };
  double cpu[2][9];
  for (int r = 0; r < runs; r++)
    for (int b = 0; b < 2; b++) {
      g_setenv ("HD_HEARINGD", bins[b], TRUE); /* read by hd_test_daemon_start */
      g_autofree char *root = daemon_begin ("hd-bench-media", env);
      g_autofree char *hid = new_hearing ();
      GSubprocess *cl[4];
      for (int i = 0; i < 4; i++)
        cl[i] = client (hid, 26, 300 + 100 * i, CLIENT_OPTS);
      g_usleep (8 * G_USEC_PER_SEC); /* everyone connected */
      cpu[b][r] = cpu_window (d->proc, 16, NULL);
      for (int i = 0; i < 4; i++)
        json_decref (finish (cl[i]));
      daemon_end (root);
      fprintf (stderr, "pair %d: %s %.1f %%\n", r + 1, bins[b], cpu[b][r]);
    }
  g_setenv ("HD_HEARINGD", self, TRUE);
  double o = median (cpu[0], runs), n = median (cpu[1], runs);
  printf ("bench-media compare: hearing of 4, daemon CPU over 16 s, %d interleaved pairs\n", runs);
  printf ("%s: %.1f %% of one core (median)\n%s: %.1f %% of one core (median); ratio %.3f\n", other,
          o, self, n, o > 0 ? n / o : -1);
  return 0;
}

/* `bench-media RUNS churn`: RUNS hearings of 4 one after another in one daemon (each held 10 s,
 * then ended), its resident memory after each: what a day of hearings leaves behind. */
static int
churn (int runs)
{
  g_autofree char *root = daemon_begin ("hd-bench-media", env);
  g_usleep (2 * G_USEC_PER_SEC);
  long rss0 = 0, rss = 0, peak = 0;
  double cpu;
  proc_stat (d->proc, &cpu, &rss0);
  printf ("bench-media churn: resident memory, hearings of 4 one after another\n");
  printf ("started: %.1f MiB\n", rss0 / 1024.0);
  for (int r = 0; r < runs; r++) {
    g_autofree char *hid = new_hearing ();
    GSubprocess *cl[4];
    for (int i = 0; i < 4; i++)
      cl[i] = client (hid, 10, 300 + 100 * i, CLIENT_OPTS);
    g_usleep (8 * G_USEC_PER_SEC);
    proc_stat (d->proc, &cpu, &peak);
    for (int i = 0; i < 4; i++)
      json_decref (finish (cl[i]));
    g_autofree char *path = g_strdup_printf ("/api/v1/hearings/%s", hid);
    int st = 0;
    json_decref (hd_test_rest (d, "PATCH", path, op, "{\"state\":\"closed\"}", &st));
    g_usleep (3 * G_USEC_PER_SEC); /* everyone gone, the hearing ended */
    proc_stat (d->proc, &cpu, &rss);
    printf ("hearing %d: %.1f MiB with 4, %.1f MiB after (%+.1f since the start)\n", r + 1,
            peak / 1024.0, rss / 1024.0, (rss - rss0) / 1024.0);
    fflush (stdout);
  }
  daemon_end (root);
  return 0;
}

int
main (int argc, char **argv)
{
  int runs = CLAMP (argc > 1 ? atoi (argv[1]) : 3, 1, 9);
  /* `bench-media RUNS latency`: the mouth-to-ear figure alone; `bench-media 1 hold [N]`: one
   * hearing of N (4) held for 30 s, the daemon's pid printed (to profile it: perf record -p PID);
   * `bench-media RUNS compare OTHER_HEARINGD`: see compare() */
  gboolean latency_only = argc > 2 && g_str_equal (argv[2], "latency");
  gboolean hold = argc > 2 && g_str_equal (argv[2], "hold");
  if (!private_network ()) {
    fprintf (stderr, "bench-media: needs root to make its private network namespace\n");
    return 1;
  }
  hd_client_quiet ();
  if (argc > 3 && g_str_equal (argv[2], "compare"))
    return compare (runs, argv[3]);
  if (argc > 2 && g_str_equal (argv[2], "churn"))
    return churn (runs);
  static const int sizes[] = { 2, 4, 6, 9 };
  enum { NS = G_N_ELEMENTS (sizes) };
  double first[9], cpu[NS][9], flo[NS][9], ratio[NS][9], fps[NS][9], rss[9], m2e[9 * 16];
  int nm2e = 0, held = 0;
  double held_cpu = -1;
  for (int r = 0; r < runs; r++) {
    g_autofree char *root = daemon_begin ("hd-bench-media", env);
    double c0;
    long rss0;
    proc_stat (d->proc, &c0, &rss0);

    if (hold) {
      int n = CLAMP (argc > 3 ? atoi (argv[3]) : 4, 1, 16);
      g_autofree char *hid = new_hearing ();
      GSubprocess *cl[16];
      for (int i = 0; i < n; i++)
        cl[i] = client (hid, 34, 300 + 100 * i, CLIENT_OPTS);
      printf ("daemon pid %s: a hearing of %d for 30 s\n", g_subprocess_get_identifier (d->proc),
              n);
      fflush (stdout);
      for (int i = 0; i < n; i++) {
        json_t *j = finish (cl[i]);
        printf ("client %d: %.1f fps over the last 2 s\n", i,
                json_number_value (json_object_get (j, "fps_last_2s")));
        json_decref (j);
      }
      daemon_end (root);
      return 0;
    }
    /* mouth-to-ear: a 300 ms beep every second from one participant, heard by the other */
    {
      g_autofree char *hid = new_hearing ();
      GSubprocess *a = client (hid, 11, 1000, "--beep-every=1 --no-decode");
      GSubprocess *b = client (hid, 11, 300, "--onsets=1000 --no-decode --latency=20");
      json_t *ja = finish (a), *jb = finish (b);
      nm2e += mouth_to_ear (ja, jb, m2e + nm2e, 16);
      json_decref (ja);
      json_decref (jb);
      g_usleep (G_USEC_PER_SEC);
    }
    for (int k = 0; k < NS && !latency_only; k++) {
      g_autofree char *hid = new_hearing ();
      int n = sizes[k];
      GSubprocess *cl[16];
      for (int i = 0; i < n; i++)
        cl[i] = client (hid, 14, 300 + 100 * i, CLIENT_OPTS);
      g_usleep (5 * G_USEC_PER_SEC); /* everyone connected */
      long rss_n;
      cpu[k][r] = cpu_window (d->proc, 6, &rss_n);
      if (n == 9)
        rss[r] = (double)(rss_n - rss0) / 1024.0 / n;
      fps[k][r] = 1000;
      for (int i = 0; i < n; i++) {
        json_t *j = finish (cl[i]);
        fps[k][r] = MIN (fps[k][r], json_number_value (json_object_get (j, "fps_last_2s")));
        if (n == 4 && i == n - 1) /* the last of 4 to join: joined a running hearing */
          first[r] = json_number_value (json_object_get (j, "join_to_first_frame_ms"));
        json_decref (j);
      }
      g_usleep (G_USEC_PER_SEC);
      flo[k][r] = floor_cpu (n, 45000);
      ratio[k][r] = flo[k][r] > 0 ? cpu[k][r] / flo[k][r] : -1;
    }
    if (latency_only) {
      fprintf (stderr, "run %d/%d: mouth-to-ear so far %.0f ms (%d beeps)\n", r + 1, runs,
               median (m2e, nm2e), nm2e);
      daemon_end (root);
      continue;
    }
    fprintf (stderr,
             "run %d/%d: first frame %.0f ms; CPU (floor) 2: %.0f%% (%.0f%%), 4: %.0f%% "
             "(%.0f%%), 6: %.0f%% (%.0f%%), 9: %.0f%% (%.0f%%); %.1f MiB per participant\n",
             r + 1, runs, first[r], cpu[0][r], flo[0][r], cpu[1][r], flo[1][r], cpu[2][r],
             flo[2][r], cpu[3][r], flo[3][r], rss[r]);

    if (r == runs - 1) {
      /* concurrent 4-participant hearings: 1, 2, 3 … until a composite drops frames */
      for (int k = 1; k <= 8; k++) {
        GSubprocess *cl[32];
        for (int h = 0; h < k; h++) {
          g_autofree char *hid = new_hearing ();
          for (int i = 0; i < 4; i++)
            cl[h * 4 + i] = client (hid, 14, 300 + 100 * i, CLIENT_OPTS);
        }
        g_usleep (6 * G_USEC_PER_SEC);
        double now = cpu_window (d->proc, 5, NULL);
        double worst = 1000;
        for (int i = 0; i < 4 * k; i++) {
          json_t *j = finish (cl[i]);
          worst = MIN (worst, json_number_value (json_object_get (j, "fps_last_2s")));
          json_decref (j);
        }
        fprintf (stderr,
                 "%d hearings of 4 at once: slowest composite %.1f fps, daemon CPU %.0f%%\n", k,
                 worst, now);
        g_usleep (2 * G_USEC_PER_SEC);
        if (worst < 29)
          break;
        held = k;
        held_cpu = now;
      }
    }
    daemon_end (root);
  }
  printf ("bench-media: %d runs, medians (1280x720@30 composite, 640x360 VP8 + Opus per client)\n",
          runs);
  printf ("mouth-to-ear through the mixer (%d beeps): %.0f ms\n", nm2e, median (m2e, nm2e));
  if (latency_only)
    return 0;
  printf ("join -> first composite frame decoded (4th joiner): %.0f ms\n", median (first, runs));
  for (int k = 0; k < NS; k++)
    printf ("hearing of %d: daemon CPU %.0f %% of one core, floor %.0f %%, ratio %.2f; "
            "slowest composite %.1f fps\n",
            sizes[k], median (cpu[k], runs), median (flo[k], runs), median (ratio[k], runs),
            median (fps[k], runs));
  printf ("daemon resident memory per participant (9 in one hearing): %.1f MiB\n",
          median (rss, runs));
  printf ("4-participant hearings held at once at >= 29 fps: %d (daemon CPU %.0f %%)\n", held,
          held_cpu);
  /* the clients share the two cores: what the daemon alone would hold on them, by its CPU */
  printf ("4-participant hearings the daemon's CPU would allow on %d cores without the clients: "
          "%.1f\n",
          g_get_num_processors (), g_get_num_processors () * 100.0 / median (cpu[1], runs));
  return 0;
}
