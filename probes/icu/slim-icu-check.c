/*
 * slim-icu-check: prints, deterministically, what ICU resolves for each locale given, so that the
 * output in the original image can be compared with the output in an image whose libicudata was
 * rebuilt with only some data items. A dropped item shows up as a different status
 * (U_USING_DEFAULT_WARNING / U_USING_FALLBACK_WARNING), actual locale, version or formatted text.
 *
 *   slim-icu-check LOCALE...
 *
 * Output, one line each:
 *   icu <u_getVersion> data <u_getDataVersion or its error name>
 *   collator <loc> <ucol_open status> <ucol_getVersion a.b.c.d> <ULOC_ACTUAL_LOCALE>
 *   dates <loc> <udat_open status> <2024-03-01 00:00 UTC, full date style, UTC, UTF-8>
 *
 * Build: gcc -O2 -o slim-icu-check slim-icu-check.c -licui18n -licuuc -licudata
 */
#include <stdio.h>
#include <string.h>
#include <unicode/icudataver.h>
#include <unicode/ucol.h>
#include <unicode/udat.h>
#include <unicode/ustring.h>
#include <unicode/utypes.h>
#include <unicode/uversion.h>

static void print_version(const UVersionInfo v) {
  char s[U_MAX_VERSION_STRING_LENGTH];
  /* a.b.c.d always (u_versionToString drops trailing zero fields) */
  snprintf(s, sizeof s, "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
  fputs(s, stdout);
}

static void check_collator(const char *loc) {
  UErrorCode status = U_ZERO_ERROR;
  UCollator *coll = ucol_open(loc, &status);
  printf("collator %s %s ", loc, u_errorName(status));
  if (coll == NULL || U_FAILURE(status)) {
    puts("- -");
    if (coll) ucol_close(coll);
    return;
  }
  UVersionInfo v;
  ucol_getVersion(coll, v);
  print_version(v);
  UErrorCode st2 = U_ZERO_ERROR;
  const char *actual = ucol_getLocaleByType(coll, ULOC_ACTUAL_LOCALE, &st2);
  printf(" %s\n", U_SUCCESS(st2) && actual ? (*actual ? actual : "root") : u_errorName(st2));
  ucol_close(coll);
}

static void check_dates(const char *loc) {
  static const UChar utc[] = {'U', 'T', 'C', 0};
  UErrorCode status = U_ZERO_ERROR;
  UDateFormat *fmt = udat_open(UDAT_NONE, UDAT_FULL, loc, utc, -1, NULL, 0, &status);
  printf("dates %s %s ", loc, u_errorName(status));
  if (fmt == NULL || U_FAILURE(status)) {
    puts("-");
    if (fmt) udat_close(fmt);
    return;
  }
  UChar buf[256];
  UErrorCode st2 = U_ZERO_ERROR;
  int32_t n = udat_format(fmt, 1709251200000.0 /* 2024-03-01T00:00:00Z */, buf, 256, NULL, &st2);
  char out[1024];
  if (U_SUCCESS(st2)) u_strToUTF8(out, sizeof out, NULL, buf, n, &st2);
  puts(U_SUCCESS(st2) ? out : u_errorName(st2));
  udat_close(fmt);
}

int main(int argc, char **argv) {
  UVersionInfo v;
  u_getVersion(v);
  fputs("icu ", stdout);
  print_version(v);
  UErrorCode status = U_ZERO_ERROR;
  UVersionInfo dv;
  u_getDataVersion(dv, &status);
  fputs(" data ", stdout);
  if (U_SUCCESS(status)) print_version(dv); else fputs(u_errorName(status), stdout);
  putchar('\n');
  for (int i = 1; i < argc; i++) {
    check_collator(argv[i]);
    check_dates(argv[i]);
  }
  return 0;
}
