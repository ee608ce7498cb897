"""An independent OpenID Connect relying party for QSPP: authlib's OAuth 2 client (test-only), with
ID tokens checked by dilithium-py (ML-DSA-65) and joserfc (EdDSA, ES256), never by QSPP's own code.

  oidc_relying_party.py BASE_URL CONFIG_JSON

CONFIG_JSON names the clients registered for the run and a person who may sign in:
  {"web": [{"id", "secret", "redirect_uri", "alg", "pushed", "post_logout_redirect_uri"}, ...],
   "machine": {"id", "secret"}, "exchanger": {"id", "secret"}, "person": {"email", "password", "subject"},
   "logout_port": N, "signed": {"es256": {"id", "pem"}, "mldsa": {"id", "kid", "seed"}}}

Each web client (one per ID token algorithm) goes through the whole sign-in. A web client with a
post_logout_redirect_uri signs out instead of revoking its token: through the end-session endpoint
in the person's browser, and then it expects a logout token at http://127.0.0.1:N/ (where it was
registered as the client's back-channel logout URI), checked like its ID tokens. The "signed"
clients authenticate with private_key_jwt: authlib signs ES256 assertions with the PEM key, and
dilithium-py signs ML-DSA-65 ones with the key it derives from the seed.

It plays both the person's browser (through the portal's own sign-in and consent pages) and the
application, and runs: discovery, code + PKCE (S256) with state, nonce and iss, the ID token's
signature and claims, UserInfo, refresh with rotation and reuse detection, introspection and
revocation, RP-initiated and back-channel logout, PAR, token exchange, DPoP, and client credentials
against QSPP's API. Each step prints "ok <step>".

Exit 0: every step held. Exit 1, with a "FAILED <step>: <why>" line: QSPP did something a relying
party must not accept. Exit 2, on standard error: anything else (a missing library, a bad command
line), so that a test cannot pass because this script failed to run.
"""
import html
import json
import queue
import re
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

try:
    import requests
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.common.security import generate_token
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import ECKey, OKPKey
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from dilithium_py.ml_dsa import ML_DSA_65
    from mldsa_jwt import b64url_encode, check as mldsa_check
except ImportError as error:
    print(f"ERROR: {error}; install the test tools (qspp_python_test_tools in scripts/lib/setup.sh)", file=sys.stderr)
    sys.exit(2)


class Failure(Exception):
    """QSPP answered something a relying party must refuse."""


def expect(condition, why):
    if not condition:
        raise Failure(why)


class Browser:
    """The person's browser. Browsers treat http://127.0.0.1 as a secure context and send it Secure
    cookies (the portal's __Host- cookies); requests would not, so this browser keeps them itself."""

    def __init__(self):
        self.session = requests.Session()
        self.cookies = {}

    def send(self, method, url, **arguments):
        header = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = self.session.request(
            method, url, headers={"Cookie": header} if header else {}, allow_redirects=False, **arguments)
        for line in response.raw.headers.getlist("Set-Cookie"):
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in line:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response


def hidden(name, page):
    match = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    return html.unescape(match.group(1)) if match else None


def browse_to_code(base, authorization_url, person, redirect_uri, browser):
    """The person's browser: follows the authorization request through sign-in and consent, and returns
    the redirect back to the application."""
    url = authorization_url
    for _ in range(12):
        response = browser.send("GET", url)
        if response.status_code in (302, 303):
            location = urllib.parse.urljoin(base, response.headers["Location"])
            if location.startswith(redirect_uri):
                return location
            url = location
            continue
        expect(response.status_code == 200, f"{url} answered {response.status_code}")
        page = response.text
        refresh = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', page)
        if refresh:
            url = urllib.parse.urljoin(base, html.unescape(refresh.group(1)))
            continue
        if 'action="/login"' in page:
            signed_in = browser.send(
                "POST", base + "/login",
                data={"csrf": hidden("csrf", page), "next": hidden("next", page), "email": person["email"],
                      "password": person["password"]})
            expect(signed_in.status_code == 200, f"sign-in answered {signed_in.status_code}")
            refresh = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', signed_in.text)
            expect(refresh, "sign-in did not continue to the authorization request")
            url = urllib.parse.urljoin(base, html.unescape(refresh.group(1)))
            continue
        if 'action="/authorize"' in page:
            answered = browser.send(
                "POST", base + "/authorize",
                data={"csrf": hidden("csrf", page), "request": hidden("request", page), "decision": "allow"})
            expect(answered.status_code == 303, f"the consent answer was {answered.status_code}")
            return answered.headers["Location"]
        raise Failure(f"an unexpected page at {url}")
    raise Failure("too many steps to reach the application")


def verify_id_token(token, jwks, algorithm, typ="JWT"):
    header = json.loads(jose_b64(token.split(".")[0]))
    expect(header.get("alg") == algorithm, f"the token is {header.get('alg')}, not {algorithm}")
    expect(header.get("typ") == typ, f"the token's typ is {header.get('typ')}, not {typ}")
    key = next((k for k in jwks["keys"] if k.get("kid") == header.get("kid")), None)
    expect(key is not None, "the ID token's kid is not in the JWKS")
    if algorithm == "ML-DSA-65":
        problem = mldsa_check(token, key["pub"])
        expect(problem is None, f"dilithium-py: {problem}")
        return json.loads(jose_b64(token.split(".")[1]))
    imported = OKPKey.import_key(key) if algorithm == "EdDSA" else ECKey.import_key(key)
    decoded = jose_jwt.decode(token, imported, algorithms=[algorithm])
    return decoded.claims


def jose_b64(part):
    import base64
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def run(base, config):
    machine, person = config["machine"], config["person"]

    metadata = requests.get(base + "/.well-known/openid-configuration").json()
    rfc8414 = requests.get(base + "/.well-known/oauth-authorization-server").json()
    expect(metadata == rfc8414, "the two discovery documents differ")
    expect(metadata["issuer"] == base, "the issuer is not the server's URL")
    expect("password" not in metadata["grant_types_supported"], "a password grant is advertised")
    expect(metadata["code_challenge_methods_supported"] == ["S256"], "PKCE methods other than S256")
    print("ok discovery")
    expect(metadata.get("backchannel_logout_supported") is True, "back-channel logout is not advertised")
    receiver = LogoutReceiver(config["logout_port"])
    for index, web in enumerate(config["web"]):
        sign_in(base, metadata, web, person, config["exchanger"] if index == 0 else None, receiver)
    client_credentials(base, metadata, machine, person)
    private_key_jwt(base, metadata, config["signed"], person)
    dpop(base, metadata, machine, person)



def sign_in(base, metadata, web, person, exchanger, receiver):
    app = OAuth2Session(
        web["id"], web["secret"], scope="openid email offline_access consent:read", redirect_uri=web["redirect_uri"],
        code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = app.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    if web.get("pushed"):
        # RFC 9126: the same parameters go to the PAR endpoint; the browser carries only their name.
        parameters = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        pushed = requests.post(
            metadata["pushed_authorization_request_endpoint"], data=parameters, auth=(web["id"], web["secret"]))
        expect(pushed.status_code == 201, f"PAR answered {pushed.status_code}: {pushed.text}")
        url = metadata["authorization_endpoint"] + "?" + urllib.parse.urlencode(
            {"client_id": web["id"], "request_uri": pushed.json()["request_uri"]})
        print("ok pushed authorization request")
    browser = Browser()
    location = browse_to_code(base, url, person, web["redirect_uri"], browser)
    answer = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    expect(answer.get("iss") == metadata["issuer"], "the answer's iss is not the issuer (RFC 9207)")
    expect(answer.get("state") == state, "the answer's state is not ours")
    token = app.fetch_token(metadata["token_endpoint"], authorization_response=location, code_verifier=verifier)
    expect(token.get("token_type") == "Bearer" and "refresh_token" in token, "the token answer is incomplete")
    print("ok code with PKCE")

    claims = verify_id_token(token["id_token"], requests.get(metadata["jwks_uri"]).json(), web["alg"])
    expect(claims["iss"] == metadata["issuer"], "ID token iss")
    expect(claims["aud"] in (web["id"], [web["id"]]), "ID token aud")
    expect(claims["nonce"] == nonce, "ID token nonce")
    expect(claims["sub"] == person["subject"], "ID token sub")
    expect(claims.get("email") == person["email"], "ID token email")
    print(f"ok ID token ({web['alg']}, checked independently)")

    info = app.get(metadata["userinfo_endpoint"]).json()
    expect(info.get("sub") == person["subject"], f"UserInfo answered {info}")
    print("ok userinfo")
    if exchanger:
        exchange_token(base, metadata, exchanger, person, token["access_token"])

    first_refresh = token["refresh_token"]
    refreshed = app.refresh_token(metadata["token_endpoint"], refresh_token=first_refresh)
    expect(refreshed["refresh_token"] != first_refresh, "the refresh token did not rotate")
    print("ok refresh")

    if web.get("post_logout_redirect_uri"):
        log_out(base, metadata, web, app, browser, receiver, token["id_token"], claims, refreshed)
        return

    introspection = app.introspect_token(metadata["introspection_endpoint"], token=refreshed["access_token"]).json()
    expect(introspection.get("active") is True and introspection.get("client_id") == web["id"], "introspection")
    revoked = app.revoke_token(metadata["revocation_endpoint"], token=refreshed["refresh_token"])
    expect(revoked.status_code == 200, f"revocation answered {revoked.status_code}")
    after = app.introspect_token(metadata["introspection_endpoint"], token=refreshed["refresh_token"]).json()
    expect(after == {"active": False}, f"a revoked token introspects as {after}")
    print("ok revoke and introspect")


class LogoutReceiver:
    """The relying party's back-channel logout endpoint: takes form posts, answers 200, keeps them."""

    def __init__(self, port):
        self.posts = queue.Queue()
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                posts.put((self.headers.get("Content-Type", ""), urllib.parse.parse_qs(body)))
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *arguments):
                pass

        self.server = HTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, seconds):
        try:
            return self.posts.get(timeout=seconds)
        except queue.Empty:
            raise Failure(f"no logout token arrived within {seconds} s")


def log_out(base, metadata, web, app, browser, receiver, id_token, id_claims, refreshed):
    """RP-initiated logout in the person's browser, then the back-channel logout token that follows."""
    state = generate_token(16)
    url = metadata["end_session_endpoint"] + "?" + urllib.parse.urlencode(
        {"id_token_hint": id_token, "post_logout_redirect_uri": web["post_logout_redirect_uri"], "state": state})
    asked = browser.send("GET", url)
    expect(asked.status_code == 200 and 'action="/end-session"' in asked.text, f"end-session answered {asked.status_code}")
    form = {name: hidden(name, asked.text) for name in ("csrf", "client_id", "post_logout_redirect_uri", "state")}
    done = browser.send("POST", base + "/end-session", data={k: v for k, v in form.items() if v is not None})
    expect(done.status_code == 303, f"signing out answered {done.status_code}")
    back = urllib.parse.urlsplit(done.headers["Location"])
    expect(done.headers["Location"].startswith(web["post_logout_redirect_uri"]), "sent somewhere unregistered")
    expect(dict(urllib.parse.parse_qsl(back.query)).get("state") == state, "the logout answer's state is not ours")
    after = app.introspect_token(metadata["introspection_endpoint"], token=refreshed["refresh_token"]).json()
    expect(after == {"active": False}, f"the application's refresh token outlived the sign-out: {after}")
    print("ok RP-initiated logout")

    content_type, posted = receiver.next(15)
    expect(content_type.startswith("application/x-www-form-urlencoded"), f"posted as {content_type}")
    expect(list(posted) == ["logout_token"] and len(posted["logout_token"]) == 1, f"posted {list(posted)}")
    jwks = requests.get(metadata["jwks_uri"]).json()
    claims = verify_id_token(posted["logout_token"][0], jwks, web["alg"], typ="logout+jwt")
    expect(claims["iss"] == metadata["issuer"], "logout token iss")
    expect(claims["aud"] in (web["id"], [web["id"]]), "logout token aud")
    expect(claims["sub"] == id_claims["sub"] and claims["sid"] == id_claims["sid"], "logout token sub or sid")
    expect("nonce" not in claims, "a logout token carries a nonce")
    expect(claims.get("jti") and claims["exp"] > claims["iat"], "logout token jti or lifetime")
    expect(claims.get("events") == {"http://schemas.openid.net/event/backchannel-logout": {}}, "logout token events")
    print(f"ok back-channel logout ({web['alg']}, checked independently)")


def exchange_token(base, metadata, exchanger, person, subject_token):
    """RFC 8693: a backend trades the person's token for one of its own."""
    backend = OAuth2Session(exchanger["id"], exchanger["secret"], token_endpoint_auth_method="client_secret_basic")
    exchanged = backend.fetch_token(
        metadata["token_endpoint"], grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token=subject_token, subject_token_type="urn:ietf:params:oauth:token-type:access_token",
        scope="consent:read")
    expect(exchanged.get("issued_token_type") == "urn:ietf:params:oauth:token-type:access_token", "token exchange")
    read = backend.get(f"{base}/v1/subjects/{urllib.parse.quote(person['subject'])}/consents")
    expect(read.status_code == 200, f"an exchanged token read {read.status_code}")
    print("ok token exchange")


def client_credentials(base, metadata, machine, person):
    backend = OAuth2Session(machine["id"], machine["secret"], token_endpoint_auth_method="client_secret_post")
    machine_token = backend.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    expect("refresh_token" not in machine_token, "client credentials came with a refresh token")
    subject = urllib.parse.quote(person["subject"])
    read = backend.get(f"{base}/v1/subjects/{subject}/consents", params={"reason": "interop"})
    expect(read.status_code == 200, f"a consent:read machine token read {read.status_code}")
    write = backend.post(f"{base}/v1/subjects/{subject}/consents", json={"purpose": "marketing", "decision": "granted"})
    expect(write.status_code == 403, f"a machine token without consent:write wrote: {write.status_code}")
    print("ok client credentials")


def private_key_jwt(base, metadata, signed, person):
    """RFC 7523 client authentication: assertions made by authlib (ES256) and dilithium-py (ML-DSA-65)."""
    expect("private_key_jwt" in metadata["token_endpoint_auth_methods_supported"], "private_key_jwt not advertised")
    url = f"{base}/v1/subjects/{urllib.parse.quote(person['subject'])}/consents"
    es256 = signed["es256"]
    app = OAuth2Session(es256["id"], es256["pem"], token_endpoint_auth_method="private_key_jwt")
    app.register_client_auth_method(PrivateKeyJWT(metadata["token_endpoint"], alg="ES256"))
    token = app.fetch_token(metadata["token_endpoint"], grant_type="client_credentials", scope="consent:read")
    expect(token.get("token_type") == "Bearer", f"an ES256 assertion earned {token}")
    read = app.get(url, params={"reason": "interop"})
    expect(read.status_code == 200, f"the signed client's token read {read.status_code}: {read.text}")
    print("ok private_key_jwt (ES256, authlib)")

    mldsa = signed["mldsa"]
    _, secret_key = ML_DSA_65.key_derive(bytes.fromhex(mldsa["seed"]))
    now = int(time.time())
    header = {"alg": "ML-DSA-65", "kid": mldsa["kid"], "typ": "JWT"}
    claims = {"iss": mldsa["id"], "sub": mldsa["id"], "aud": metadata["token_endpoint"], "iat": now,
              "exp": now + 60, "jti": generate_token(24)}
    signing_input = b64url_encode(json.dumps(header).encode()) + "." + b64url_encode(json.dumps(claims).encode())
    assertion = signing_input + "." + b64url_encode(ML_DSA_65.sign(secret_key, signing_input.encode()))
    form = {"grant_type": "client_credentials", "scope": "consent:read", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    issued = requests.post(metadata["token_endpoint"], data=form)
    expect(issued.status_code == 200, f"an ML-DSA-65 assertion was refused: {issued.status_code} {issued.text}")
    replayed = requests.post(metadata["token_endpoint"], data=form)
    expect(replayed.status_code == 401 and replayed.json().get("error") == "invalid_client", "a replayed assertion")
    print("ok private_key_jwt (ML-DSA-65, dilithium-py)")


def dpop_proof(key, method, url, nonce=None, access_token=None):
    """An RFC 9449 proof made by joserfc, not by QSPP's code."""
    import base64
    import hashlib
    import time
    import uuid
    claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
    if nonce:
        claims["nonce"] = nonce
    if access_token:
        digest = hashlib.sha256(access_token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jose_jwt.encode(header, claims, key, algorithms=["ES256"])


def dpop(base, metadata, machine, person):
    key = ECKey.generate_key("P-256")
    token_url = metadata["token_endpoint"]
    expect("ES256" in metadata.get("dpop_signing_alg_values_supported", []), "DPoP algorithms are not advertised")
    data = {"grant_type": "client_credentials", "client_id": machine["id"], "client_secret": machine["secret"]}
    first = requests.post(token_url, data=data, headers={"DPoP": dpop_proof(key, "POST", token_url)})
    expect(first.status_code == 400 and first.json().get("error") == "use_dpop_nonce", "no nonce was asked for")
    nonce = first.headers["DPoP-Nonce"]
    issued = requests.post(token_url, data=data, headers={"DPoP": dpop_proof(key, "POST", token_url, nonce)})
    expect(issued.status_code == 200 and issued.json()["token_type"] == "DPoP", f"DPoP token: {issued.text}")
    token = issued.json()["access_token"]
    url = f"{base}/v1/subjects/{urllib.parse.quote(person['subject'])}/consents"
    proof = dpop_proof(key, "GET", url, access_token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    # Staff reads of a person's records say why; htu leaves the query out.
    read = requests.get(url, params={"reason": "interop"}, headers=headers)
    expect(read.status_code == 200, f"a DPoP-bound read was refused: {read.status_code} {read.text}")
    replay = requests.get(url, params={"reason": "interop"}, headers=headers)
    expect(replay.status_code == 401, "a replayed proof was accepted")
    bearer = requests.get(url, params={"reason": "interop"}, headers={"Authorization": f"Bearer {token}"})
    expect(bearer.status_code == 401, "a DPoP-bound token was accepted as a bearer token")
    print("ok DPoP")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        run(sys.argv[1].rstrip("/"), json.loads(sys.argv[2]))
    except Failure as failure:
        print(f"FAILED: {failure}")
        return 1
    except Exception:
        traceback.print_exc()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
