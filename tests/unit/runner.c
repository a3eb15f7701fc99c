/*
 * runner.c - the one CUnit runner (libtraceevent shape).
 *   runner [-s] [-r SUITE]...   -s: silent (summary only), -r: run only the named suites
 * Exits non-zero on any failed test, failed suite or CUnit error. Verbose mode so that CI
 * reads CUnit's summary lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "base/log.h"
#include "suites.h"
#include "testutil.h"

int main(int argc, char **argv) {
    const char *only[32];
    size_t n_only = 0;
    int c, silent = 0;
    int rc;

    while ((c = getopt(argc, argv, "sr:")) != -1) {
        switch (c) {
        case 's':
            silent = 1;
            break;
        case 'r':
            if (n_only < 32)
                only[n_only++] = optarg;
            break;
        default:
            fprintf(stderr, "usage: %s [-s] [-r SUITE]...\n", argv[0]);
            return 2;
        }
    }
    /* Libraries log through st_log; keep test output readable unless asked. */
    if (getenv("IFPP_TEST_LOG")) {
        st_log_level_t l;
        if (st_log_level_parse(getenv("IFPP_TEST_LOG"), &l))
            st_log_set_level(l);
    } else {
        st_log_set_level(ST_LOG_ERR);
    }

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;

#define X_REG(name)                                                                                \
    do {                                                                                           \
        int want = n_only == 0;                                                                    \
        for (size_t i = 0; i < n_only; i++)                                                        \
            if (strcmp(only[i], #name) == 0)                                                       \
                want = 1;                                                                          \
        if (want)                                                                                  \
            test_##name##_register();                                                              \
    } while (0);
    TEST_SUITES(X_REG)
#undef X_REG

    if (CU_get_error() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit registry error: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(silent ? CU_BRM_SILENT : CU_BRM_VERBOSE);
    CU_basic_run_tests();
    tu_print_skips();
    rc = (CU_get_number_of_tests_failed() || CU_get_number_of_suites_failed()
          || CU_get_number_of_failures() || CU_get_error() != CUE_SUCCESS);
    CU_cleanup_registry();
    return rc;
}
