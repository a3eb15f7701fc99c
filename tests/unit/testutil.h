/*
 * testutil.h - helpers shared by the unit tests.
 */
#ifndef IFPP_TESTUTIL_H
#define IFPP_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

#include "base/buf.h"
#include "suites.h" /* prototypes of every test_<suite>_register */

/* Adds a suite and its tests; aborts the runner on a registry error (test code may exit). */
typedef struct {
    const char *name;
    CU_TestFunc fn;
} tu_test_t;
void tu_add_suite(const char *name, const tu_test_t *tests, size_t n);
#define TU_ADD_SUITE(name, arr) tu_add_suite(name, arr, sizeof(arr) / sizeof(arr[0]))

/* Decodes hex into a fresh buffer (CU_FAIL on bad hex); caller frees with buf_free. */
buf_t tu_hex(const char *hex);

/* Asserts p[0..n) equals the hex string, printing both on mismatch. */
#define TU_ASSERT_HEX(p, n, hex) tu_assert_hex((p), (n), (hex), __FILE__, __LINE__)
void tu_assert_hex(const uint8_t *p, size_t n, const char *hex, const char *file, int line);

/* A fresh private temp directory (mkdtemp under $TMPDIR or /tmp); free() the result. */
char *tu_tmpdir(const char *tag);
/* Removes a directory tree (no symlinks followed). */
void tu_rmrf(const char *path);

/* ../shared (IFPP_SHARED_DIR) if it exists and holds `sub` (e.g. "data/sgp26"), else NULL.
 * Returns a malloc'd path "SHARED/sub". When NULL, call tu_skip() with the reason. */
char *tu_shared_path(const char *sub);

/* Records a skipped group of tests (printed at the end of the run: "SKIPPED: ..."). */
void tu_skip(const char *suite, const char *why);
void tu_print_skips(void);

/* Build/source directories from the environment set by meson (IFPP_BUILD_DIR...). */
const char *tu_build_dir(void);
const char *tu_source_dir(void);

#endif
