#!/usr/bin/env python3
"""A minimal FTPS server on tlslite-ng, for the real-server tests.

An independent TLS implementation (pure Python) that still speaks SSLv3 and
TLS 1.0 to 1.3, which no OpenSSL 3 server here can. Anonymous and read-only:
it lists (LIST/NLST) and sends (RETR) the files of --root, nothing else.

  tlslite_ftps.py --host 127.0.0.1 --port N --cert CHAIN.pem --key KEY.pem
                  --root DIR [--mode explicit|implicit] [--tls optional|required]
                  [--min-version ssl3|tls1.0|tls1.1|tls1.2|tls1.3]
                  [--max-version ...] [--pasv-min N --pasv-max N]

Explicit: `220` greeting, FEAT, `AUTH TLS`/`AUTH SSL` -> `234`, then the
TLS handshake. Implicit: the handshake first, then the greeting inside TLS.
After login: PBSZ, PROT C/P, PASV/EPSV, LIST/NLST/RETR over a cleartext or
TLS data connection (sessions cached, resumption offered, not required),
SYST, PWD, CWD, TYPE, NOOP, QUIT. `--tls required` refuses USER before
AUTH with `530`. Anything else: `502`. Logs go to stderr.

The key must be RSA (PEM, PKCS#1 or PKCS#8): SSLv3 has no ECDSA suites.
"""

import argparse
import os
import socket
import sys
import threading
import time

from tlslite.api import (
    HandshakeSettings,
    SessionCache,
    TLSConnection,
    X509CertChain,
    parsePEMKey,
)
from tlslite.errors import TLSError

VERSIONS = {
    "ssl3": (3, 0),
    "tls1.0": (3, 1),
    "tls1.1": (3, 2),
    "tls1.2": (3, 3),
    "tls1.3": (3, 4),
}
VERSION_NAMES = {v: k for k, v in VERSIONS.items()}
FEATURES = ["AUTH TLS", "AUTH SSL", "PBSZ", "PROT", "EPSV", "PASV", "SIZE"]


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


class Config:
    def __init__(self, args):
        self.args = args
        with open(args.cert) as f:
            self.chain = X509CertChain()
            self.chain.parsePemList(f.read())
        with open(args.key) as f:
            self.key = parsePEMKey(f.read(), private=True)
        s = HandshakeSettings()
        s.minVersion = VERSIONS[args.min_version]
        s.maxVersion = VERSIONS[args.max_version]
        s.versions = [v for v in VERSIONS.values()
                      if s.minVersion <= v <= s.maxVersion][::-1]
        # Small keys are the point of some tests.
        s.minKeySize = 512
        # TLS 1.3 resumption of the control session on the data channel.
        s.ticketKeys = [bytearray(os.urandom(32))]
        self.settings = s.validate()
        self.cache = SessionCache()
        self.root = os.path.realpath(args.root)
        self.pasv_next = args.pasv_min
        self.lock = threading.Lock()

    def handshake(self, sock, what):
        conn = TLSConnection(sock)
        conn.handshakeServer(
            certChain=self.chain,
            privateKey=self.key,
            settings=self.settings,
            sessionCache=self.cache,
        )
        log(what, "TLS", VERSION_NAMES.get(tuple(conn.version), conn.version),
            conn.getCipherName(), "resumed" if conn.resumed else "new session")
        return conn

    def passive_socket(self):
        """A listening socket on the next free port of the passive range."""
        a = self.args
        span = a.pasv_max - a.pasv_min + 1
        for _ in range(span):
            with self.lock:
                port = self.pasv_next
                self.pasv_next = a.pasv_min + (port + 1 - a.pasv_min) % span
            family = socket.AF_INET6 if ":" in a.host else socket.AF_INET
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((a.host, port))
            except OSError:
                s.close()
                continue
            s.listen(1)
            s.settimeout(10)
            return s, port
        raise OSError("no free passive port")


class Session:
    def __init__(self, config, sock, peer):
        self.c = config
        self.raw = sock
        self.peer = peer
        self.tls = None  # the TLSConnection of the control channel
        self.buf = b""
        self.user = None
        self.logged_in = False
        self.pbsz = False
        self.prot = "C"
        self.pasv = None
        self.cwd = "/"

    # --- control channel I/O

    def send(self, line):
        log(self.peer, "<-", line)
        data = (line + "\r\n").encode()
        (self.tls or self.raw).sendall(data)

    def readline(self):
        """One command line. In cleartext byte by byte, so that a TLS
        ClientHello sent right after `234` stays in the socket for tlslite."""
        if self.tls is None:
            line = b""
            while not line.endswith(b"\n"):
                b = self.raw.recv(1)
                if not b:
                    return None
                line += b
                if len(line) > 4096:
                    return None
            return line.decode("latin-1").rstrip("\r\n")
        while b"\n" not in self.buf:
            data = self.tls.recv(4096)
            if not data:
                return None
            self.buf += bytes(data)
            if len(self.buf) > 4096:
                return None
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("latin-1").rstrip("\r")

    # --- the session

    def run(self):
        try:
            if self.c.args.mode == "implicit":
                self.tls = self.c.handshake(self.raw, f"{self.peer} control")
            self.send("220 tlslite-ng FTPS test server ready.")
            while True:
                line = self.readline()
                if line is None:
                    break
                cmd, _, arg = line.partition(" ")
                cmd = cmd.upper()
                log(self.peer, "->", "PASS ****" if cmd == "PASS" else line)
                if not self.dispatch(cmd, arg.strip()):
                    break
        except (TLSError, OSError) as e:
            log(self.peer, "closed:", type(e).__name__, e)
        finally:
            self.close()

    def close(self):
        if self.pasv:
            self.pasv.close()
        try:
            if self.tls is not None:
                self.tls.close()
        except (TLSError, OSError):
            pass
        try:
            self.raw.close()
        except OSError:
            pass

    def dispatch(self, cmd, arg):
        """Returns False to end the session."""
        if cmd == "QUIT":
            self.send("221 Goodbye.")
            return False
        if cmd == "FEAT":
            self.send("211-Features:")
            for f in FEATURES:
                self.raw_line(" " + f)
            self.send("211 End")
        elif cmd == "AUTH":
            if self.tls is not None:
                self.send("503 Already using TLS.")
            elif arg.upper() in ("TLS", "SSL", "TLS-C"):
                self.send(f"234 AUTH {arg.upper()} OK, starting TLS.")
                self.tls = self.c.handshake(self.raw, f"{self.peer} control")
            else:
                self.send("504 AUTH type not supported.")
        elif cmd == "USER":
            if self.c.args.tls == "required" and self.tls is None:
                self.send("530 TLS required: send AUTH TLS first.")
            else:
                self.user = arg
                self.logged_in = False
                self.send("331 Send any password.")
        elif cmd == "PASS":
            if self.user is None:
                self.send("503 Send USER first.")
            elif self.user.lower() in ("anonymous", "ftp"):
                self.logged_in = True
                self.send("230 Anonymous login OK.")
            else:
                self.send("530 Only anonymous logins.")
        elif cmd == "PBSZ":
            if self.tls is None:
                self.send("503 PBSZ needs a TLS control connection.")
            else:
                self.pbsz = True
                self.send("200 PBSZ=0")
        elif cmd == "PROT":
            level = arg.upper()
            if self.tls is None:
                self.send("503 PROT needs a TLS control connection.")
            elif not self.pbsz:
                self.send("503 Send PBSZ first.")
            elif level in ("C", "P"):
                self.prot = level
                self.send(f"200 Protection level set to {level}.")
            else:
                self.send(f"504 PROT {level} not supported.")
        elif cmd in ("SYST",):
            self.send("215 UNIX Type: L8")
        elif cmd == "NOOP":
            self.send("200 OK")
        elif not self.logged_in:
            self.send("530 Please log in with USER and PASS.")
        elif cmd == "PWD":
            self.send(f'257 "{self.cwd}" is the current directory.')
        elif cmd == "CWD":
            path = self.resolve(arg)
            if path and os.path.isdir(path):
                self.cwd = "/" + os.path.relpath(path, self.c.root).lstrip(".")
                self.send("250 Directory changed.")
            else:
                self.send("550 No such directory.")
        elif cmd == "TYPE":
            self.send(f"200 Type set to {arg.upper() or 'I'}.")
        elif cmd in ("PASV", "EPSV"):
            if self.pasv:
                self.pasv.close()
            self.pasv, port = self.c.passive_socket()
            if cmd == "PASV":
                host = self.c.args.host
                h = host.replace(".", ",") if ":" not in host else "0,0,0,0"
                self.send(f"227 Entering Passive Mode ({h},{port >> 8},{port & 255}).")
            else:
                self.send(f"229 Entering Extended Passive Mode (|||{port}|)")
        elif cmd in ("LIST", "NLST", "RETR"):
            self.transfer(cmd, arg)
        elif cmd == "SIZE":
            path = self.resolve(arg)
            if path and os.path.isfile(path):
                self.send(f"213 {os.path.getsize(path)}")
            else:
                self.send("550 No such file.")
        else:
            self.send(f"502 {cmd} not implemented.")
        return True

    def raw_line(self, text):
        (self.tls or self.raw).sendall((text + "\r\n").encode())

    def resolve(self, arg):
        """A path inside the root, or None."""
        args = [a for a in arg.split() if not a.startswith("-")]
        rel = args[0] if args else "."
        base = self.cwd if not rel.startswith("/") else "/"
        path = os.path.realpath(os.path.join(self.c.root, base.lstrip("/"), rel.lstrip("/")))
        if path != self.c.root and not path.startswith(self.c.root + os.sep):
            return None
        return path

    def transfer(self, cmd, arg):
        if not self.pasv:
            self.send("425 Use PASV or EPSV first.")
            return
        listener, self.pasv = self.pasv, None
        path = self.resolve(arg)
        if cmd == "RETR":
            ok = path and os.path.isfile(path)
        else:
            ok = path and os.path.exists(path)
        if not ok:
            listener.close()
            self.send("550 No such file or directory.")
            return
        if os.path.isdir(path) and cmd != "RETR":
            names = sorted(os.listdir(path))
        else:
            names = [os.path.basename(path)]
        self.send("150 Opening data connection.")
        try:
            data, _ = listener.accept()
        except OSError as e:
            listener.close()
            self.send("425 No data connection.")
            log(self.peer, "data accept:", e)
            return
        listener.close()
        try:
            stream = data
            if self.prot == "P":
                try:
                    stream = self.c.handshake(data, f"{self.peer} data")
                except (TLSError, OSError) as e:
                    log(self.peer, "data TLS failed:", type(e).__name__, e)
                    data.close()
                    self.send("522 TLS handshake on the data connection failed.")
                    return
            if cmd == "RETR":
                with open(path, "rb") as f:
                    stream.sendall(f.read())
            else:
                out = []
                for name in names:
                    full = os.path.join(path, name) if os.path.isdir(path) else path
                    if cmd == "NLST":
                        out.append(name)
                    else:
                        st = os.stat(full)
                        kind = "d" if os.path.isdir(full) else "-"
                        stamp = time.strftime("%b %d %H:%M", time.gmtime(st.st_mtime))
                        out.append(f"{kind}rw-r--r-- 1 ftp ftp {st.st_size:>8} {stamp} {name}")
                stream.sendall("".join(l + "\r\n" for l in out).encode())
            if stream is not data:
                stream.close()
            data.close()
        except (TLSError, OSError) as e:
            log(self.peer, "data:", type(e).__name__, e)
            self.send("426 Data connection broken.")
            return
        self.send("226 Transfer complete.")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--mode", choices=["explicit", "implicit"], default="explicit")
    p.add_argument("--tls", choices=["optional", "required"], default="optional")
    p.add_argument("--min-version", choices=list(VERSIONS), default="ssl3")
    p.add_argument("--max-version", choices=list(VERSIONS), default="tls1.3")
    p.add_argument("--pasv-min", type=int, default=30000)
    p.add_argument("--pasv-max", type=int, default=30099)
    args = p.parse_args()
    config = Config(args)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((args.host, args.port))
    server.listen(64)
    log(f"listening on {args.host}:{args.port} ({args.mode}, TLS {args.tls}, "
        f"{args.min_version}..{args.max_version})")
    while True:
        sock, peer = server.accept()
        sock.settimeout(60)
        name = f"{peer[0]}:{peer[1]}"
        threading.Thread(target=Session(config, sock, name).run, daemon=True).start()


if __name__ == "__main__":
    main()
