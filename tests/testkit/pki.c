/*
 * pki.c - `ifpp-testkit pki init DIR [--curve C] [--from-sgp26 SGP26DIR]` (DESIGN §4).
 *
 * Writes the GSMA-shaped test PKI in the layout of testkit.h and DIR/station.conf:
 *   native      every key fresh on the chosen curve: CI, EUM (EIN prefix 89049032, as SGP.26),
 *               SM-DPf 1 (2.999.10) and 2 (2.999.12) with DPpb + DPauth, DM CA + DM cert;
 *   --from-sgp26  interop: CI, EUM and SM-DPf 1 (DPpb/DPauth, 2.999.10) are the SGP.26 test
 *               certificates and keys (NIST, or BRP with --curve brainpoolP256r1); SM-DPf 2 is
 *               minted under the SGP.26 CI with SK_CI, the DM CA and DM cert are minted.
 * The PKI is for tests only: keys are unencrypted (mode 0600).
 *
 * station.conf ([smdpf] allowed lists every SM-DPf OID the station accepts bundles from; the
 * bundle signer certificates travel inside each bundle, so no per-OID key is configured):
 *   [station] id, state_dir   [trust] ci   [smdpf] allowed   [dm] id, key, cert, chain
 *   [card] isdr_aid, block_size
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "base/buf.h"
#include "base/log.h"
#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/ec.h"
#include "testkit.h"

#define PKI_EIN_PREFIX "89049032"
#define PKI_SMDPF1_OID "2.999.10"
#define PKI_SMDPF2_OID "2.999.12"
#define PKI_DM_ID      "DM-TEST"
#define PKI_STATION_ID "STATION-01"
#define PKI_ISDR_AID   "A0000005591010FFFFFFFF8900000100"
#define PKI_BLOCK_SIZE 120

/* One key + certificate of the PKI. */
typedef struct {
    EVP_PKEY *key;
    X509 *cert;
} kc_t;

typedef struct {
    kc_t ci, eum, dp1pb, dp1auth, dp2pb, dp2auth, dmca, dm;
} pki_t;

static void kc_free(kc_t *k) {
    EVP_PKEY_free(k->key);
    X509_free(k->cert);
    k->key = NULL;
    k->cert = NULL;
}

static void pki_free(pki_t *p) {
    kc_free(&p->ci);
    kc_free(&p->eum);
    kc_free(&p->dp1pb);
    kc_free(&p->dp1auth);
    kc_free(&p->dp2pb);
    kc_free(&p->dp2auth);
    kc_free(&p->dmca);
    kc_free(&p->dm);
}

static void usage(FILE *f) {
    fprintf(f, "usage: ifpp-testkit pki init DIR [--curve P-256|brainpoolP256r1] "
               "[--from-sgp26 SGP26DIR]\n");
}

static st_t mkdir_p(const char *path, mode_t mode) {
    char tmp[PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(tmp))
        return ST_E_INVAL;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return st_from_errno(errno);
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return st_from_errno(errno);
    return ST_OK;
}

/* snprintf that reports truncation (paths are built, never silently cut). */
static st_t fmt(char *out, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));
static st_t fmt(char *out, size_t n, const char *f, ...) {
    va_list ap;
    int r;

    va_start(ap, f);
    r = vsnprintf(out, n, f, ap);
    va_end(ap);
    return (r < 0 || (size_t)r >= n) ? ST_E_TOO_LARGE : ST_OK;
}

static int fail(const char *what, st_t st) {
    fprintf(stderr, "ifpp-testkit pki: %s: %s\n", what, st_str(st));
    return 1;
}

/* Loads an SGP.26 certificate + key pair and checks that they match and sit on `curve`. */
static st_t load_sgp26(const char *dir, const char *sub, const char *certname, const char *keyname,
                       const char *variant, ec_curve_t curve, kc_t *out) {
    char cp[PATH_MAX], kp[PATH_MAX];
    ec_curve_t c;
    st_t st;

    if (fmt(cp, sizeof(cp), "%s/%s/%s_%s.der", dir, sub, certname, variant) != ST_OK
        || fmt(kp, sizeof(kp), "%s/%s/%s_%s.pem", dir, sub, keyname, variant) != ST_OK)
        return ST_E_TOO_LARGE;
    if ((st = cert_load(cp, &out->cert)) != ST_OK) {
        fprintf(stderr, "ifpp-testkit pki: %s: %s\n", cp, st_str(st));
        return st;
    }
    if ((st = ec_key_load_pem_published(kp, &out->key)) != ST_OK) {
        fprintf(stderr, "ifpp-testkit pki: %s: %s\n", kp, st_str(st));
        return st;
    }
    if (X509_check_private_key(out->cert, out->key) != 1) {
        st_from_openssl("X509_check_private_key");
        fprintf(stderr, "ifpp-testkit pki: %s does not match %s\n", kp, cp);
        return ST_E_CONFLICT;
    }
    if (ec_key_curve(out->key, &c) != ST_OK || c != curve) {
        fprintf(stderr, "ifpp-testkit pki: %s is not on %s\n", kp, ec_curve_name(curve));
        return ST_E_CONFLICT;
    }
    return ST_OK;
}

static st_t mint_native(pki_t *p, ec_curve_t curve) {
    st_t st;

    if ((st = ec_key_generate(curve, &p->ci.key)) != ST_OK
        || (st = certgen_ci(p->ci.key, "IFPP TEST", "IFPP Test CI", &p->ci.cert)) != ST_OK)
        return st;
    if ((st = ec_key_generate(curve, &p->eum.key)) != ST_OK
        || (st = certgen_eum(p->ci.cert, p->ci.key, p->eum.key, "IFPP Test EUM", PKI_EIN_PREFIX,
                             &p->eum.cert))
               != ST_OK)
        return st;
    if ((st = ec_key_generate(curve, &p->dp1pb.key)) != ST_OK
        || (st = certgen_smdpf(p->ci.cert, p->ci.key, p->dp1pb.key, CERTGEN_DP_PB, PKI_SMDPF1_OID,
                               "IFPP Test SM-DPf 1", "TEST SM-DPf 1", &p->dp1pb.cert))
               != ST_OK)
        return st;
    if ((st = ec_key_generate(curve, &p->dp1auth.key)) != ST_OK
        || (st = certgen_smdpf(p->ci.cert, p->ci.key, p->dp1auth.key, CERTGEN_DP_AUTH,
                               PKI_SMDPF1_OID, "IFPP Test SM-DPf 1", "TEST SM-DPf 1",
                               &p->dp1auth.cert))
               != ST_OK)
        return st;
    return ST_OK;
}

static st_t load_from_sgp26(pki_t *p, const char *dir, ec_curve_t curve) {
    const char *v = curve == EC_CURVE_BRAINPOOLP256R1 ? "ECDSA_BRP" : "ECDSA_NIST";
    st_t st;

    if ((st = load_sgp26(dir, "CertificateIssuer", "CERT_CI", "SK_CI", v, curve, &p->ci)) != ST_OK
        || (st = load_sgp26(dir, "EUM", "CERT_EUM", "SK_EUM", v, curve, &p->eum)) != ST_OK
        || (st = load_sgp26(dir, "DPpb", "CERT_S_SM_DPpb", "SK_S_SM_DPpb", v, curve, &p->dp1pb))
               != ST_OK
        || (st = load_sgp26(dir, "DPauth", "CERT_S_SM_DPauth", "SK_S_SM_DPauth", v, curve,
                            &p->dp1auth))
               != ST_OK)
        return st;
    return ST_OK;
}

/* What both modes mint: SM-DPf 2 under the CI, the DM CA and the DM station certificate. */
static st_t mint_common(pki_t *p, ec_curve_t curve) {
    st_t st;

    if ((st = ec_key_generate(curve, &p->dp2pb.key)) != ST_OK
        || (st = certgen_smdpf(p->ci.cert, p->ci.key, p->dp2pb.key, CERTGEN_DP_PB, PKI_SMDPF2_OID,
                               "IFPP Test SM-DPf 2", "TEST SM-DPf 2", &p->dp2pb.cert))
               != ST_OK)
        return st;
    if ((st = ec_key_generate(curve, &p->dp2auth.key)) != ST_OK
        || (st = certgen_smdpf(p->ci.cert, p->ci.key, p->dp2auth.key, CERTGEN_DP_AUTH,
                               PKI_SMDPF2_OID, "IFPP Test SM-DPf 2", "TEST SM-DPf 2",
                               &p->dp2auth.cert))
               != ST_OK)
        return st;
    if ((st = ec_key_generate(curve, &p->dmca.key)) != ST_OK
        || (st = certgen_dm_ca(p->dmca.key, "IFPP Test DM", "IFPP Test DM CA", &p->dmca.cert))
               != ST_OK)
        return st;
    if ((st = ec_key_generate(curve, &p->dm.key)) != ST_OK
        || (st = certgen_dm(p->dmca.cert, p->dmca.key, p->dm.key, "IFPP Test DM", PKI_DM_ID,
                            &p->dm.cert))
               != ST_OK)
        return st;
    return ST_OK;
}

/* Checks what was written with the station's own verifier: a PKI that does not verify is a
 * bug here, not in the station. */
static st_t self_check(const pki_t *p) {
    cert_trust_t *gsma = cert_trust_new(), *dm = cert_trust_new();
    st_t st = ST_E_NOMEM;

    if (gsma == NULL || dm == NULL)
        goto out;
    if ((st = cert_trust_add(gsma, p->ci.cert)) != ST_OK
        || (st = cert_trust_add(dm, p->dmca.cert)) != ST_OK)
        goto out;
    if ((st = cert_verify_chain(gsma, p->eum.cert, NULL, CERT_POLICY_EUM)) != ST_OK
        || (st = cert_verify_chain(gsma, p->dp1pb.cert, NULL, CERT_POLICY_DP_PB)) != ST_OK
        || (st = cert_verify_chain(gsma, p->dp1auth.cert, NULL, CERT_POLICY_DP_AUTH)) != ST_OK
        || (st = cert_verify_chain(gsma, p->dp2pb.cert, NULL, CERT_POLICY_DP_PB)) != ST_OK
        || (st = cert_verify_chain(gsma, p->dp2auth.cert, NULL, CERT_POLICY_DP_AUTH)) != ST_OK
        || (st = cert_verify_chain(dm, p->dm.cert, NULL, CERT_POLICY_IFPP_DM)) != ST_OK)
        goto out;
out:
    cert_trust_free(gsma);
    cert_trust_free(dm);
    return st;
}

static st_t save_kc(const char *dir, const char *name, const kc_t *k) {
    char kp[PATH_MAX], cp[PATH_MAX];
    st_t st;

    if (fmt(kp, sizeof(kp), "%s/%s.key.pem", dir, name) != ST_OK
        || fmt(cp, sizeof(cp), "%s/%s.cert.pem", dir, name) != ST_OK)
        return ST_E_TOO_LARGE;
    if ((st = ec_key_save_pem(kp, k->key, 0600)) != ST_OK) {
        fprintf(stderr, "ifpp-testkit pki: cannot write %s: %s\n", kp, st_str(st));
        return st;
    }
    if ((st = cert_save_pem(cp, k->cert)) != ST_OK)
        fprintf(stderr, "ifpp-testkit pki: cannot write %s: %s\n", cp, st_str(st));
    return st;
}

static st_t save_text(const char *path, const char *text, unsigned mode) {
    st_t st = buf_write_file_atomic(path, text, strlen(text), mode);
    if (st != ST_OK)
        fprintf(stderr, "ifpp-testkit pki: cannot write %s: %s\n", path, st_str(st));
    return st;
}

static st_t save_smdpf(const char *root, const char *sub, const char *oid, const kc_t *pb,
                       const kc_t *auth) {
    char dir[PATH_MAX], path[PATH_MAX], line[64];
    st_t st;

    if (fmt(dir, sizeof(dir), "%s/%s", root, sub) != ST_OK
        || fmt(path, sizeof(path), "%s/oid.txt", dir) != ST_OK)
        return ST_E_TOO_LARGE;
    if ((st = mkdir_p(dir, 0755)) != ST_OK)
        return st;
    if ((st = save_kc(dir, "dppb", pb)) != ST_OK || (st = save_kc(dir, "dpauth", auth)) != ST_OK)
        return st;
    snprintf(line, sizeof(line), "%s\n", oid);
    return save_text(path, line, 0644);
}

static st_t save_station_conf(const char *root) {
    char path[PATH_MAX];
    char *conf = NULL;
    st_t st;

    if (asprintf(&conf,
                 "# ifpp-station configuration for the test PKI in %s\n"
                 "# (written by `ifpp-testkit pki init`; test keys only, never in production)\n"
                 "\n"
                 "[station]\n"
                 "id=%s\n"
                 "state_dir=%s/state\n"
                 "\n"
                 "[trust]\n"
                 "# eSIM CA (CI) certificate(s): anchors for EUM/eUICC and SM-DPf chains\n"
                 "ci=%s/ci.cert.pem\n"
                 "\n"
                 "[smdpf]\n"
                 "# SM-DPf OIDs (SAN registeredID of DPpb/DPauth) whose bundles are accepted\n"
                 "allowed=%s,%s\n"
                 "\n"
                 "[dm]\n"
                 "# the Device Manufacturer's station key: signs .ifppr requests and .ifppl "
                 "reports\n"
                 "id=%s\n"
                 "key=%s/dm.key.pem\n"
                 "cert=%s/dm.cert.pem\n"
                 "chain=%s/dm-ca.cert.pem\n"
                 "\n"
                 "[card]\n"
                 "isdr_aid=%s\n"
                 "block_size=%d\n",
                 root, PKI_STATION_ID, root, root, PKI_SMDPF1_OID, PKI_SMDPF2_OID, PKI_DM_ID, root,
                 root, root, PKI_ISDR_AID, PKI_BLOCK_SIZE)
        < 0)
        return ST_E_NOMEM;
    st = fmt(path, sizeof(path), "%s/station.conf", root);
    if (st == ST_OK)
        st = save_text(path, conf, 0644);
    free(conf);
    return st;
}

static int pki_init(int argc, char **argv) {
    const char *dir = NULL, *sgp26 = NULL;
    char root[PATH_MAX], path[PATH_MAX + 32], prefix[33];
    ec_curve_t curve = EC_CURVE_P256;
    pki_t p;
    struct stat sb;
    st_t st;
    int rc = 1;

    memset(&p, 0, sizeof(p));
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--curve") && i + 1 < argc) {
            if (ec_curve_parse(argv[++i], &curve) != ST_OK) {
                fprintf(stderr, "ifpp-testkit pki: unknown curve '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--from-sgp26") && i + 1 < argc) {
            sgp26 = argv[++i];
        } else if (argv[i][0] != '-' && dir == NULL) {
            dir = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (dir == NULL) {
        usage(stderr);
        return 2;
    }
    if ((st = mkdir_p(dir, 0755)) != ST_OK)
        return fail(dir, st);
    if (realpath(dir, root) == NULL)
        return fail(dir, st_from_errno(errno));
    if ((st = fmt(path, sizeof(path), "%s/ci.cert.pem", root)) != ST_OK)
        return fail(dir, st);
    if (stat(path, &sb) == 0) {
        fprintf(stderr, "ifpp-testkit pki: %s already holds a PKI (%s)\n", root, path);
        return 1;
    }

    st = sgp26 != NULL ? load_from_sgp26(&p, sgp26, curve) : mint_native(&p, curve);
    if (st != ST_OK) {
        rc = fail(sgp26 != NULL ? "loading the SGP.26 PKI" : "minting the PKI", st);
        goto out;
    }
    if ((st = mint_common(&p, curve)) != ST_OK) {
        rc = fail("minting the PKI", st);
        goto out;
    }
    if ((st = self_check(&p)) != ST_OK) {
        rc = fail("the new PKI does not verify", st);
        goto out;
    }
    if ((st = fmt(path, sizeof(path), "%s/state", root)) != ST_OK
        || (st = save_kc(root, "ci", &p.ci)) != ST_OK
        || (st = save_kc(root, "eum", &p.eum)) != ST_OK
        || (st = save_smdpf(root, "smdpf1", PKI_SMDPF1_OID, &p.dp1pb, &p.dp1auth)) != ST_OK
        || (st = save_smdpf(root, "smdpf2", PKI_SMDPF2_OID, &p.dp2pb, &p.dp2auth)) != ST_OK
        || (st = save_kc(root, "dm-ca", &p.dmca)) != ST_OK
        || (st = save_kc(root, "dm", &p.dm)) != ST_OK || (st = mkdir_p(path, 0700)) != ST_OK
        || (st = save_station_conf(root)) != ST_OK) {
        rc = fail(root, st);
        goto out;
    }
    if (cert_eum_permitted_ein(p.eum.cert, 0, prefix, NULL, 0) != ST_OK)
        snprintf(prefix, sizeof(prefix), "?");
    printf("pki: %s (%s%s): CI, EUM (EIN prefix %s), SM-DPf %s and %s, DM %s; "
           "station.conf written\n",
           root, ec_curve_name(curve), sgp26 != NULL ? ", SGP.26 CI/EUM/SM-DPf 1" : "", prefix,
           PKI_SMDPF1_OID, PKI_SMDPF2_OID, PKI_DM_ID);
    rc = 0;
out:
    pki_free(&p);
    return rc;
}

int tk_pki_main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "init"))
        return pki_init(argc - 2, argv + 2);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
