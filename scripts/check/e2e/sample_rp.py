"""A sample relying party for the portal's end-to-end run: a small web application on its own port
that signs people in through QSPP with the authorization code flow (PKCE S256, state, nonce, iss),
exchanges the code from its server side, and checks the ID token's ML-DSA-65 signature with
dilithium-py against QSPP's JWKS. Test-only; standard library apart from dilithium-py."""
import base64
import hashlib
import html
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mldsa_jwt import verify as verify_mldsa


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class SampleRelyingParty:
    def __init__(self, issuer):
        self.issuer = issuer
        self.client_id = None
        self.secret = None
        self.pending = {}
        self.tokens = None
        self.claims = None
        self.failure = None
        party = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                try:
                    if url.path == "/login":
                        self.redirect(party.authorization_url())
                    elif url.path == "/callback":
                        self.page("Signed in", party.callback(query))
                    elif url.path == "/logout":
                        self.redirect(party.logout_url(query.get("state", "")))
                    elif url.path == "/signed-out":
                        self.page("Signed out", f'<p id="state">{html.escape(query.get("state", ""))}</p>')
                    else:
                        self.send_error(404)
                except Exception as error:  # shown on the page and kept for the run to report
                    party.failure = f"{type(error).__name__}: {error}"
                    self.page("Sign-in failed", f'<p id="failure">{html.escape(party.failure)}</p>')

            def redirect(self, location):
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def page(self, title, body):
                text = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sample shop: {title}</title>'
                        f'</head><body><main><h1>{title}</h1>{body}</main></body></html>').encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *arguments):
                pass

        # A loopback address, as QSPP requires of an http redirect URI; another site than QSPP's localhost.
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()

    def authorization_url(self):
        state, nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(16), secrets.token_urlsafe(48)
        self.pending[state] = (nonce, verifier)
        return self.issuer + "/authorize?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.base + "/callback",
            "scope": "openid email offline_access", "state": state, "nonce": nonce,
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256"})

    def token_request(self, fields):
        basic = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        request = urllib.request.Request(
            self.issuer + "/token", data=urllib.parse.urlencode(fields).encode(),
            headers={"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def callback(self, query):
        if "error" in query:
            raise ValueError(f"QSPP answered {query['error']}")
        nonce, verifier = self.pending.pop(query.get("state"), (None, None))
        if nonce is None:
            raise ValueError("an unknown state")
        if query.get("iss") != self.issuer:
            raise ValueError(f"iss is {query.get('iss')}, not the issuer (RFC 9207)")
        status, tokens = self.token_request({
            "grant_type": "authorization_code", "code": query["code"], "redirect_uri": self.base + "/callback",
            "code_verifier": verifier})
        if status != 200:
            raise ValueError(f"the code exchange answered {status}: {tokens}")
        id_token = tokens["id_token"]
        header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
        jwks = json.load(urllib.request.urlopen(self.issuer + "/.well-known/jwks.json"))
        key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        if header.get("alg") != "ML-DSA-65" or not verify_mldsa(id_token, key["pub"]):
            raise ValueError("the ID token's ML-DSA-65 signature does not verify")
        claims = claims_of(id_token)
        if claims.get("nonce") != nonce or claims.get("iss") != self.issuer or claims.get("aud") not in (
                self.client_id, [self.client_id]):
            raise ValueError(f"the ID token's claims: {claims}")
        self.tokens, self.claims = tokens, claims
        return (f'<p>Welcome, <span id="email">{html.escape(claims.get("email", ""))}</span>.</p>'
                f'<p>Subject <code id="subject">{html.escape(claims["sub"])}</code>, '
                f'signed in with {html.escape(" ".join(claims.get("amr", [])))}.</p>')

    def refresh(self):
        """The status of a refresh with the newest refresh token (which rotates on success)."""
        status, tokens = self.token_request({"grant_type": "refresh_token",
                                             "refresh_token": self.tokens["refresh_token"]})
        if status == 200:
            self.tokens["refresh_token"] = tokens["refresh_token"]
        return status, tokens

    def logout_url(self, state):
        return self.issuer + "/end-session?" + urllib.parse.urlencode({
            "id_token_hint": self.tokens["id_token"], "post_logout_redirect_uri": self.base + "/signed-out",
            "state": state})
