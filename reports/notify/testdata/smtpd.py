"""A real SMTP server for reports/notify's email tests (Debian python3-aiosmtpd).

smtpd.py PORT DIR CERT KEY USER PASSWORD [starttls|smtps|plain]

Listens on 127.0.0.1:PORT. starttls (the default) offers STARTTLS with the
certificate, requires it before AUTH and MAIL, and requires AUTH PLAIN/LOGIN
as USER/PASSWORD. smtps speaks TLS from the first byte and requires the same
AUTH. plain offers neither (a relay that would take mail in the clear). Every
message delivered is written to DIR as N.eml (the bytes as received) and
N.json (envelope, whether the session was TLS, who logged in). Prints READY
once listening; runs until killed or until stdin closes.
"""
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, outdir, cert, key, user, password = sys.argv[1:7]
mode = sys.argv[7] if len(sys.argv) > 7 else "starttls"


class Handler:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(outdir, "%03d" % self.n)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            # The connection as it is now: TLS from the start or after STARTTLS.
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "login": (session.login_data or b"").decode() if session.authenticated else None,
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".json.tmp", base + ".json")
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK delivered"


def authenticate(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode():
        return AuthResult(success=True, auth_data=auth_data)
    return AuthResult(success=False, handled=False)


kwargs = {}
if mode != "plain":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    kwargs = dict(authenticator=authenticate, auth_required=True)
    if mode == "smtps":
        # The whole connection is TLS, which aiosmtpd's auth_require_tls
        # does not see (it looks for STARTTLS): AUTH is offered as is.
        kwargs.update(ssl_context=ctx, auth_require_tls=False)
    else:
        kwargs.update(tls_context=ctx, require_starttls=True, auth_require_tls=True)

controller = Controller(Handler(), hostname="127.0.0.1", port=int(port), **kwargs)
controller.start()
print("READY", flush=True)
try:
    sys.stdin.read()
finally:
    controller.stop()
