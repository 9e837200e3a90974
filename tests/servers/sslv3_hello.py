#!/usr/bin/env python3
"""Sends an SSLv3 ClientHello without extensions (the shape of ftps-scan's
raw SSLv3 probe) to an FTPS server and prints the ServerHello's version.

  sslv3_hello.py HOST PORT [explicit|implicit]

Exit 0 and `ServerHello 0x0300` when SSLv3 was accepted; exit 1 with what
came back (an alert, a closed connection) otherwise. Debian's openssl has
no `s_client -ssl3`, hence this.
"""

import os
import socket
import struct
import sys

host, port = sys.argv[1], int(sys.argv[2])
mode = sys.argv[3] if len(sys.argv) > 3 else "explicit"
# RSA and DHE-RSA CBC suites plus 3DES; then the renegotiation SCSV.
suites = [0x0035, 0x002F, 0x0039, 0x0033, 0x000A, 0x0016, 0x0005, 0x00FF]
body = b"\x03\x00" + os.urandom(32) + b"\x00"
body += struct.pack(">H", 2 * len(suites)) + b"".join(struct.pack(">H", s) for s in suites)
body += b"\x01\x00"  # compression: null; no extensions block at all
hello = b"\x01" + struct.pack(">I", len(body))[1:] + body
record = b"\x16\x03\x00" + struct.pack(">H", len(hello)) + hello

s = socket.create_connection((host, port), timeout=10)
f = s.makefile("rb")
if mode == "explicit":
    def reply():
        while True:
            line = f.readline().decode("latin-1")
            if not line or line[3:4] == " ":
                return line.strip()
    print("greeting:", reply())
    s.sendall(b"AUTH TLS\r\n")
    print("AUTH TLS:", reply())
s.sendall(record)
head = f.read(5)
if len(head) < 5:
    sys.exit(f"closed after {head!r}")
rtype, rver, rlen = head[0], head[1:3], struct.unpack(">H", head[3:5])[0]
payload = f.read(rlen)
if rtype == 0x15:
    sys.exit(f"alert record (version {rver.hex()}): level {payload[0]} description {payload[1]}")
if rtype != 0x16 or payload[0] != 0x02:
    sys.exit(f"unexpected record type {rtype:#x}: {payload[:16].hex()}")
version = payload[4:6]
suite = payload[4 + 2 + 32 + 1 + payload[38]:][:2]
print(f"record 0x{rver.hex()} ServerHello 0x{version.hex()} suite 0x{suite.hex()}")
sys.exit(0 if version == b"\x03\x00" else 1)
