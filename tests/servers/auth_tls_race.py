#!/usr/bin/env python3
"""The AUTH TLS race: does a server read a ClientHello written immediately
after its `234` as an FTP command?

  auth_tls_race.py HOST PORT [TRIES] [DELAY_MS]

Per try: connect, read the 220, send AUTH TLS, read the 234, then (after
DELAY_MS, default 0) write a real ClientHello (from Python's ssl module) and
look at the first bytes back: a TLS record (0x16 handshake or 0x15 alert)
is a TLS answer; anything else (`502 ...` in clear) means the hello went to
the FTP command parser. Prints the counts and one sample of each answer.
"""
import socket
import ssl
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
tries = int(sys.argv[3]) if len(sys.argv) > 3 else 50
delay = float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0.0


def client_hello():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def reply(f):
    while True:
        line = f.readline()
        if not line or line[3:4] == b" ":
            return line


counts, samples = {}, {}
for _ in range(tries):
    s = socket.create_connection((host, port), timeout=5)
    f = s.makefile("rb")
    reply(f)
    s.sendall(b"AUTH TLS\r\n")
    r = reply(f)
    if not r.startswith(b"234"):
        sys.exit(f"AUTH TLS answered {r!r}")
    if delay:
        time.sleep(delay)
    s.sendall(client_hello())
    try:
        back = s.recv(64)
    except socket.timeout:
        back = b"(timeout)"
    if back[:1] == b"\x16":
        kind = "TLS handshake"
    elif back[:1] == b"\x15":
        kind = "TLS alert"
    elif not back:
        kind = "closed"
    else:
        kind = "cleartext"
    counts[kind] = counts.get(kind, 0) + 1
    samples.setdefault(kind, back[:48])
    s.close()
print(f"{tries} tries on {host}:{port}, delay {delay * 1000:.0f} ms:", counts)
for kind, sample in samples.items():
    print(f"  {kind}: {sample!r}")
