/*
 * ifpp_bundle_int.h - private: the .ifppb header/entry codec shared by the streaming writer
 * (ifpp_bundle_writer.c) and reader (ifpp_bundle_reader.c).
 */
#ifndef IFPP_IFPP_BUNDLE_INT_H
#define IFPP_IFPP_BUNDLE_INT_H

#include "ifpp_int.h"

#define IFPP_BUNDLE_FILE_KIND "BPP bundle (.ifppb)"

/* Validates what the writer will encode (ST_E_INVAL / ST_E_VERSION, logged). */
st_t ifpp_bundle_hdr_check(const ifpp_bundle_hdr_t *h);
/* Appends the header SEQUENCE with `count` (hdr->count is ignored). */
st_t ifpp_bundle_hdr_encode(const ifpp_bundle_hdr_t *h, uint64_t count, buf_t *der);
/* Decodes exactly one header SEQUENCE in p[0..n); h owns its certificates on success and on
 * failure alike (free with ifpp_bundle_hdr_free). */
st_t ifpp_bundle_hdr_decode(ifpp_dec_t *d, const uint8_t *p, size_t n, ifpp_bundle_hdr_t *h);
/* Appends one entry SEQUENCE (idx only for messages). */
st_t ifpp_bundle_entry_encode(const ifpp_bundle_entry_t *e, size_t idx, buf_t *der);
/* Decodes exactly one entry SEQUENCE in p[0..n); e borrows p. */
st_t ifpp_bundle_entry_decode(ifpp_dec_t *d, const uint8_t *p, size_t n, ifpp_bundle_entry_t *e);

#endif
