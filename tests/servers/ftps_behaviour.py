#!/usr/bin/env python3
"""Records how an FTPS server behaves where replies alone do not tell:

  ftps_behaviour.py HOST PORT [explicit|implicit] [--delay-after-234 MS]

After an anonymous login inside TLS (AUTH TLS unless implicit), PBSZ 0:

  clear-*     PROT C, then PASV / EPSV and a cleartext LIST of a missing path
              and of `/`: every reply, and whether listing bytes arrived.
  fresh-*     PROT P, PASV, NLST with a data-channel TLS session that does
              NOT resume the control session (Python's ssl, like ftplib).
  resumed-*   the same with the control session offered for resumption.
  order-*     PROT P, PASV, connect the data socket, send LIST and wait 3 s
              without starting TLS: does 150 come before the data-channel
              handshake, or only after it?
  ftplib      Python's ftplib.FTP_TLS: prot_p() and nlst() (it waits for the
              1xx before its data-channel handshake, and resumes nothing).

Each line: step, then what was seen. Prints, never asserts.
"""

import socket
import ssl
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
mode = sys.argv[3] if len(sys.argv) > 3 and not sys.argv[3].startswith("--") else "explicit"
delay = 0.2
if "--delay-after-234" in sys.argv:
    delay = int(sys.argv[sys.argv.index("--delay-after-234") + 1]) / 1000


def context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    return ctx


CTX = context()


def show(step, what):
    print(f"{step:18} {what}", flush=True)


class Control:
    def __init__(self):
        self.raw = socket.create_connection((host, port), timeout=10)
        self.sock = self.raw
        if mode == "implicit":
            self.sock = CTX.wrap_socket(self.raw)
        self.buf = b""

    def reply(self, timeout=10):
        self.sock.settimeout(timeout)
        lines = []
        while True:
            while b"\n" not in self.buf:
                try:
                    data = self.sock.recv(4096)
                except (socket.timeout, TimeoutError):
                    return "(no reply within %ss)" % timeout if not lines else " | ".join(lines)
                except (ssl.SSLError, OSError) as e:
                    return f"(error: {e})"
                if not data:
                    return "(closed)" if not lines else " | ".join(lines) + " (closed)"
                self.buf += data
            line, _, self.buf = self.buf.partition(b"\n")
            line = line.decode("latin-1").rstrip("\r")
            lines.append(line)
            if len(line) >= 4 and line[:3].isdigit() and line[3] == " ":
                return " | ".join(lines)

    def cmd(self, line, timeout=10):
        self.sock.sendall((line + "\r\n").encode())
        return self.reply(timeout)

    def login(self):
        greeting = self.reply()
        if mode == "explicit":
            auth = self.cmd("AUTH TLS")
            if not auth.startswith("234"):
                return f"AUTH TLS -> {auth}"
            time.sleep(delay)
            self.sock = CTX.wrap_socket(self.raw)
        user = self.cmd("USER anonymous")
        if user.startswith("("):
            raise RuntimeError(f"{self.sock.version()}: USER anonymous -> {user}")
        if user.startswith("331"):
            user = self.cmd("PASS anonymous@")
        pbsz = self.cmd("PBSZ 0")
        return f"{greeting.split(' | ')[0][:40]} / {self.sock.version()} / {user} / PBSZ: {pbsz}"

    def passive(self, verb="PASV"):
        r = self.cmd(verb)
        try:
            if verb == "PASV":
                inner = r[r.index("(") + 1 : r.index(")")].split(",")
                p = int(inner[4]) * 256 + int(inner[5])
                h = ".".join(inner[:4])
            else:
                p = int(r.split("|")[3])
                h = host
        except (ValueError, IndexError):
            return r, None
        # Connect to the control host (a PASV of 0.0.0.0 or of another
        # address is recorded, not followed).
        return r, p

    def data(self, p):
        return socket.create_connection((host, p), timeout=5)


def read_all(s, timeout=5):
    s.settimeout(timeout)
    got = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except (socket.timeout, TimeoutError):
        got += b"(timeout)"
    except (ssl.SSLError, OSError) as e:
        got += f"(error: {e})".encode()
    return got


def listing(c, step, verb, command, tls=None):
    """PASV/EPSV, connect, send command, (TLS), replies and data."""
    r, p = c.passive(verb)
    show(f"{step} {verb}", r)
    if p is None:
        return
    try:
        d = c.data(p)
    except OSError as e:
        show(f"{step} data", f"cannot connect: {e}")
        return
    c.sock.sendall((command + "\r\n").encode())
    if tls is not None:
        try:
            d = CTX.wrap_socket(d, session=tls) if tls is not True else CTX.wrap_socket(d)
            show(f"{step} data TLS", f"{d.version()} resumed={d.session_reused}")
        except (ssl.SSLError, OSError) as e:
            show(f"{step} data TLS", f"handshake failed: {e}")
    first = c.reply(8)
    show(f"{step} {command.split()[0]}", first)
    got = read_all(d)
    d.close()
    show(f"{step} data", f"{len(got)} bytes {got[:60]!r}")
    if first.startswith("1"):
        show(f"{step} final", c.reply(8))


def session(name):
    c = Control()
    show(f"{name} login", c.login())
    return c


def main():
    # Each part in a session of its own: a server may end the session after
    # a failed data connection (vsftpd does, after its 522).
    c = session("clear")
    show("clear PROT C", c.cmd("PROT C"))
    listing(c, "clear", "PASV", "LIST /no-such-dir")
    listing(c, "clear", "PASV", "LIST /")
    listing(c, "clear", "EPSV", "LIST /")
    show("clear QUIT", c.cmd("QUIT"))

    c = session("fresh")
    show("fresh PROT P", c.cmd("PROT P"))
    listing(c, "fresh", "PASV", "NLST /", tls=True)
    show("fresh QUIT", c.cmd("QUIT"))

    c = session("resumed")
    show("resumed PROT P", c.cmd("PROT P"))
    listing(c, "resumed", "PASV", "NLST /", tls=c.sock.session)
    show("resumed QUIT", c.cmd("QUIT"))

    # 150 before or after the data-channel handshake?
    c = session("order")
    show("order PROT P", c.cmd("PROT P"))
    r, p = c.passive("PASV")
    show("order PASV", r)
    if p is not None:
        d = c.data(p)
        c.sock.sendall(b"LIST /\r\n")
        first = c.reply(3)
        show("order before TLS", first)
        try:
            d = CTX.wrap_socket(d, session=c.sock.session)
            show("order data TLS", f"{d.version()} resumed={d.session_reused}")
        except (ssl.SSLError, OSError) as e:
            show("order data TLS", f"handshake failed: {e}")
        got = read_all(d)
        d.close()
        show("order data", f"{len(got)} bytes")
        if first.startswith("(no reply"):
            first = c.reply(8)
            show("order after TLS", first)
        if first.startswith("1"):
            show("order final", c.reply(8))
    show("order QUIT", c.cmd("QUIT"))

    import ftplib

    class Client(ftplib.FTP_TLS):
        def connect(self, *a, **k):
            if mode != "implicit":
                return super().connect(*a, **k)
            self.host, self.port = host, port
            self.sock = CTX.wrap_socket(socket.create_connection((host, port), 10))
            self.af = self.sock.family
            self.file = self.sock.makefile("r", encoding=self.encoding)
            self.welcome = self.getresp()
            return self.welcome

        def auth(self):
            if mode == "implicit":
                return "(implicit)"
            r = self.voidcmd("AUTH TLS")
            time.sleep(delay)
            self.sock = CTX.wrap_socket(self.sock)
            self.file = self.sock.makefile(mode="r", encoding=self.encoding)
            return r

    try:
        f = Client(context=CTX, timeout=10)
        f.connect(host, port)
        f.auth()
        f.login()
        f.prot_p()
        show("ftplib nlst", f.nlst())
        f.quit()
    except Exception as e:  # noqa: BLE001 - recorded, not judged
        show("ftplib error", repr(e))


try:
    main()
except (RuntimeError, OSError) as e:
    show("stopped", repr(e))
