"""A real SMTP submission server for MailTests, built on aiosmtpd (test-only).

Usage: smtp_server.py MODE CERT KEY OUTDIR [PORT]
MODE is one of:
  starttls      STARTTLS required, then AUTH (PLAIN and LOGIN) required
  slow          the same, but each message is accepted only half a second after its data arrives
  starttls-login  the same, but AUTH LOGIN only
  implicit      TLS from the first byte (smtps), AUTH required
  no-starttls   a server that offers no STARTTLS (a stripped or downgraded session)
  inject        answers STARTTLS with 220 and, in the same packet, a forged reply (a hand-written peer)
The account is user "mailer" with password "s3cret pass". Listens on PORT (or a free one), prints
the port it listens on, then serves until killed. Each accepted message is written to OUTDIR as
JSON: envelope, whether TLS was on, the login used, the data exactly as received (after
dot-unstuffing), and when it was accepted.
"""
import asyncio
import json
import os
import ssl
import sys
import time
import uuid

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER, PASSWORD = b"mailer", b"s3cret pass"


class Handler:
    def __init__(self, outdir, delay):
        self.outdir = outdir
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "login": session.login_data.decode() if isinstance(session.login_data, bytes) else None,
            "data": envelope.original_content.decode("ascii"),
            "received_at": time.time(),
        }
        path = os.path.join(self.outdir, f"{uuid.uuid4()}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER and auth_data.password == PASSWORD
    # handled=False: aiosmtpd then answers 535 itself (by default it leaves a failure unanswered).
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


async def inject(reader, writer):
    writer.write(b"220 localhost ESMTP\r\n")
    while line := await reader.readline():
        command = line.strip().upper()
        if command.startswith(b"EHLO"):
            writer.write(b"250-localhost\r\n250 STARTTLS\r\n")
        elif command == b"STARTTLS":
            writer.write(b"220 ready\r\n250-localhost\r\n250 AUTH PLAIN\r\n")
        else:
            writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()


async def main():
    mode, cert, key, outdir = sys.argv[1:5]
    port = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    handler = Handler(outdir, 0.5 if mode == "slow" else 0)

    def factory():
        if mode == "implicit":
            return SMTP(handler, hostname="localhost", authenticator=authenticator, auth_required=True,
                        auth_require_tls=False)
        if mode == "no-starttls":
            return SMTP(handler, hostname="localhost", authenticator=authenticator, auth_require_tls=False)
        exclude = ["PLAIN"] if mode == "starttls-login" else None
        return SMTP(handler, hostname="localhost", tls_context=context, require_starttls=True,
                    authenticator=authenticator, auth_required=True, auth_exclude_mechanism=exclude)

    if mode == "inject":
        server = await asyncio.start_server(inject, "127.0.0.1", port)
    else:
        server = await loop.create_server(factory, "127.0.0.1", port, ssl=context if mode == "implicit" else None)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
