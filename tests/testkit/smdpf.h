/*
 * smdpf.h - the test SM-DPf's pieces shared between bind (smdpf.c) and verify-report
 * (smdpf_report.c).
 *
 * The SM-DPf's memory under PKI/NAME/ (NAME = smdpf1, smdpf2, ...):
 *   bound.txt            one line per BPP: "EID keyIndex transactionId ICCID bundleId"
 *                        (decimal, decimal, hex, digits, hex)
 *   euicc/EID.der        CERT.EUICC of each bound eUICC
 *   euicc/EID.eum.der    the CERT.EUM it chains to
 */
#ifndef IFPP_TK_SMDPF_H
#define IFPP_TK_SMDPF_H

#include <stdint.h>

#include <openssl/x509.h>

#include "base/status.h"

/* Keeps CERT.EUICC and CERT.EUM of a bound eUICC (idempotent). */
st_t smdpf_remember_euicc(const char *pki, const char *smdpf, const uint8_t eid[16], X509 *euicc,
                          X509 *eum);

/* `smdpf verify-report FILE.ifppl [--pki DIR] [--smdpf NAME]`; argv[0] = "verify-report". */
int smdpf_verify_report_main(int argc, char **argv);

#endif
