#!/usr/bin/env python3
"""pyftpdlib's TLS_FTPHandler (pyOpenSSL) as an anonymous, read-only FTPS
server, for the real-server tests.

  pyftpdlib_server.py --host 127.0.0.1 --port N --cert CHAIN.pem --key KEY.pem
                      --root DIR [--mode explicit|implicit|plain]
                      [--tls optional|required] [--data-tls-required]
                      [--protocols default|tls12|legacy] [--banner TEXT]
                      [--pasv-min N --pasv-max N] [--permit-foreign-addresses]

--tls required sets tls_control_required (USER/PASS before AUTH:
`550 SSL/TLS required on the control channel.`); --data-tls-required sets
tls_data_required (PASV/EPSV/PORT/EPRT under PROT C: `550 SSL/TLS required
on the data channel.`). pyftpdlib has no implicit FTPS of its own: --mode
implicit starts the TLS handshake on accept and sends the 220 inside TLS.
--mode plain is the plain FTPHandler (AUTH is `500 Command "AUTH" not
understood.`). --protocols: default = OpenSSL's default (TLS 1.2 + 1.3 with
the OpenSSL bundled in the `cryptography` wheel), tls12 = TLS 1.2 only,
legacy = TLS 1.0 to 1.3 with DEFAULT:@SECLEVEL=0.
--permit-foreign-addresses sets permit_foreign_addresses (PORT/EPRT to an
address other than the client's accepted; pyftpdlib then connects to it at
once). Logs go to stderr.
"""

import argparse
import logging

from OpenSSL import SSL
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--root", required=True)
    p.add_argument("--mode", choices=["explicit", "implicit", "plain"], default="explicit")
    p.add_argument("--tls", choices=["optional", "required"], default="optional")
    p.add_argument("--data-tls-required", action="store_true")
    p.add_argument("--protocols", choices=["default", "tls12", "legacy"], default="default")
    p.add_argument("--banner")
    p.add_argument("--pasv-min", type=int, default=30000)
    p.add_argument("--pasv-max", type=int, default=30099)
    p.add_argument("--permit-foreign-addresses", action="store_true")
    args = p.parse_args()

    logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(message)s")

    authorizer = DummyAuthorizer()
    # e: CWD, l: LIST/NLST/..., r: RETR. No write permission.
    authorizer.add_anonymous(args.root, perm="elr")

    if args.mode == "plain":
        handler = type("PlainHandler", (FTPHandler,), {})
    else:
        ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        ctx.set_options(SSL.OP_NO_COMPRESSION)
        if args.protocols == "tls12":
            ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
            ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
        elif args.protocols == "legacy":
            # Before the certificate: an RSA-1024 / SHA-1 one loads only at
            # security level 0.
            ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
            ctx.set_min_proto_version(SSL.TLS1_VERSION)
        ctx.use_certificate_chain_file(args.cert)
        ctx.use_privatekey_file(args.key)

        class Handler(TLS_FTPHandler):
            ssl_context = ctx
            tls_control_required = args.tls == "required"
            tls_data_required = args.data_tls_required
            permit_foreign_addresses = args.permit_foreign_addresses

        if args.mode == "implicit":

            class Handler(Handler):  # noqa: F811
                _greeted = False

                def handle(self):
                    # TLS first; the greeting once the handshake is done.
                    self.secure_connection(self.ssl_context)

                def handle_ssl_established(self):
                    if not self._greeted:
                        self._greeted = True
                        TLS_FTPHandler.handle(self)

        handler = Handler

    handler.authorizer = authorizer
    handler.passive_ports = range(args.pasv_min, args.pasv_max + 1)
    handler.masquerade_address = None
    if args.banner:
        handler.banner = args.banner
    server = FTPServer((args.host, args.port), handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
