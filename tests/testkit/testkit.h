/*
 * testkit.h - ifpp-testkit: the station's counterparts for tests and the demo (DESIGN §4):
 * a GSMA-shaped test PKI, a test EUM, a simulated eUICC behind vpcd, a test SM-DPf and the
 * virtual line. Each command group is one `tk_<group>_main(argc, argv)` with argv[0] = group
 * name; it returns the exit code (0 ok, 1 failed, 2 usage).
 *
 * Command groups are listed in TESTKIT_GROUPS; add a line with the group's file.
 *
 * PKI directory layout (written by `pki init`, read by every command with --pki DIR):
 *   DIR/ci.key.pem  ci.cert.pem               eSIM CA (test CI)
 *   DIR/eum.key.pem eum.cert.pem              EUM (GSMA nameConstraints: serialNumber prefix)
 *   DIR/smdpf1/ dppb.key.pem dppb.cert.pem    SM-DPf 1: binding key (CERT.DPpb, role dp-pb)
 *              dpauth.key.pem dpauth.cert.pem SM-DPf 1: bundle signer (role dp-auth)
 *              oid.txt                        its OID (SAN registeredID), e.g. 2.999.10
 *   DIR/smdpf2/ ...                           SM-DPf 2 (2.999.12)
 *   DIR/dm-ca.key.pem dm-ca.cert.pem          the DM's own CA (trust anchor for reports)
 *   DIR/dm.key.pem dm.cert.pem                the DM station key (signs .ifppr and .ifppl)
 *   DIR/station.conf                          station configuration trusting this PKI
 * Every certificate is PEM; keys are PKCS#8 PEM, mode 0600.
 */
#ifndef IFPP_TESTKIT_H
#define IFPP_TESTKIT_H

// clang-format off
#define TESTKIT_GROUPS(X)                                                                      \
    X(pki, "pki init DIR [--curve P-256|brainpoolP256r1] [--from-sgp26 DIR]")                  \
    X(smdpf, "smdpf bind REQ.ifppr|DATA.ifppe [--smdpf NAME] [--profiles UPP...] [--ppk] -o OUT.ifppb | smdpf verify-report FILE.ifppl [--smdpf NAME]") \
    X(eum, "eum make DIR --count N --keys K [--eid-prefix P] [--pki DIR]")                     \
    X(euicc, "euicc serve --state DIR --vpcd-port P [--latency-ms N] [--bps N] [--max-block N] [--t0-only] [--faults SPEC]") \
    X(line, "line up DIR --readers N [--cards DIR] [--base-port P] [serve options] | line down DIR | line bench DIR")
// clang-format on

#define X_DECL(name, help) int tk_##name##_main(int argc, char **argv);
TESTKIT_GROUPS(X_DECL)
#undef X_DECL

#endif
