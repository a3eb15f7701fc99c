/* Unit tests: status table, buffers, hex, atomic file write. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/status.h"
#include "testutil.h"

static void test_status_table(void) {
    CU_ASSERT_STRING_EQUAL(st_str(ST_OK), "ok");
    CU_ASSERT_STRING_EQUAL(st_name(ST_E_PARSE), "ST_E_PARSE");
    CU_ASSERT_STRING_EQUAL(st_str((st_t)9999), "unknown status");
    for (int i = 0; i < ST__COUNT; i++) {
        CU_ASSERT_PTR_NOT_NULL(st_str((st_t)i));
        CU_ASSERT(strncmp(st_name((st_t)i), "ST_", 3) == 0);
    }
    CU_ASSERT_EQUAL(st_from_errno(ENOSPC), ST_E_NOSPACE);
    CU_ASSERT_EQUAL(st_from_errno(ENOENT), ST_E_NOENT);
    CU_ASSERT_EQUAL(st_from_errno(ELOOP), ST_E_PERM);
}

static void test_hex(void) {
    buf_t b = BUF_INIT;
    char out[16];
    uint8_t fixed[2];
    CU_ASSERT_EQUAL(hex_decode("0aBc:FF 10", &b), ST_OK);
    TU_ASSERT_HEX(b.data, b.len, "0abcff10");
    hex_encode(b.data, b.len, out);
    CU_ASSERT_STRING_EQUAL(out, "0abcff10");
    CU_ASSERT_EQUAL(hex_decode("abc", &b), ST_E_PARSE);
    CU_ASSERT_EQUAL(b.len, 4); /* unchanged on error */
    CU_ASSERT_EQUAL(hex_decode("zz", &b), ST_E_PARSE);
    CU_ASSERT_EQUAL(hex_decode_exact("0102", fixed, 2), ST_OK);
    CU_ASSERT_EQUAL(hex_decode_exact("010203", fixed, 2), ST_E_PARSE);
    buf_free(&b);
}

static void test_buf_grow(void) {
    buf_t b = BUF_INIT;
    for (int i = 0; i < 10000; i++)
        CU_ASSERT_EQUAL_FATAL(buf_append_byte(&b, (uint8_t)i), ST_OK);
    CU_ASSERT_EQUAL(b.len, 10000);
    CU_ASSERT_EQUAL(b.data[9999], (uint8_t)9999);
    CU_ASSERT_EQUAL(buf_reserve(&b, SIZE_MAX), ST_E_TOO_LARGE);
    buf_wipe_free(&b);
    CU_ASSERT_PTR_NULL(b.data);
    buf_free(NULL);
    buf_wipe_free(NULL);
    CU_ASSERT_EQUAL(mem_ct_cmp("abc", "abc", 3), 0);
    CU_ASSERT_NOT_EQUAL(mem_ct_cmp("abc", "abd", 3), 0);
}

static void test_file_atomic(void) {
    char *dir = tu_tmpdir("base");
    char path[512], link[512];
    buf_t b = BUF_INIT;
    struct stat sb;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof(path), "%s/f.bin", dir);
    snprintf(link, sizeof(link), "%s/l.bin", dir);
    CU_ASSERT_EQUAL(buf_write_file_atomic(path, "hello", 5, 0600), ST_OK);
    CU_ASSERT_EQUAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(buf_read_file(&b, path, 100), ST_OK);
    CU_ASSERT_EQUAL(b.len, 5);
    CU_ASSERT_EQUAL(memcmp(b.data, "hello", 5), 0);
    CU_ASSERT_EQUAL(buf_read_file(&b, path, 4), ST_E_TOO_LARGE);
    CU_ASSERT_EQUAL(symlink(path, link), 0);
    CU_ASSERT_EQUAL(buf_read_file(&b, link, 100), ST_E_PERM); /* O_NOFOLLOW */
    CU_ASSERT_EQUAL(buf_read_file(&b, dir, 100), ST_E_INVAL); /* not a regular file */
    snprintf(link, sizeof(link), "%s/missing", dir);
    CU_ASSERT_EQUAL(buf_read_file(&b, link, 100), ST_E_NOENT);
    snprintf(link, sizeof(link), "%s/no/such/dir/x", dir);
    CU_ASSERT_EQUAL(buf_write_file_atomic(link, "x", 1, 0600), ST_E_NOENT);
    buf_free(&b);
    tu_rmrf(dir);
    free(dir);
}

/* buf_read_fd: a pipe read to EOF (several reads, more than one growth step), the limit
 * exact and one byte over, the fd left open. */
static void test_read_fd(void) {
    int p[2];
    buf_t b = BUF_INIT;
    static uint8_t data[10000];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    for (int over = 0; over < 2; over++) {
        CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
        CU_ASSERT_EQUAL_FATAL(write(p[1], data, sizeof(data)), (ssize_t)sizeof(data));
        close(p[1]);
        CU_ASSERT_EQUAL(buf_append(&b, "junk", 4), ST_OK); /* replaced, not appended to */
        CU_ASSERT_EQUAL(buf_read_fd(&b, p[0], sizeof(data) - (size_t)over),
                        over ? ST_E_TOO_LARGE : ST_OK);
        CU_ASSERT_EQUAL(b.len, over ? 0 : sizeof(data));
        if (!over)
            CU_ASSERT_EQUAL(memcmp(b.data, data, sizeof(data)), 0);
        CU_ASSERT_EQUAL(close(p[0]), 0); /* still open */
    }
    CU_ASSERT_EQUAL(buf_read_fd(&b, -1, 10), st_from_errno(EBADF)); /* a read error is mapped */
    buf_free(&b);
}

static int sink_calls;
static char sink_last[256];
static void capture_sink(st_log_level_t level, const char *msg, void *ud) {
    (void)level;
    (void)ud;
    sink_calls++;
    snprintf(sink_last, sizeof(sink_last), "%s", msg);
}

static void test_log_levels(void) {
    st_log_level_t saved = st_log_get_level();
    st_log_level_t l;
    uint8_t bytes[3] = {0x80, 0xE2, 0x91};
    st_log_set_sink(capture_sink, NULL);
    st_log_set_level(ST_LOG_INFO);
    sink_calls = 0;
    st_log(ST_LOG_DEBUG, "dropped %d", 1);
    CU_ASSERT_EQUAL(sink_calls, 0);
    st_log(ST_LOG_INFO, "kept %d", 2);
    CU_ASSERT_EQUAL(sink_calls, 1);
    CU_ASSERT_STRING_EQUAL(sink_last, "kept 2");
    st_log_hex(ST_LOG_TRACE, "apdu", bytes, 3);
    CU_ASSERT_EQUAL(sink_calls, 1); /* trace is below the threshold */
    st_log_set_level(ST_LOG_TRACE);
    st_log_hex(ST_LOG_TRACE, "apdu", bytes, 3);
    CU_ASSERT_STRING_EQUAL(sink_last, "apdu: 80E291");
    CU_ASSERT(st_log_level_parse("debug", &l) && l == ST_LOG_DEBUG);
    CU_ASSERT(!st_log_level_parse("loud", &l));
    st_log_set_sink(NULL, NULL);
    st_log_set_level(saved);
}

void test_base_register(void) {
    static const tu_test_t tests[] = {
        {"status table and errno mapping", test_status_table},
        {"hex encode/decode", test_hex},
        {"buffer growth and wipe", test_buf_grow},
        {"atomic file write, no-follow read", test_file_atomic},
        {"read an fd to its end, with a limit", test_read_fd},
        {"log levels and sink", test_log_levels},
    };
    TU_ADD_SUITE("base", tests);
}
