"""OAuth and OpenID Connect load against a running qspp, for scripts/bench/bench-oidc.sh.

  oidc_load.py setup PORT ADMIN_TOKEN PEOPLE STATE_FILE
      registers a web client, a machine client and PEOPLE people, each signed in to the portal with
      the web client's grant given once; writes what the other phases need to STATE_FILE (JSON).
  oidc_load.py code|dpop PORT STATE_FILE SECONDS PROCESSES THREADS
      code: authorization code round trips: the person's browser asks /authorize (prompt=none, the
            grant remembered), gets a code at once, and the client exchanges it at /token (an access
            token and an ID token, both ML-DSA-65);
      dpop: DPoP-bound API reads: GET /v1/subjects/{id}/consents with a DPoP-bound machine token and a
            fresh ES256 proof per request (made by the cryptography package on the same cores).
      Prints one JSON line: completions per second, and how many answers were wrong.
"""
import base64
import hashlib
import http.client
import json
import re
import secrets
import sys
import threading
import time
import urllib.parse
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fan_out import fan_out


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Session:
    """One connection, with the cookies the portal set on it (a browser's jar, kept by hand)."""

    def __init__(self, port, cookies=None):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies = dict(cookies or {})

    def send(self, method, path, body=None, headers=None, form=None):
        headers = dict(headers or {})
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                if "Max-Age=0" in value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = rest.split(";", 1)[0]
        return response.status, dict((k.lower(), v) for k, v in response.getheaders()), data


def hidden(name, page):
    match = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    return match.group(1).replace("&amp;", "&").replace("&quot;", '"').replace("&#39;", "'") if match else None


def authorize_path(client_id, redirect_uri):
    verifier = secrets.token_urlsafe(48)
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid",
        "state": "s", "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256", "prompt": "none"})
    return "/authorize?" + query, verifier


def exchange(session, state, location, verifier):
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query)).get("code")
    if not code:
        return False
    status, _, _ = session.send("POST", "/token", headers={"Authorization": state["web_basic"]}, form={
        "grant_type": "authorization_code", "code": code, "redirect_uri": state["redirect_uri"],
        "code_verifier": verifier})
    return status == 200


def setup(port, admin, people, path):
    api = Session(port)
    bearer = {"Authorization": f"Bearer {admin}"}
    redirect_uri = "https://shop.example/cb"
    status, _, data = api.send("POST", "/v1/admin/oauth-clients", headers=bearer, body={
        "name": "Bench shop", "kind": "confidential", "redirectUris": [redirect_uri],
        "grantTypes": ["authorization_code"], "scopes": ["openid"]})
    assert status == 201, data
    web = json.loads(data)
    status, _, data = api.send("POST", "/v1/admin/oauth-clients", headers=bearer, body={
        "name": "Bench backend", "kind": "confidential", "tokenEndpointAuthMethod": "client_secret_post",
        "grantTypes": ["client_credentials"], "scopes": ["consent:read"]})
    assert status == 201, data
    machine = json.loads(data)
    state = {
        "redirect_uri": redirect_uri, "web_id": web["client"]["clientId"],
        "web_basic": "Basic " + base64.b64encode(
            f"{web['client']['clientId']}:{web['clientSecret']}".encode()).decode(),
        "machine_id": machine["client"]["clientId"], "machine_secret": machine["clientSecret"], "people": []}
    password = "bench oidc password 42"
    for _ in range(people):
        email = f"oidc-{uuid.uuid4().hex}@example.com"
        status, _, data = api.send("POST", "/v1/auth/register", body={"email": email, "password": password})
        assert status == 202, data
        browser = Session(port)
        _, _, page = browser.send("GET", "/login")
        status, _, page = browser.send("POST", "/login", form={
            "csrf": hidden("csrf", page.decode()), "email": email, "password": password})
        assert status == 303, page
        path_, verifier = authorize_path(state["web_id"], redirect_uri)
        status, _, page = browser.send("GET", path_.replace("&prompt=none", ""))
        assert status == 200 and b'action="/authorize"' in page, (status, page[:300])
        status, headers, _ = browser.send("POST", "/authorize", form={
            "csrf": hidden("csrf", page.decode()), "request": hidden("request", page.decode()), "decision": "allow"})
        assert status == 303 and exchange(browser, state, headers["location"], verifier), status
        state["people"].append(browser.cookies)
    # A subject for the DPoP reads: the first person's account id, from their ID token's sub.
    status, _, data = api.send("POST", "/v1/auth/login", body={"email": email, "password": password})
    assert status == 200, data
    state["subject"] = json.loads(data)["user"]["id"]
    _, _, data = api.send("GET", "/.well-known/openid-configuration")
    state["issuer"] = json.loads(data)["issuer"]
    with open(path, "w") as f:
        json.dump(state, f)


def code_client(port, state, cookies, deadline, results):
    browser = Session(port, cookies)
    done = bad = 0
    while time.time() < deadline:
        path, verifier = authorize_path(state["web_id"], state["redirect_uri"])
        status, headers, _ = browser.send("GET", path)
        if status == 303 and exchange(browser, state, headers.get("location", ""), verifier):
            done += 1
        else:
            bad += 1
    results.append((done, bad))


class DPoPKey:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
                    "y": b64url(numbers.y.to_bytes(32, "big"))}

    def proof(self, method, url, token=None, nonce=None):
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk}
        claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(time.time())}
        if nonce:
            claims["nonce"] = nonce
        if token:
            claims["ath"] = b64url(hashlib.sha256(token.encode()).digest())
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def dpop_client(port, state, deadline, results):
    session = Session(port)
    key = DPoPKey()
    form = {"grant_type": "client_credentials", "client_id": state["machine_id"],
            "client_secret": state["machine_secret"]}
    token_url = state["issuer"] + "/token"
    nonce = None
    for _ in range(2):
        status, headers, data = session.send("POST", "/token", form=form,
                                             headers={"DPoP": key.proof("POST", token_url, nonce=nonce)})
        nonce = headers.get("dpop-nonce", nonce)
        if status == 200:
            break
    assert status == 200, data
    token = json.loads(data)["access_token"]
    path = f"/v1/subjects/{state['subject']}/consents"
    url = state["issuer"] + path
    done = bad = 0
    while time.time() < deadline:
        status, headers, _ = session.send("GET", path + "?reason=bench", headers={
            "Authorization": f"DPoP {token}", "DPoP": key.proof("GET", url, token=token, nonce=nonce)})
        if status == 200:
            done += 1
        else:
            nonce = headers.get("dpop-nonce", nonce)
            bad += 1
    results.append((done, bad))


def worker(shares, phase, port, state, seconds, start, queue):
    time.sleep(max(0, start - time.time()))
    results = []
    deadline = start + seconds
    if phase == "code":
        running = [threading.Thread(target=code_client, args=(port, state, cookies, deadline, results))
                   for cookies in shares]
    else:
        running = [threading.Thread(target=dpop_client, args=(port, state, deadline, results)) for _ in shares]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    queue.put((sum(r[0] for r in results), sum(r[1] for r in results)))


def run(phase, port, path, seconds, processes, threads):
    with open(path) as f:
        state = json.load(f)
    people = state["people"]
    shares = [[people[(p * threads + t) % len(people)] for t in range(threads)] for p in range(processes)]
    done, bad = fan_out(worker, shares, phase, port, state, seconds)
    print(json.dumps({"per_second": round(done / seconds, 1), "bad": bad}))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        run(sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
