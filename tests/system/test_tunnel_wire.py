"""The tunnel's wire checked by an independent implementation: esp_test
(tests/unit) encapsulates guest packets with vrelay's ESP code and writes
them out; python3-cryptography's AES-GCM, following RFC 4303 (ESP), RFC 3948
(UDP encapsulation) and RFC 4106 (GCM in ESP) rather than DPDK, decrypts
each one and must get back the guest's packet, with RFC 4303's padding and
next-header byte."""

import os
import struct
import subprocess

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vrtest import BUILD, check

ESP_TEST = os.path.join(BUILD, "tests", "unit", "esp_test")


def outer_payload(frame, under6):
    """The UDP payload of an ESP-in-UDP frame, after checking the headers."""
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if under6:
        check(ethertype == 0x86DD and frame[14 + 6] == 17, "not IPv6/UDP")
        l3 = 40
    else:
        check(ethertype == 0x0800 and frame[14 + 9] == 17, "not IPv4/UDP")
        l3 = (frame[14] & 0xF) * 4
    udp = frame[14 + l3:14 + l3 + 8]
    sport, dport, length = struct.unpack("!HHH", udp[:6])
    check(sport == 4500 and dport == 4500, "UDP ports %d -> %d, want 4500" % (sport, dport))
    payload = frame[14 + l3 + 8:]
    check(length == len(payload) + 8, "UDP length %d for %d bytes" % (length, len(payload)))
    return payload


def open_esp(payload, key, salt, spi):
    """RFC 4303 / RFC 4106: SPI, sequence, 8-byte IV, ciphertext, 16-byte ICV;
    the nonce is salt || IV, the associated data SPI || sequence."""
    got_spi, seq = struct.unpack("!II", payload[:8])
    check(got_spi == spi, "SPI %08x, want %08x" % (got_spi, spi))
    iv, body = payload[8:16], payload[16:]
    plain = AESGCM(key).decrypt(salt + iv, body, payload[:8])
    pad_len, next_header = plain[-2], plain[-1]
    padding = plain[-2 - pad_len:-2]
    check(padding == bytes(range(1, pad_len + 1)), "padding %s" % padding.hex())
    check((len(plain)) % 4 == 0, "ESP payload not 4-byte aligned")
    return seq, next_header, plain[:-2 - pad_len]


def test_independent_decryption(s):
    vectors = s.path("vectors")
    r = subprocess.run([ESP_TEST, "--vectors", vectors], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, "esp_test --vectors: %s" % r.stderr[-2000:])
    seen = {}
    with open(vectors) as f:
        lines = f.read().split("\n")
    lines = [ln for ln in lines if ln]
    check(len(lines) == 12, "%d vectors, want 12" % len(lines))
    for ln in lines:
        key, salt, spi, under6, inner6, outer, inner = ln.split()
        key, salt, outer, inner = (bytes.fromhex(x) for x in (key, salt, outer, inner))
        spi, under6, inner6 = int(spi), under6 == "1", inner6 == "1"
        seq, nh, packet = open_esp(outer_payload(outer, under6), key, salt, spi)
        check(nh == (41 if inner6 else 4), "next header %d" % nh)
        check(packet == inner, "SPI %08x: decrypted packet differs from the guest's" % spi)
        check(inner[:20] not in outer, "inner headers visible in the clear")
        check(seq == seen.get(spi, 0) + 1, "SPI %08x: sequence %d" % (spi, seq))
        seen[spi] = seq
    print("    12 frames (IPv4/IPv6 inner and underlay, AES-128/256-GCM) decrypted by "
          "python3-cryptography")
