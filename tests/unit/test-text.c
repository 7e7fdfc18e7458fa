/* test-text.c — codecs/text.c: the fonts installed draw a Chinese case number and names (else
 * they are boxes on the record), and a character no font has is counted. */
#include "codecs/text.h"

static void
test_chinese_has_a_font (void)
{
  int w = 0, h = 0, unknown = -1;
  hd_text_measure ("(2026)浙0109民初1234号 张三 审判长", "Sans 18", &w, &h, &unknown);
  if (unknown)
    g_test_message ("%d characters have no font: install fonts-wqy-microhei (tools/install-deps)",
                    unknown);
  g_assert_cmpint (unknown, ==, 0);
  g_assert_cmpint (w, >, 0);
  g_assert_cmpint (h, >, 0);
}

static void
test_missing_glyph_counted (void)
{
  int w, h, unknown = 0, w1, h1;
  hd_text_measure ("\xf0\x90\x98\x80", "Sans 18", &w, &h, &unknown); /* U+10600, Linear A */
  g_assert_cmpint (unknown, ==, 1);
  /* and sizes grow with the text */
  hd_text_measure ("Zhang", "Sans 18", &w, &h, NULL);
  hd_text_measure ("Zhang San (plaintiff)", "Sans 18", &w1, &h1, NULL);
  g_assert_cmpint (w1, >, w);
  g_assert_cmpint (h1, ==, h);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/text/chinese-has-a-font", test_chinese_has_a_font);
  g_test_add_func ("/text/missing-glyph-counted", test_missing_glyph_counted);
  return g_test_run ();
}
