/*
 * suites.h - every CUnit suite of the unit runner. Each test file defines
 * `void test_<name>_register(void)`; add one X() line per file (and the file to meson.build).
 */
#ifndef IFPP_TEST_SUITES_H
#define IFPP_TEST_SUITES_H

// clang-format off
#define TEST_SUITES(X)                                                                         \
    X(base)                                                                                    \
    X(tlv)                                                                                     \
    X(ec)                                                                                      \
    X(bsp)                                                                                     \
    X(bpp_build)                                                                               \
    X(bpp)                                                                                     \
    X(pir)                                                                                     \
    X(ifpp)                                                                                    \
    X(cert)                                                                                    \
    X(cms)                                                                                     \
    X(apdu)                                                                                    \
    X(es10)                                                                                    \
    X(monitor)                                                                                 \
    X(store)                                                                                   \
    X(config)                                                                                  \
    X(sim)                                                                                     \
    X(hostile)                                                                                 \
    X(import)                                                                                  \
    X(engine)                                                                                  \
    X(plr)                                                                                     \
    X(ui)
// clang-format on

#define X_DECL(name) void test_##name##_register(void);
TEST_SUITES(X_DECL)
#undef X_DECL

#endif
