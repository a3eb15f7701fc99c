#!/usr/bin/env python3
"""gen.py - writes the hostile-input corpus of ifpp-station (issue 8) and its MANIFEST.

    python3 tests/hostile/gen.py [OUTDIR]      (default: the directory of this script)

Python 3 standard library only. The output is deterministic (no randomness, no clock), so a
re-run reproduces the committed files byte for byte; CI may check that with `git diff`.

Each file is a malformed or malicious input for one parser of the station, next to a valid
baseline of the same kind (named 00-valid*) built the same way, so that each hostile file is
a small, attributable change of something that parses. tests/unit/test_hostile.c (suite
"hostile", run under ASan+UBSan by test.sh) reads MANIFEST, feeds every file to the right
parser and checks the exact status below: never a crash, never ST_OK for a hostile file,
nothing returned on failure, and for the simulated card no change of its persistent state.

MANIFEST, one line per file:  <path> <kind> <expect>  # <what it is>
  kinds    tlv bpp pir ifppe ifppr ifppb ifppl cert cms config   files (DER or text)
           es10-<function>                                      card answers to the station's
                                                                ES10 client (.rapdu, below)
           card                                                 C-APDUs for the simulated
                                                                eUICC (.capdu, below)
  expect   a status name (ST_E_PARSE ...), ST_OK for a baseline, or for `card`
           sw=XXXX (last status word) / resp=HEX (last data||SW), 61xx drained by the test
.rapdu / .capdu: one hex APDU per line, spaces ignored; "HEX xN" repeats a line N times;
'#' starts a comment. .rapdu files hold the answers after the SELECT of the ISD-R (the test
opens the session on the basic channel without TERMINAL CAPABILITY and answers that SELECT
itself); they are consumed in order whatever the station sends.
"""

import os
import sys

OUT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
manifest = []


# ---------------------------------------------------------------------------------- DER


def enc_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def enc_tag(tag):
    return tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")


def tlv(tag, *parts):
    v = b"".join(parts)
    return enc_tag(tag) + enc_len(len(v)) + v


def tlv_rawlen(tag, lenbytes, v):
    """A TLV with the given (possibly lying) length octets."""
    return enc_tag(tag) + lenbytes + v


def integer(n):
    b = n.to_bytes((n.bit_length() + 8) // 8, "big", signed=False) if n else b"\x00"
    return tlv(0x02, b)


def oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    body = b""
    for a in [40 * arcs[0] + arcs[1]] + arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7F))
            a >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, body)


def seq(*parts):
    return tlv(0x30, *parts)


def nested(depth, inner=b"\x05\x00", tag=0x30):
    d = inner
    for _ in range(depth):
        d = tlv(tag, d)
    return d


def pattern(n, seed):
    """n deterministic filler bytes."""
    out = bytearray()
    x = seed & 0xFFFFFFFF
    while len(out) < n:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


def write(rel, data, kind, expect, what):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(path, "wb") as f:
        f.write(data)
    manifest.append((rel, kind, expect, what))


# ---------------------------------------------------------------------------------- tlv


def gen_tlv():
    k = "tlv"
    write("tlv/00-valid.der", tlv(0x30, tlv(0x04, b"abc")), k, "ST_OK", "baseline: one SEQUENCE")
    write("tlv/empty.der", b"", k, "ST_E_TRUNCATED", "no byte at all")
    write("tlv/truncated-tag.der", b"\xbf", k, "ST_E_TRUNCATED", "multi-byte tag cut after its first octet")
    write("tlv/truncated-length.der", b"\x30\x82\x01", k, "ST_E_TRUNCATED", "length octets cut")
    write("tlv/truncated-value.der", b"\x04\x05\x01\x02", k, "ST_E_TRUNCATED", "value shorter than its length")
    write("tlv/indefinite-length.der", b"\x30\x80\x02\x01\x01\x00\x00", k, "ST_E_PARSE",
          "BER indefinite length (DER forbids it)")
    write("tlv/length-5-octets.der", b"\x04\x85\x00\x00\x00\x00\x01\xaa", k, "ST_E_PARSE",
          "five length octets (more than the codec's 4)")
    write("tlv/length-4gib-8-octets.der", b"\x04\x88\x00\x00\x00\x01\x00\x00\x00\x00" + b"\xaa" * 16, k,
          "ST_E_PARSE", "length of exactly 4 GiB in 8 octets")
    write("tlv/length-4gib-minus-1.der", b"\x04\x84\xff\xff\xff\xff" + b"\xaa" * 16, k, "ST_E_TRUNCATED",
          "length 4 GiB - 1 claimed by a 22-byte file")
    write("tlv/tag-4-octets.der", b"\x1f\x81\x80\x80\x01\x00", k, "ST_E_PARSE",
          "four-octet tag (the codec takes 1 to 3)")
    write("tlv/trailing.der", b"\x04\x01\xaa\xff", k, "ST_E_TRAILING", "a byte after the TLV")


# ---------------------------------------------------------------------------------- BPP

TID = bytes(range(0xA0, 0xB0))
OTPK = b"\x04" + pattern(64, 1)
SIG = pattern(64, 2)


def bf23(tid=TID, otpk=OTPK, sig=SIG, extra=b""):
    crt = tlv(0xA6, tlv(0x80, b"\x88"), tlv(0x81, b"\x10"), tlv(0x84, b"HOSTILE-HOST"))
    return tlv(0xBF23, tlv(0x82, b"\x01"), tlv(0x80, tid), crt, tlv(0x5F49, otpk), tlv(0x5F37, sig), extra)


def seg(tag, n, seed):
    return tlv(tag, pattern(n, seed))


def bpp(isc=None, a0=None, a1=None, a2=None, a3=None, after=b"", order=None):
    parts = {
        "isc": bf23() if isc is None else isc,
        "a0": tlv(0xA0, seg(0x87, 48, 3)) if a0 is None else a0,
        "a1": tlv(0xA1, seg(0x88, 64, 4)) if a1 is None else a1,
        "a2": b"" if a2 is None else a2,
        "a3": tlv(0xA3, seg(0x86, 200, 5), seg(0x86, 200, 6), seg(0x86, 120, 7)) if a3 is None else a3,
    }
    keys = order or ["isc", "a0", "a1", "a2", "a3"]
    return tlv(0xBF36, *[parts[x] for x in keys], after)


BPP_VALID = bpp()


def gen_bpp():
    k = "bpp"
    write("bpp/00-valid.der", BPP_VALID, k, "ST_OK", "baseline: BF36 with A0 87, A1 88, A3 86 x3")
    write("bpp/00-valid-ppk.der", bpp(a2=tlv(0xA2, seg(0x87, 48, 8))), k, "ST_OK", "baseline: PPK mode (A2)")
    write("bpp/seg86-1021.der", bpp(a3=tlv(0xA3, seg(0x86, 1017, 9))), k, "ST_E_TOO_LARGE",
          "an 86 segment TLV of 1021 bytes (SGP.22 limit 1020)")
    write("bpp/seg88-1021.der", bpp(a1=tlv(0xA1, seg(0x88, 1017, 10))), k, "ST_E_TOO_LARGE",
          "an 88 segment TLV of 1021 bytes")
    write("bpp/seg87-1021.der", bpp(a0=tlv(0xA0, seg(0x87, 1017, 11))), k, "ST_E_TOO_LARGE",
          "an 87 segment TLV of 1021 bytes")
    write("bpp/a1-with-87.der", bpp(a1=tlv(0xA1, seg(0x87, 64, 12))), k, "ST_E_PARSE",
          "A1 (StoreMetadata) carrying an 87")
    write("bpp/a3-with-88.der", bpp(a3=tlv(0xA3, seg(0x88, 64, 13))), k, "ST_E_PARSE", "A3 carrying an 88")
    write("bpp/a0-empty.der", bpp(a0=tlv(0xA0)), k, "ST_E_PARSE", "empty A0")
    write("bpp/missing-a0.der", bpp(order=["isc", "a1", "a3"]), k, "ST_E_PARSE", "no A0 (ConfigureISDP)")
    write("bpp/parts-out-of-order.der", bpp(order=["isc", "a1", "a0", "a3"]), k, "ST_E_PARSE",
          "A1 before A0")
    write("bpp/otpk-64.der", bpp(isc=bf23(otpk=OTPK[:64])), k, "ST_E_PARSE", "otPK.DP of 64 bytes")
    write("bpp/otpk-not-04.der", bpp(isc=bf23(otpk=b"\x02" + OTPK[1:])), k, "ST_E_PARSE",
          "otPK.DP not an uncompressed point")
    write("bpp/smdpsign-63.der", bpp(isc=bf23(sig=SIG[:63])), k, "ST_E_PARSE", "smdpSign of 63 bytes")
    write("bpp/tid-17.der", bpp(isc=bf23(tid=bytes(17))), k, "ST_E_PARSE", "transactionId of 17 bytes")
    write("bpp/element-after-5f37.der", bpp(isc=bf23(extra=tlv(0x81, b"\x00"))), k, "ST_E_TRAILING",
          "an element after smdpSign in BF23")
    write("bpp/element-after-a3.der", bpp(after=tlv(0xA4, b"\x00")), k, "ST_E_TRAILING",
          "an element after A3 inside BF36")
    write("bpp/trailing-after-bf36.der", BPP_VALID + b"\x00", k, "ST_E_TRAILING", "a byte after BF36")
    write("bpp/truncated.der", BPP_VALID[:300], k, "ST_E_TRUNCATED", "cut inside A3")
    write("bpp/nested-deep.der", bpp(a0=tlv(0xA0, nested(2000))), k, "ST_E_PARSE",
          "A0 holding 2000 nested SEQUENCEs")
    write("bpp/indefinite-length.der", b"\xbf\x36\x80" + BPP_VALID[4:] + b"\x00\x00", k, "ST_E_PARSE",
          "BF36 with indefinite length")
    write("bpp/length-past-4gib.der", b"\xbf\x36\x84\xff\xff\xff\xff" + BPP_VALID[4:], k, "ST_E_TRUNCATED",
          "BF36 claiming 4 GiB - 1 bytes")
    write("bpp/not-bf36.der", tlv(0xBF37, BPP_VALID[4:]), k, "ST_E_PARSE", "a BF37 where a BF36 is due")


# ---------------------------------------------------------------------------------- PIR

SMDP_OID = oid("2.999.10")[2:]


def bf27(tid=TID, final=None, smdp=True, iccid=bytes.fromhex("98941000000000000011"), extra=b""):
    meta = tlv(0xBF2F, tlv(0x80, b"\x01"), tlv(0x81, b"\x07\x80"), tlv(0x0C, b"smdp.example"),
               tlv(0x5A, iccid))
    if final is None:
        final = tlv(0xA2, tlv(0xA0, tlv(0x4F, bytes.fromhex("A0000005591010FFFFFFFF8900001000")),
                              tlv(0x04, bytes.fromhex("3007A0053003800100"))))
    return tlv(0xBF27, tlv(0x80, tid), meta, tlv(0x06, SMDP_OID) if smdp else b"", final, extra)


def pir(data=None, sig=SIG, after=b""):
    return tlv(0xBF37, bf27() if data is None else data, tlv(0x5F37, sig), after)


PIR_VALID = pir()


def gen_pir():
    k = "pir"
    write("pir/00-forged.der", PIR_VALID, k, "ST_E_BAD_SIGNATURE",
          "well-formed BF37 whose euiccSignPIR is not by the eUICC (parses, never verifies)")
    write("pir/sig-63.der", pir(sig=SIG[:63]), k, "ST_E_PARSE", "euiccSignPIR of 63 bytes")
    write("pir/sig-65.der", pir(sig=SIG + b"\x00"), k, "ST_E_PARSE", "euiccSignPIR of 65 bytes")
    write("pir/sig-72-der.der", pir(sig=seq(integer(2**255 + 1), integer(2**255 + 3))), k, "ST_E_PARSE",
          "a DER ECDSA-Sig-Value where raw r||s (64 bytes) is due")
    write("pir/sig-empty.der", pir(sig=b""), k, "ST_E_PARSE", "empty euiccSignPIR")
    write("pir/trailing-after-bf37.der", PIR_VALID + b"\x90\x00", k, "ST_E_TRAILING",
          "bytes after the BF37 (a status word glued to it)")
    write("pir/element-after-5f37.der", pir(after=tlv(0x04, b"\x00")), k, "ST_E_TRAILING",
          "an element after euiccSignPIR")
    both = tlv(0xA2, tlv(0xA0, tlv(0x4F, bytes(16)), tlv(0x04, b"\x00")),
               tlv(0xA1, tlv(0x80, b"\x01"), tlv(0x81, b"\x02")))
    write("pir/two-final-results.der", pir(data=bf27(final=both)), k, "ST_E_TRAILING",
          "successResult and errorResult together")
    write("pir/missing-smdpoid.der", pir(data=bf27(smdp=False)), k, "ST_E_PARSE", "no smdpOid")
    write("pir/tid-17.der", pir(data=bf27(tid=bytes(17))), k, "ST_E_PARSE", "transactionId of 17 bytes")
    write("pir/iccid-9.der", pir(data=bf27(iccid=bytes(9))), k, "ST_E_PARSE", "ICCID of 9 bytes")
    write("pir/truncated.der", PIR_VALID[:-10], k, "ST_E_TRUNCATED", "cut inside euiccSignPIR")
    write("pir/nested-deep.der", pir(data=bf27(final=tlv(0xA2, nested(2000, tag=0xA0)))), k, "ST_E_PARSE",
          "finalResult holding 2000 nested A0s")


# ---------------------------------------------------------------------------------- IFPP files

CERT_STUB = seq(integer(1), tlv(0x0C, b"not judged here"))  # the decoders only frame certificates
EID = bytes.fromhex("89049032000000000000000000424223")


def gentime(s=b"20250101000000Z"):
    return tlv(0x18, s)


def otk(index, otpk=OTPK, sig=SIG):
    return seq(integer(index), tlv(0x5F49, otpk), tlv(0x5F37, sig))


def edata(version=1, keys=None, eid=EID, batch=b"batch-1", time=None, extra=b"", euiccs=None, keys_raw=None):
    if keys is None:
        keys = [otk(1), otk(2)]
    keyseq = keys_raw if keys_raw is not None else seq(*keys)
    eu = seq(tlv(0x5A, eid), CERT_STUB, keyseq)
    return seq(integer(version), tlv(0x0C, batch), time or gentime(), CERT_STUB,
               euiccs if euiccs is not None else seq(eu), extra)


def gen_ifppe():
    k = "ifppe"
    write("ifppe/00-valid.der", edata(), k, "ST_OK", "baseline: IfppEuiccBatch content, one eUICC, two keys")
    # 10^6 one-time keys claimed by a 1 KB file: the SEQUENCE OF says ~139 MB follow
    claim = (1000000 * len(otk(1))).to_bytes(4, "big")
    write("ifppe/keys-1e6-claimed-in-1k.der",
          edata(keys_raw=tlv_rawlen(0x30, b"\x84" + claim, b"".join(otk(i) for i in range(1, 6)))), k,
          "ST_E_TRUNCATED", "oneTimeKeys claiming 10^6 keys (139 MB) in a 1 KB file")
    write("ifppe/keys-1025.der", edata(keys=[otk(i, sig=bytes(64)) for i in range(1, 1026)]), k,
          "ST_E_TOO_LARGE", "1025 one-time keys (IFPP_MAX_KEYS is 1024)")
    write("ifppe/keys-not-ascending.der", edata(keys=[otk(2), otk(1)]), k, "ST_E_PARSE",
          "keyIndex 2 then 1")
    write("ifppe/keys-duplicate.der", edata(keys=[otk(1), otk(1)]), k, "ST_E_PARSE", "keyIndex 1 twice")
    write("ifppe/keys-empty.der", edata(keys=[]), k, "ST_E_PARSE", "no one-time key (SIZE 1..1024)")
    write("ifppe/euiccs-empty.der", edata(euiccs=seq()), k, "ST_E_PARSE", "no eUICC (SIZE 1..)")
    write("ifppe/key-index-negative.der", edata(keys=[seq(tlv(0x02, b"\xff"), tlv(0x5F49, OTPK),
                                                          tlv(0x5F37, SIG))]), k, "ST_E_PARSE",
          "keyIndex -1")
    write("ifppe/key-index-2e32.der", edata(keys=[otk(2**32)]), k, "ST_E_TOO_LARGE", "keyIndex 2^32")
    write("ifppe/version-2.der", edata(version=2), k, "ST_E_VERSION", "format version 2")
    write("ifppe/eid-15.der", edata(eid=EID[:15]), k, "ST_E_PARSE", "EID of 15 bytes")
    write("ifppe/otpk-not-04.der", edata(keys=[otk(1, otpk=b"\x03" + OTPK[1:])]), k, "ST_E_PARSE",
          "otPK not an uncompressed point")
    write("ifppe/batch-id-nul.der", edata(batch=b"batch\x00evil"), k, "ST_E_PARSE", "NUL inside batchId")
    write("ifppe/batch-id-bad-utf8.der", edata(batch=b"batch\xc3"), k, "ST_E_PARSE", "invalid UTF-8 in batchId")
    write("ifppe/time-not-utc.der", edata(time=gentime(b"20250101000000+0100")), k, "ST_E_PARSE",
          "createdAt with an offset instead of Z")
    write("ifppe/unknown-element.der", edata(extra=tlv(0x04, b"x")), k, "ST_E_TRAILING",
          "an element after euiccs")
    write("ifppe/trailing.der", edata() + b"\x00", k, "ST_E_TRAILING", "a byte after the SEQUENCE")
    write("ifppe/nested-deep.der", nested(3000), k, "ST_E_PARSE", "3000 nested SEQUENCEs")
    write("ifppe/length-past-4gib.der", b"\x30\x84\xff\xff\xff\xff" + edata()[2:], k, "ST_E_TRUNCATED",
          "outer SEQUENCE claiming 4 GiB - 1")


def request(version=1, eum_index=0, certs=None, entries_raw=None, rid=bytes(16)):
    entry = seq(tlv(0x5A, EID), CERT_STUB, integer(eum_index), otk(1))
    return seq(integer(version), tlv(0x04, rid), tlv(0x0C, b"DM-HOSTILE"), gentime(),
               seq(CERT_STUB) if certs is None else certs,
               entries_raw if entries_raw is not None else seq(entry))


def gen_ifppr():
    k = "ifppr"
    write("ifppr/00-valid.der", request(), k, "ST_OK", "baseline: IfppBppRequest content, one entry")
    write("ifppr/eum-index-out-of-range.der", request(eum_index=1), k, "ST_E_PARSE",
          "eumIndex 1 with one EUM certificate")
    write("ifppr/eum-certs-empty.der", request(certs=seq()), k, "ST_E_PARSE", "no EUM certificate")
    write("ifppr/version-0.der", request(version=0), k, "ST_E_VERSION", "format version 0")
    write("ifppr/request-id-15.der", request(rid=bytes(15)), k, "ST_E_PARSE", "requestId of 15 bytes")
    write("ifppr/entries-claimed-huge.der",
          request(entries_raw=tlv_rawlen(0x30, b"\x84\x10\x00\x00\x00", b"")), k, "ST_E_TRUNCATED",
          "entries claiming 256 MB")


BPP_TID = TID


def bundle_entry(tid=BPP_TID, bpp_bytes=BPP_VALID):
    return seq(tlv(0x80, EID), tlv(0x81, b"\x01"), tlv(0x82, tid), tlv(0x83, bytes.fromhex("98941000000000000011")),
               bpp_bytes)


def bundle_header(count=1):
    return seq(integer(1), tlv(0x04, bytes(range(16))), oid("2.999.10"), gentime(), integer(count),
               seq(CERT_STUB))


def bundle(count=1, entries=None, after=b""):
    hdr = bundle_header(count)
    ents = [bundle_entry()] if entries is None else entries
    return seq(hdr, seq(*ents)) + after


def gen_ifppb():
    k = "ifppb"
    write("ifppb/00-valid.der", bundle(), k, "ST_OK", "baseline: IfppBundle with one entry")
    write("ifppb/count-too-high.der", bundle(count=2), k, "ST_E_PARSE", "header count 2, one entry")
    write("ifppb/count-too-low.der", bundle(count=0), k, "ST_E_PARSE", "header count 0, one entry")
    write("ifppb/trailing-after-bundle.der", bundle(after=b"\x00\x00"), k, "ST_E_TRAILING",
          "bytes after the bundle")
    # Lying lengths that agree with each other (outer = header + inner claim), so that the
    # reader meets the claim itself, with only a few hundred bytes behind it.
    hdr = bundle_header()
    entry = bundle_entry()
    ent_claim = 6 + 16 * 2**20
    write("ifppb/entry-claims-16mib.der",
          b"\x30\x84" + (len(hdr) + 6 + ent_claim).to_bytes(4, "big") + hdr
          + b"\x30\x84" + ent_claim.to_bytes(4, "big") + b"\x30\x84" + (16 * 2**20).to_bytes(4, "big")
          + entry[2:], k, "ST_E_TOO_LARGE", "an entry claiming 16 MiB (IFPP_MAX_ENTRY_LEN is 4 MiB)")
    hdr_claim = 2 * 2**20
    write("ifppb/header-claims-2mib.der",
          b"\x30" + enc_len(4 + hdr_claim + len(seq(entry))) + b"\x30" + enc_len(hdr_claim) + hdr[2:], k,
          "ST_E_TOO_LARGE", "a header claiming 2 MiB (at most 1 MiB)")
    write("ifppb/length-non-minimal.der", b"\x30\x84" + len(bundle()[4:]).to_bytes(4, "big") + bundle()[4:], k,
          "ST_E_PARSE", "the bundle's length in 4 octets where 2 do (DER: minimal length)")
    total = 0xFFFFFFFF
    hdr2 = bundle_header(count=2)
    write("ifppb/length-past-4gib.der",
          b"\x30\x84" + total.to_bytes(4, "big") + hdr2 + b"\x30\x84"
          + (total - len(hdr2) - 6).to_bytes(4, "big") + entry, k, "ST_E_TRUNCATED",
          "a bundle of 2 entries claiming 4 GiB - 1 bytes, 1 KB present")
    write("ifppb/entry-not-bf36.der", bundle(entries=[bundle_entry(bpp_bytes=PIR_VALID)]), k, "ST_E_PARSE",
          "an entry carrying a BF37 where the BF36 is due")
    write("ifppb/truncated-entry.der", bundle()[:-40], k, "ST_E_TRUNCATED", "cut inside the entry's BPP")


def report_entry(kind=0, pir_bytes=PIR_VALID, code=None, text=None):
    parts = [tlv(0x5A, EID), tlv(0x80, TID), gentime()]
    if code is not None:
        parts.append(tlv(0x81, bytes([code])))
    if text is not None:
        parts.append(tlv(0x82, text))
    if pir_bytes:
        parts.append(pir_bytes)
    return tlv(0xA0 + kind, *parts)


def report(entries=None, bundle_ids=None, version=1):
    return seq(integer(version), tlv(0x04, bytes(16)), tlv(0x0C, b"DM-HOSTILE"), tlv(0x0C, b"STATION-H"),
               oid("2.999.10"), seq(tlv(0x04, bytes(range(16)))) if bundle_ids is None else bundle_ids,
               gentime(), gentime(b"20250102000000Z"),
               seq(report_entry()) if entries is None else seq(*entries))


def gen_ifppl():
    k = "ifppl"
    write("ifppl/00-valid.der", report(), k, "ST_OK", "baseline: IfppLoadingReport, one installed entry")
    write("ifppl/installed-without-pir.der", report(entries=[report_entry(pir_bytes=b"")]), k, "ST_E_PARSE",
          "installed result without its BF37")
    write("ifppl/failed-without-code.der", report(entries=[report_entry(kind=1)]), k, "ST_E_PARSE",
          "failed result without fpaErrorCode")
    write("ifppl/installed-with-code.der", report(entries=[report_entry(code=3)]), k, "ST_E_PARSE",
          "installed result with an fpaErrorCode")
    write("ifppl/kind-a3.der", report(entries=[report_entry(kind=3)]), k, "ST_E_PARSE", "unknown result kind A3")
    write("ifppl/text-128.der", report(entries=[report_entry(kind=1, code=1, text=b"x" * 128, pir_bytes=b"")]), k,
          "ST_E_PARSE", "failure text of 128 bytes (at most 127)")
    write("ifppl/pir-not-bf37.der", report(entries=[report_entry(pir_bytes=BPP_VALID)]), k, "ST_E_PARSE",
          "a BF36 where the BF37 is due")
    write("ifppl/bundle-id-15.der", report(bundle_ids=seq(tlv(0x04, bytes(15)))), k, "ST_E_PARSE",
          "bundleId of 15 bytes")
    write("ifppl/trailing.der", report() + b"\x00", k, "ST_E_TRAILING", "a byte after the report")


# ---------------------------------------------------------------------------------- certificates, CMS

P256_G = bytes.fromhex("04"
                       "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"
                       "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5")
ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"))


def name(cn):
    return seq(tlv(0x31, seq(oid("2.5.4.3"), tlv(0x0C, cn))))


def certificate(cn=b"Hostile", issuer=b"Hostile CA", serial=0x1234, tbs_extra=b"", key=P256_G):
    spki = seq(seq(oid("1.2.840.10045.2.1"), oid("1.2.840.10045.3.1.7")), tlv(0x03, b"\x00" + key))
    tbs = seq(tlv(0xA0, integer(2)), integer(serial), ECDSA_SHA256, name(issuer),
              seq(tlv(0x17, b"250101000000Z"), tlv(0x17, b"491231235959Z")), name(cn), spki, tbs_extra)
    sig = seq(integer(2**255 + 7), integer(2**255 + 11))
    return seq(tbs, ECDSA_SHA256, tlv(0x03, b"\x00" + sig))


CERT = certificate()


def gen_cert():
    k = "cert"
    write("cert/00-garbage-signature.der", CERT, k, "ST_E_CERT",
          "well-formed certificate with a signature by nobody (parses, never chains)")
    write("cert/garbage.der", pattern(600, 20), k, "ST_E_PARSE", "600 bytes of noise")
    write("cert/empty.der", b"", k, "ST_E_INVAL", "empty file")
    write("cert/truncated.der", CERT[: len(CERT) // 2], k, "ST_E_PARSE", "cut in the middle")
    write("cert/trailing.der", CERT + b"\x00", k, "ST_E_TRAILING", "a byte after the certificate")
    write("cert/nested-deep.der", nested(5000), k, "ST_E_PARSE", "5000 nested SEQUENCEs")
    write("cert/length-past-4gib.der", b"\x30\x84\xff\xff\xff\xff" + CERT[4:], k, "ST_E_PARSE",
          "certificate claiming 4 GiB - 1 bytes")
    write("cert/two-certificates.der", CERT + CERT, k, "ST_E_TRAILING", "two certificates where one is due")
    write("cert/key-not-on-curve.der", certificate(key=b"\x04" + bytes(64)), k, "ST_E_CERT",
          "public key (0,0) is not a P-256 point")


def signer_info(serial, sig_len=64):
    return seq(integer(1), seq(name(b"Hostile CA"), integer(serial)), seq(oid("2.16.840.1.101.3.4.2.1")),
               ECDSA_SHA256, tlv(0x04, pattern(sig_len, serial)))


def signed_data(signers, content=b"hostile content", certs=True, detached=False, ctype="1.2.840.113549.1.7.2"):
    econtent = seq(oid("1.2.840.113549.1.7.1")) if detached else \
        seq(oid("1.2.840.113549.1.7.1"), tlv(0xA0, tlv(0x04, content)))
    sd = seq(integer(1), tlv(0x31, seq(oid("2.16.840.1.101.3.4.2.1"))), econtent,
             tlv(0xA0, CERT) if certs else b"", tlv(0x31, *signers))
    return seq(oid(ctype), tlv(0xA0, sd))


def gen_cms():
    k = "cms"
    one = signed_data([signer_info(0x1234)])
    write("cms/one-signer-untrusted.der", one, k, "ST_E_UNTRUSTED",
          "SignedData by a certificate that chains to no trust anchor")
    write("cms/two-signers.der", signed_data([signer_info(0x1234), signer_info(0x1234)]), k, "ST_E_PARSE",
          "two SignerInfos (exactly one signer is allowed)")
    write("cms/no-signer.der", signed_data([]), k, "ST_E_PARSE", "no SignerInfo")
    write("cms/no-certificates.der", signed_data([signer_info(0x1234)], certs=False), k, "ST_E_UNTRUSTED",
          "the signer's certificate is not in the SignedData")
    write("cms/signer-not-in-certs.der", signed_data([signer_info(0x9999)]), k, "ST_E_UNTRUSTED",
          "SignerInfo names a certificate that is not there")
    write("cms/detached-where-attached.der", signed_data([signer_info(0x1234)], detached=True), k,
          "ST_E_PARSE", "detached SignedData where the content must be attached")
    write("cms/enveloped-data.der", signed_data([signer_info(0x1234)], ctype="1.2.840.113549.1.7.3"), k,
          "ST_E_PARSE", "EnvelopedData OID instead of SignedData")
    write("cms/trailing.der", one + b"\x00\x00", k, "ST_E_PARSE", "bytes after the ContentInfo")
    write("cms/truncated.der", one[:-30], k, "ST_E_PARSE", "cut inside the SignerInfo")
    write("cms/nested-deep.der", seq(oid("1.2.840.113549.1.7.2"), tlv(0xA0, nested(5000))), k, "ST_E_PARSE",
          "SignedData made of 5000 nested SEQUENCEs")
    write("cms/length-past-4gib.der", b"\x30\x84\xff\xff\xff\xff" + one[4:], k, "ST_E_PARSE",
          "ContentInfo claiming 4 GiB - 1 bytes")
    write("cms/garbage.der", pattern(800, 21), k, "ST_E_PARSE", "800 bytes of noise")
    write("cms/empty.der", b"", k, "ST_E_INVAL", "empty file")


# ---------------------------------------------------------------------------------- config

CONF_OK = "[station]\nid = hostile-1\n[card]\nblock_size = 120\n"


def gen_config():
    k = "config"
    write("config/00-valid.conf", CONF_OK, k, "ST_OK", "baseline")
    bad = [
        ("huge-line", "[station]\nid = " + "a" * 65536 + "\n", "a 64 KiB line"),
        ("nul-byte", "[station]\nid = st\x001\n", "a NUL byte inside a value"),
        ("binary-garbage", pattern(2048, 30), "2 KiB of noise"),
        ("unknown-key", CONF_OK + "[card]\nblock_sise = 120\n", "misspelt key"),
        ("unknown-section", CONF_OK + "[cards]\nblock_size = 120\n", "unknown section"),
        ("section-unterminated", "[station\nid = x\n", "section header without ]"),
        ("no-equals", "[station]\nid hostile\n", "a line that is neither key = value nor [section]"),
        ("key-outside-section", "id = hostile\n", "a key before any section"),
        ("duplicate-key", CONF_OK + "[station]\nid = again\n", "a single key given twice"),
        ("block-size-word", "[card]\nblock_size = many\n", "a number that is a word"),
        ("block-size-300", "[card]\nblock_size = 300\n", "out of range 1..255"),
        ("block-size-negative", "[card]\nblock_size = -1\n", "negative number"),
        ("block-size-overflow", "[card]\nblock_size = 99999999999999999999\n", "20-digit number"),
        ("block-size-hex", "[card]\nblock_size = 0x78\n", "hex where decimal is due"),
        ("station-id-space", "[station]\nid = line 3\n", "id with a space"),
        ("station-id-64", "[station]\nid = " + "a" * 64 + "\n", "id of 64 characters (at most 63)"),
        ("isdr-aid-odd", "[card]\nisdr_aid = A00000055\n", "odd number of hex digits"),
        ("isdr-aid-4", "[card]\nisdr_aid = A0000005\n", "AID of 4 bytes (5..16)"),
        ("isdr-aid-17", "[card]\nisdr_aid = " + "A0" * 17 + "\n", "AID of 17 bytes"),
        ("readers-max-17", "[readers]\nmax = 17\n", "17 readers (pcscd serves 16)"),
        ("too-many-slots", "[readers]\nmax = 1\nslot.A1 = (1)\nslot.A2 = (2)\n", "two slots with max = 1"),
        ("slot-label-bad", "[readers]\nslot.A/1 = (1)\n", "slot label with a slash"),
        ("slot-reader-twice", "[readers]\nslot.A1 = (1)\nslot.A2 = (1)\n", "one reader in two slots"),
        ("dm-key-without-cert", "[dm]\nkey = dm.key\n", "DM key without its certificate"),
        ("smdpf-bad-oid", "[smdpf]\nallowed = 2.999..10\n", "OID with an empty arc"),
        ("policy-unknown", "[policy]\nunknown_eid = accept\n", "value outside refuse|hold"),
        ("state-dir-empty", "[station]\nstate_dir =\n", "empty path"),
        ("busy-timeout-huge", "[store]\nbusy_timeout_ms = 600001\n", "above 600000"),
    ]
    for nm, text, what in bad:
        write("config/%s.conf" % nm, text, k, "ST_E_CONFIG", what)


# ---------------------------------------------------------------------------------- card answers (ES10)

OK = "9000"


def rapdu(*lines):
    return "\n".join(lines) + "\n"


def h(b):
    return b.hex().upper()


def blocks(n, bs=120):
    return (n + bs - 1) // bs


def bpp_segments(b):
    """The station's SGP.22 §2.5.5 segmentation of the baseline BPP (lengths only)."""
    def parse(buf, off):
        tag = buf[off]
        i = off + 1
        if tag & 0x1F == 0x1F:
            while buf[i] & 0x80:
                i += 1
            i += 1
        l = buf[i]
        i += 1
        if l & 0x80:
            nb = l & 0x7F
            l = int.from_bytes(buf[i:i + nb], "big")
            i += nb
        return i - off, l  # header length, value length

    hl, _ = parse(b, 0)
    off = hl
    segs = []
    isc_h, isc_l = parse(b, off)
    segs.append(hl + isc_h + isc_l)
    off += isc_h + isc_l
    while off < len(b):
        ph, pl = parse(b, off)
        tag = b[off]
        inner = off + ph
        if tag in (0xA0, 0xA2):
            ch, cl = parse(b, inner)
            segs.append(ph + ch + cl)
            j = inner + ch + cl
            while j < inner + pl:
                ch, cl = parse(b, j)
                segs.append(ch + cl)
                j += ch + cl
        else:
            segs.append(ph)
            j = inner
            while j < inner + pl:
                ch, cl = parse(b, j)
                segs.append(ch + cl)
                j += ch + cl
        off = inner + pl
    return segs


def gen_es10():
    eid = tlv(0x5A, EID)
    write("es10/eid-wrong-tag.rapdu", rapdu(h(tlv(0xBF2D, eid)) + OK), "es10-eid", "ST_E_PROTO",
          "GetEID answered with a BF2D")
    write("es10/eid-15-bytes.rapdu", rapdu(h(tlv(0xBF3E, tlv(0x5A, EID[:15]))) + OK), "es10-eid", "ST_E_PROTO",
          "EID of 15 bytes")
    write("es10/eid-trailing.rapdu", rapdu(h(tlv(0xBF3E, eid)) + "00" + OK), "es10-eid", "ST_E_PROTO",
          "a byte after the BF3E")
    write("es10/eid-truncated.rapdu", rapdu(h(tlv(0xBF3E, eid))[:-8] + OK), "es10-eid", "ST_E_PROTO",
          "BF3E cut short")
    write("es10/eid-sw-6a88.rapdu", rapdu("6A88"), "es10-eid", "ST_E_CARD_SW", "referenced data not found")
    write("es10/eid-rapdu-1-byte.rapdu", rapdu("90"), "es10-eid", "ST_E_PROTO", "an R-APDU of one byte")
    write("es10/eid-6c-twice.rapdu", rapdu("6C10", "6C10"), "es10-eid", "ST_E_CARD_SW",
          "6Cxx answered to the corrected Le again (one retry only)")
    write("es10/eid-61xx-forever.rapdu", rapdu("6100 x5000"), "es10-eid", "ST_E_PROTO",
          "61xx without data, forever: a GET RESPONSE that brings nothing ends it")
    write("es10/eid-61xx-data-then-empty.rapdu", rapdu("6110", h(pattern(16, 41)) + "6110", "6110 x5000"),
          "es10-eid", "ST_E_PROTO", "61xx with data once, then 61xx without data forever")
    write("es10/eid-61xx-1mib.rapdu", rapdu(h(pattern(256, 40)) + "6100 x4200"), "es10-eid", "ST_E_TOO_LARGE",
          "61xx with 256 bytes each, past the 1 MiB response bound")
    write("es10/info2-wrong-tag.rapdu", rapdu(h(tlv(0xBF20, b"\x00")) + OK), "es10-info2", "ST_E_PROTO",
          "EUICCInfo2 answered with EUICCInfo1")
    write("es10/info2-indefinite.rapdu", rapdu("BF228081010000" + OK), "es10-info2", "ST_E_PROTO",
          "BF22 with indefinite length")
    write("es10/challenge-15.rapdu", rapdu(h(tlv(0xBF2E, tlv(0x80, bytes(15)))) + OK), "es10-challenge",
          "ST_E_PROTO", "challenge of 15 bytes")
    # ListProfileInfo
    iccid = tlv(0x5A, bytes.fromhex("98941000000000000011"))
    aid = tlv(0x4F, bytes.fromhex("A0000005591010FFFFFFFF8900001000"))

    def profiles(*items):
        return rapdu(h(tlv(0xBF2D, tlv(0xA0, *items))) + OK)

    k = "es10-profiles"
    write("es10/profiles-wrong-tag.rapdu", rapdu(h(tlv(0xBF2B, tlv(0xA0))) + OK), k, "ST_E_PROTO",
          "ListProfileInfo answered with a notifications list")
    write("es10/profiles-iccid-9.rapdu", profiles(tlv(0xE3, tlv(0x5A, bytes(9)))), k, "ST_E_PROTO",
          "ICCID of 9 bytes")
    write("es10/profiles-aid-17.rapdu", profiles(tlv(0xE3, iccid, tlv(0x4F, bytes(17)))), k, "ST_E_PROTO",
          "ISD-P AID of 17 bytes")
    write("es10/profiles-state-2.rapdu", profiles(tlv(0xE3, iccid, aid, tlv(0x9F70, b"\x02"))), k,
          "ST_E_PROTO", "profileState 2")
    write("es10/profiles-class-3.rapdu", profiles(tlv(0xE3, iccid, aid, tlv(0x95, b"\x03"))), k, "ST_E_PROTO",
          "profileClass 3")
    write("es10/profiles-item-not-e3.rapdu", profiles(tlv(0xE3, iccid), tlv(0x30, iccid)), k, "ST_E_PROTO",
          "a list item that is not E3")
    write("es10/profiles-nested-deep.rapdu", profiles(nested(40)), k, "ST_E_PROTO",
          "a list item of 40 nested SEQUENCEs")
    write("es10/profiles-truncated-list.rapdu",
          rapdu(h(tlv(0xBF2D, tlv_rawlen(0xA0, b"\x20", tlv(0xE3, iccid)))) + OK), k, "ST_E_PROTO",
          "A0 claiming more than BF2D holds")
    write("es10/profiles-error-huge.rapdu", rapdu(h(tlv(0xBF2D, tlv(0x81, b"\x7f" + b"\xff" * 8))) + OK), k,
          "ST_E_PROTO", "profileInfoListError of 9 octets")
    # RetrieveNotificationsList
    k = "es10-notifs"

    def notifs(*items):
        return rapdu(h(tlv(0xBF2B, tlv(0xA0, *items))) + OK)

    write("es10/notifs-item-wrong-tag.rapdu", notifs(tlv(0x31, b"\x00")), k, "ST_E_PROTO",
          "a notification that is neither BF37 nor 30")
    write("es10/notifs-bf37-without-bf27.rapdu", notifs(tlv(0xBF37, tlv(0x5F37, SIG))), k, "ST_E_PROTO",
          "a BF37 without its BF27")
    write("es10/notifs-seq-missing.rapdu", notifs(seq(tlv(0xBF2F, tlv(0x81, b"\x07\x80")))), k, "ST_E_PROTO",
          "notification without seqNumber")
    write("es10/notifs-seq-negative.rapdu", notifs(seq(tlv(0xBF2F, tlv(0x80, b"\xff")))), k, "ST_E_PROTO",
          "seqNumber -1")
    write("es10/notifs-seq-9-octets.rapdu", notifs(seq(tlv(0xBF2F, tlv(0x80, b"\x01" + bytes(8))))), k,
          "ST_E_PROTO", "seqNumber of 9 octets")
    write("es10/notifs-wrong-tag.rapdu", rapdu(h(tlv(0xBF2D, tlv(0xA0))) + OK), k, "ST_E_PROTO",
          "notifications answered with a profile list")
    write("es10/notifs-trailing.rapdu", rapdu(h(tlv(0xBF2B, tlv(0xA0))) + "FFFF" + OK), k, "ST_E_PROTO",
          "bytes after the BF2B")
    write("es10/remove-no-result.rapdu", rapdu(h(tlv(0xBF30, tlv(0x81, b"\x00"))) + OK), "es10-remove",
          "ST_E_PROTO", "NotificationSent answer without its result")
    # LoadBoundProfilePackage of bpp/00-valid.der (STORE DATA blocks of 120 bytes)
    k = "es10-lbpp"
    segs = bpp_segments(BPP_VALID)
    acks = [OK] * sum(blocks(s) for s in segs)
    last = len(acks) - 1
    write("es10/lbpp-bf37-trailing.rapdu", rapdu(*(acks[:last] + [h(PIR_VALID) + "00" + OK])), k, "ST_E_PROTO",
          "the final answer is a BF37 with a byte after it")
    write("es10/lbpp-bf36-answer.rapdu", rapdu(*(acks[:last] + [h(tlv(0xBF36, b"\x00")) + OK])), k,
          "ST_E_PROTO", "the final answer is not a BF37")
    write("es10/lbpp-no-answer.rapdu", rapdu(*acks), k, "ST_E_PROTO", "every segment acknowledged, no PIR")
    write("es10/lbpp-data-on-block.rapdu", rapdu("01" + OK), k, "ST_E_PROTO",
          "data in answer to an intermediate STORE DATA block")
    write("es10/lbpp-sw-6a80.rapdu", rapdu(OK, OK, "6A80"), k, "ST_E_CARD_SW", "6A80 in the middle of the BPP")
    # ES10f
    write("es10/auth-wrong-tag.rapdu", rapdu(h(tlv(0xBF2E, tlv(0x80, bytes(16)))) + OK,
                                             h(tlv(0xFF41, tlv(0x80, b"\x00"))) + OK), "es10f-auth", "ST_E_PROTO",
          "AuthoriseFpaServices answered with FF41")
    write("es10/auth-no-result.rapdu", rapdu(h(tlv(0xBF2E, tlv(0x80, bytes(16)))) + OK, h(tlv(0xFF40)) + OK),
          "es10f-auth", "ST_E_PROTO", "FF40 answer without result")
    write("es10/prepare-result-negative.rapdu", rapdu(OK, OK, h(tlv(0xFF41, tlv(0x80, b"\x80"))) + OK),
          "es10f-prepare", "ST_E_PROTO", "PrepareLoad result -128")
    write("es10/prepare-data-on-block.rapdu", rapdu("AA" + OK), "es10f-prepare", "ST_E_PROTO",
          "data in answer to the first of three STORE DATA blocks")
    write("es10/delete-wrong-tag.rapdu", rapdu(h(tlv(0xFF43, tlv(0x80, b"\x00"))) + OK), "es10f-delete",
          "ST_E_PROTO", "DeleteOneTimeKeys answered with FF43")
    write("es10/status-missing-unused.rapdu",
          rapdu(h(tlv(0xFF43, tlv(0x80, b"\x00"), tlv(0x81, b"\x05"), tlv(0x83, b"\x01"))) + OK), "es10f-status",
          "ST_E_PROTO", "key status without `unused`")
    write("es10/status-count-9-octets.rapdu",
          rapdu(h(tlv(0xFF43, tlv(0x80, b"\x00"), tlv(0x81, b"\x01" + bytes(8)), tlv(0x82, b"\x00"),
                      tlv(0x83, b"\x00"))) + OK), "es10f-status", "ST_E_PROTO", "key count of 9 octets")


# ---------------------------------------------------------------------------------- simulated card (C-APDUs)

OPEN = ["# MANAGE CHANNEL open (-> 1), SELECT ISD-R on channel 1", "0070000001",
        "01A4040010A0000005591010FFFFFFFF890000010000"]


def capdu(*lines):
    return "\n".join(OPEN + list(lines)) + "\n"


def sd(ch_cla, p1, p2, data):
    return "%02X E2 %02X %02X %02X %s" % (ch_cla, p1, p2, len(data), h(data))


def sd_seq(ch_cla, data, bs=255):
    """One ES10 command as a whole STORE DATA sequence."""
    n = blocks(len(data), bs)
    return [sd(ch_cla, 0x91 if i + 1 == n else 0x11, i, data[i * bs:(i + 1) * bs]) for i in range(n)]


def gen_card():
    k = "card"
    get_eid = bytes.fromhex("BF3E035C015A")
    write("card/store-data-first-block-1.capdu", capdu(sd(0x81, 0x91, 1, get_eid)), k, "sw=6A86",
          "STORE DATA sequence starting at block 1")
    write("card/store-data-block-skipped.capdu", capdu(sd(0x81, 0x11, 0, get_eid[:3]), sd(0x81, 0x91, 2, get_eid[3:])),
          k, "sw=6A86", "blocks 0 then 2")
    write("card/store-data-block-repeated.capdu",
          capdu(sd(0x81, 0x11, 0, get_eid[:2]), sd(0x81, 0x11, 1, get_eid[2:4]), sd(0x81, 0x91, 1, get_eid[4:])),
          k, "sw=6A86", "block 1 sent twice")
    write("card/store-data-257-blocks.capdu",
          capdu(*[sd(0x81, 0x11, i, b"\x00") for i in range(256)]), k, "sw=6A86",
          "257th block: P2 cannot number it")
    write("card/store-data-other-channel.capdu",
          capdu("0070000001", "02A4040010A0000005591010FFFFFFFF890000010000",
                sd(0x81, 0x11, 0, get_eid[:3]), sd(0x82, 0x91, 1, get_eid[3:])), k, "sw=6A86",
          "a sequence begun on channel 1 continued on channel 2")
    write("card/store-data-unselected.capdu", "80E2910006BF3E035C015A\n", k, "sw=6985",
          "STORE DATA on the basic channel, nothing selected")
    write("card/store-data-extended-length.capdu", capdu("81E29100000006BF3E035C015A"), k, "sw=6700",
          "extended-length STORE DATA")
    write("card/store-data-lc-mismatch.capdu", capdu("81E2910010BF3E035C015A"), k, "sw=6700",
          "Lc 16 with 6 data bytes")
    write("card/store-data-le-not-00.capdu", capdu("81E2910006BF3E035C015A10"), k, "sw=6700",
          "STORE DATA with Le 16")
    write("card/store-data-bad-p1.capdu", capdu(sd(0x81, 0x01, 0, get_eid)), k, "sw=6A86", "P1 01")
    write("card/apdu-3-bytes.capdu", "80E291\n", k, "sw=6700", "a 3-byte command")
    write("card/cla-ff.capdu", "FFA4040000\n", k, "sw=6E00", "CLA FF")
    write("card/cla-chaining.capdu", capdu("91E2910006BF3E035C015A"), k, "sw=6884", "command chaining bit set")
    write("card/cla-secure-messaging.capdu", capdu("8DE2910006BF3E035C015A"), k, "sw=6882", "secure messaging bits")
    write("card/channel-not-open.capdu", "4FE2910006BF3E035C015A\n", k, "sw=6881", "channel 19, never opened")
    write("card/manage-channel-close-0.capdu", "0070800000\n", k, "sw=6A86", "closing the basic channel")
    write("card/manage-channel-open-20.capdu", "0070001400\n", k, "sw=6A86", "opening channel 20")
    write("card/manage-channel-exhaust.capdu", "\n".join(["0070000001"] * 20) + "\n", k, "sw=6A81",
          "a 20th logical channel")
    write("card/get-response-nothing.capdu", "00C0000000\n", k, "sw=6985", "GET RESPONSE with nothing pending")
    write("card/get-response-after-other.capdu",
          capdu("81E2910003BF2200", "81AA000005A903830107", "01C0000000"), k, "sw=6985",
          "a pending response dropped by another command on its channel")
    write("card/select-wrong-aid.capdu", "00A4040007A000000087100200\n", k, "sw=6A82",
          "SELECT an AID that is not the ISD-R (a USIM)")
    write("card/es10-garbage.capdu", capdu(sd(0x81, 0x91, 0, b"\xff\xff\xff")), k, "sw=6A80",
          "STORE DATA carrying no TLV")
    write("card/es10-trailing.capdu", capdu(sd(0x81, 0x91, 0, get_eid + b"\x00")), k, "sw=6A80",
          "an ES10 command with a byte after it")
    write("card/es10-unknown-function.capdu", capdu(sd(0x81, 0x91, 0, bytes.fromhex("BF7F00"))), k, "sw=6A80",
          "unknown ES10 function BF7F")
    write("card/bpp-without-authorisation.capdu", capdu(*sd_seq(0x81, BPP_VALID[:bpp_segments(BPP_VALID)[0]])),
          k, "sw=6985", "the first BF36 segment with no FF40/FF41 before it")
    write("card/segment-without-bf36.capdu", capdu(sd(0x81, 0x91, 0, tlv(0xA0, seg(0x87, 16, 50)))), k,
          "sw=6985", "an A0 segment with no LoadBoundProfilePackage in progress")
    write("card/prepare-without-authorise.capdu",
          capdu(*sd_seq(0x81, tlv(0xFF41, tlv(0x80, b"\x01"), tlv(0x81, b"\x01"), tlv(0xA0, CERT)))), k,
          "resp=FF41038001019000", "FF41 without FF40: notAuthorised(1)")
    write("card/delete-keys-without-authorise.capdu", capdu(sd(0x81, 0x91, 0, bytes.fromhex("FF4203800101"))), k,
          "sw=9000", "FF42 without FF40: notAuthorised, no key deleted")
    write("card/authorise-bad-signature.capdu",
          capdu(sd(0x81, 0x91, 0, bytes.fromhex("BF2E00")),
                sd(0x81, 0x91, 0, tlv(0xFF40, tlv(0x80, b"\x01"), tlv(0x5F37, bytes(64))))), k,
          "resp=FF40038001029000", "FF40 signed by nobody: invalidSignature(2)")
    write("card/authorise-no-challenge.capdu",
          capdu(sd(0x81, 0x91, 0, tlv(0xFF40, tlv(0x80, b"\x01"), tlv(0x5F37, SIG)))), k,
          "resp=FF40038001039000", "FF40 without a fresh challenge: noChallenge(3)")
    write("card/lpa-enable-keys-remain.capdu",
          capdu(sd(0x81, 0x91, 0, tlv(0xBF31, tlv(0xA0, tlv(0x5A, bytes(10))), tlv(0x81, b"\x00")))), k, "sw=6985",
          "EnableProfile while one-time keys remain (EUICCF04)")
    write("card/lpa-delete-keys-remain.capdu",
          capdu(sd(0x81, 0x91, 0, tlv(0xBF33, tlv(0x5A, bytes(10))))), k, "sw=6985",
          "DeleteProfile while one-time keys remain (EUICCF04)")


def main():
    gen_tlv()
    gen_bpp()
    gen_pir()
    gen_ifppe()
    gen_ifppr()
    gen_ifppb()
    gen_ifppl()
    gen_cert()
    gen_cms()
    gen_config()
    gen_es10()
    gen_card()
    hostile = sum(1 for m in manifest if m[2] != "ST_OK")
    lines = ["# tests/hostile/MANIFEST - written by gen.py; do not edit (re-run gen.py)",
             "# %d files, %d hostile, %d valid baselines" % (len(manifest), hostile, len(manifest) - hostile),
             "# path kind expect  # what"]
    width = max(len(m[0]) for m in manifest)
    for rel, kind, expect, what in manifest:
        lines.append("%-*s %-14s %-20s # %s" % (width, rel, kind, expect, what))
    with open(os.path.join(OUT, "MANIFEST"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("gen.py: %d files (%d hostile) in %s" % (len(manifest), hostile, OUT))


if __name__ == "__main__":
    main()
