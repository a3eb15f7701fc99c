#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void tu_add_suite(const char *name, const tu_test_t *tests, size_t n) {
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s) {
        fprintf(stderr, "CU_add_suite(%s): %s\n", name, CU_get_error_msg());
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        if (!CU_add_test(s, tests[i].name, tests[i].fn)) {
            fprintf(stderr, "CU_add_test(%s): %s\n", tests[i].name, CU_get_error_msg());
            exit(1);
        }
    }
}

buf_t tu_hex(const char *hex) {
    buf_t b = BUF_INIT;
    if (hex_decode(hex, &b) != ST_OK)
        CU_FAIL("bad hex in test vector");
    return b;
}

void tu_assert_hex(const uint8_t *p, size_t n, const char *hex, const char *file, int line) {
    buf_t want = BUF_INIT;
    int ok;
    if (hex_decode(hex, &want) != ST_OK) {
        CU_assertImplementation(CU_FALSE, (unsigned)line, "bad hex literal", file, "", CU_FALSE);
        return;
    }
    ok = want.len == n && (n == 0 || memcmp(want.data, p, n) == 0);
    if (!ok) {
        char *got = malloc(2 * n + 1);
        char *exp = malloc(2 * want.len + 1);
        if (got && exp) {
            hex_encode(p, n, got);
            hex_encode(want.data, want.len, exp);
            fprintf(stderr, "\n%s:%d: hex mismatch\n  got  %s\n  want %s\n", file, line, got, exp);
        }
        free(got);
        free(exp);
    }
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, "bytes equal expected hex",
                            file, "", CU_FALSE);
    buf_free(&want);
}

char *tu_tmpdir(const char *tag) {
    const char *base = getenv("TMPDIR");
    char *path = NULL;
    if (!base || !*base)
        base = "/tmp";
    if (asprintf(&path, "%s/ifpp-test-%s-XXXXXX", base, tag ? tag : "t") < 0)
        return NULL;
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

void tu_rmrf(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            char *sub = NULL;
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            if (asprintf(&sub, "%s/%s", path, de->d_name) >= 0) {
                tu_rmrf(sub);
                free(sub);
            }
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

char *tu_shared_path(const char *sub) {
    const char *shared = getenv("IFPP_SHARED_DIR");
#ifdef IFPP_TEST_DEFAULT_SHARED
    if (!shared)
        shared = IFPP_TEST_DEFAULT_SHARED;
#endif
    char *p = NULL;
    struct stat sb;
    if (!shared || !*shared)
        return NULL;
    if (asprintf(&p, "%s/%s", shared, sub) < 0)
        return NULL;
    if (stat(p, &sb) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static char skips[4096];

void tu_skip(const char *suite, const char *why) {
    size_t l = strlen(skips);
    snprintf(skips + l, sizeof(skips) - l, "SKIPPED: %s: %s\n", suite, why);
}

void tu_print_skips(void) {
    if (skips[0])
        printf("\n%s", skips);
}

const char *tu_build_dir(void) {
    const char *d = getenv("IFPP_BUILD_DIR");
#ifdef IFPP_TEST_DEFAULT_BUILD
    if (!d)
        d = IFPP_TEST_DEFAULT_BUILD;
#endif
    return d ? d : ".";
}

const char *tu_source_dir(void) {
    const char *d = getenv("IFPP_SOURCE_DIR");
#ifdef IFPP_TEST_DEFAULT_SOURCE
    if (!d)
        d = IFPP_TEST_DEFAULT_SOURCE;
#endif
    return d ? d : "..";
}
