/* goertzel.h — the power of one frequency in a block of samples (Goertzel), for the media tests
 * and the test client alike. A full-scale sine at `freq` gives about 1.0 (0 dB). */
#pragma once
#include <math.h>
#include <stddef.h>

static inline double
hd_goertzel (const float *x, size_t n, double freq, double rate)
{
  double w = 2 * M_PI * freq / rate, c = 2 * cos (w), s1 = 0, s2 = 0;
  for (size_t i = 0; i < n; i++) {
    double s0 = x[i] + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  double p = s1 * s1 + s2 * s2 - c * s1 * s2;
  return n ? p / ((double) n * n / 4) : 0;
}
