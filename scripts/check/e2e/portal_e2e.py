"""End-to-end test of the web portal in headless Chromium (Selenium), with axe-core on every page.

  portal_e2e.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD SCREENSHOT_DIR MAIL_DIRECTORY

Drives a running `qspp serve` through every user and admin flow: registration confirmed through the
link in the mail the server wrote to MAIL_DIRECTORY, a forgotten password reset the same way, MFA
set-up from the secret the page shows (codes from pyotp), sign-in with MFA, a passkey added in WebDriver's
virtual authenticator and used to sign in alone and as the second factor, renamed and removed, consent
toggles and their timeline, an application registered on the admin page and a sample relying party
(sample_rp.py) signed in to through QSPP (sign-in, the MFA step, the consent screen), disconnected on
the security page and signed out of, a
receipt downloaded and verified with an independent ML-DSA-65 (dilithium-py), the export, and erasure,
after which sign-in fails. Fails on any axe violation of serious or critical impact. Every check is on
content: text, attributes and counts, the QR code decoded by zbarimg, the export's files read back.
"""
import base64
import csv
import email.parser as email_parser
import email.policy as email_policy
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile

import axe_playwright_python
import pyotp
from axe_selenium_python import Axe
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions
from selenium.webdriver.support import expected_conditions as conditions
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "Tests", "Interop"))
from mldsa_jwt import verify as verify_mldsa  # noqa: E402
from sample_rp import SampleRelyingParty  # noqa: E402

BASE, ADMIN_EMAIL, ADMIN_PASSWORD, SHOTS, MAIL = sys.argv[1:6]
DOWNLOADS = tempfile.mkdtemp(prefix="qspp-e2e-downloads-")
PASSWORD = "a long and unusual passphrase 42"
NEW_PASSWORD = "another long and unusual passphrase 43"
checked_pages = []
AXE_SCRIPT = os.path.join(os.path.dirname(axe_playwright_python.__file__), "axe.min.js")


def browser():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                 "--disable-gpu", "--lang=en-GB"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    options.add_experimental_option("prefs", {"download.default_directory": DOWNLOADS,
                                              "download.prompt_for_download": False})
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": DOWNLOADS})
    return driver


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def page(driver, name):
    """Screenshots the page and runs axe on it: no serious or critical violation may remain."""
    driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))
    # axe-core from axe-playwright-python (a current release) run through axe-selenium-python, whose own
    # copy is from 2018 and predates WCAG 2.2 and the `webauthn` autocomplete token.
    axe = Axe(driver, script_url=AXE_SCRIPT)
    axe.inject()
    results = axe.run()
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    for violation in bad:
        print(f"axe: {name}: {violation['id']} ({violation['impact']}): {violation['help']}", file=sys.stderr)
        for node in violation["nodes"][:3]:
            print(f"    {node['target']}", file=sys.stderr)
    check(not bad, f"{name}: {len(bad)} serious or critical accessibility violations")
    checked_pages.append(name)


def navigating(driver, element):
    """Clicks `element` and waits until the browser has loaded the page the click leads to."""
    # A mark on the old page's window, not `staleness_of`: while the document is swapped, chromedriver can
    # answer a query on the old element with "Node ... does not belong to the document" instead of "stale".
    driver.execute_script("window.qsppLeaving = true")
    element.click()
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return window.qsppLeaving !== true && document.readyState === 'complete'"))


def submit(driver, form_selector):
    navigating(driver, driver.find_element(By.CSS_SELECTOR, form_selector + " button[type=submit]"))


def fill(driver, fields):
    for name, value in fields.items():
        element = driver.find_element(By.ID, name)
        element.clear()
        element.send_keys(value)


def wait_for_download(suffix, before):
    deadline = time.time() + 30
    while time.time() < deadline:
        fresh = [f for f in os.listdir(DOWNLOADS) if f.endswith(suffix) and f not in before]
        if fresh:
            return os.path.join(DOWNLOADS, fresh[0])
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} download arrived")


def mailed_text(recipient, subject):
    """The plain text of the newest message to `recipient` with `subject`, once the sender wrote it."""
    deadline = time.time() + 30
    while time.time() < deadline:
        names = os.listdir(MAIL) if os.path.isdir(MAIL) else []
        for name in sorted(names, key=lambda n: os.path.getmtime(os.path.join(MAIL, n)), reverse=True):
            with open(os.path.join(MAIL, name), "rb") as f:
                message = email_parser.BytesParser(policy=email_policy.default).parse(f)
            if message["To"].addresses[0].addr_spec == recipient and str(message["Subject"]) == subject:
                return message.get_body(preferencelist=("plain",)).get_content()
        time.sleep(0.2)
    raise AssertionError(f"no mail {subject!r} to {recipient} in {MAIL}")


def mailed_link(recipient, subject):
    """The portal link with a token in that message, on this server's origin."""
    link = urllib.parse.urlsplit(next(w for w in mailed_text(recipient, subject).split() if "?token=" in w))
    return BASE + link.path + "?" + link.query


def sign_in(driver, email, password, secret=None, used=None):
    driver.get(BASE + "/login")
    fill(driver, {"email": email, "password": password})
    submit(driver, "form[action='/login']")
    if secret:
        WebDriverWait(driver, 10).until(conditions.presence_of_element_located((By.NAME, "mfaToken")))
        page(driver, "login-mfa")
        code = next_code(secret, used)
        fill(driver, {"code": code})
        submit(driver, "form[action='/login/mfa']")
        return code
    return None


def next_code(secret, used):
    code = pyotp.TOTP(secret).now()
    while code == used:  # a code is accepted once; wait for the next step
        time.sleep(1)
        code = pyotp.TOTP(secret).now()
    return code


def register_application(driver, rp):
    """An administrator registers the sample relying party on the admin page; its secret is shown once."""
    sign_in(driver, ADMIN_EMAIL, ADMIN_PASSWORD)
    driver.get(BASE + "/admin/applications")
    page(driver, "admin-applications")
    fill(driver, {"client-name": "Sample shop", "client-redirects": rp.base + "/callback",
                  "client-logout-redirects": rp.base + "/signed-out"})
    for box in ("grant-authorization_code", "grant-refresh_token", "scope-openid", "scope-email",
                "scope-offline_access"):
        driver.find_element(By.ID, box).click()
    submit(driver, "form#register-application")
    rp.client_id = driver.find_element(By.ID, "issued-client-id").text
    rp.secret = driver.find_element(By.ID, "issued-client-secret").text
    check(rp.client_id and len(rp.secret) >= 32, "the new application's id and secret are shown")
    check("Sample shop" in driver.find_element(By.ID, f"client-{rp.client_id}").text, "the application is listed")
    page(driver, "admin-application-registered")
    driver.delete_all_cookies()


def relying_party(driver, rp, email, secret, used):
    """The person signs in to the sample relying party through QSPP (password, MFA, consent), then
    disconnects it on the security page, which ends its refresh token, and signs out through it."""
    driver.delete_all_cookies()
    driver.get(rp.base + "/login")
    WebDriverWait(driver, 15).until(conditions.presence_of_element_located((By.CSS_SELECTOR, "form[action='/login']")))
    check("next=" in driver.current_url, f"QSPP's sign-in, on its way back to the request: {driver.current_url}")
    page(driver, "oidc-login")
    fill(driver, {"email": email, "password": NEW_PASSWORD})
    submit(driver, "form[action='/login']")
    WebDriverWait(driver, 10).until(conditions.presence_of_element_located((By.NAME, "mfaToken")))
    code = next_code(secret, used)
    fill(driver, {"code": code})
    submit(driver, "form[action='/login/mfa']")
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "button[value=allow]"))
    consent = driver.find_element(By.TAG_NAME, "main").text
    check("Sample shop" in consent and "email" in consent, f"the consent screen: {consent}")
    page(driver, "oidc-consent")
    navigating(driver, driver.find_element(By.CSS_SELECTOR, "button[value=allow]"))
    WebDriverWait(driver, 15).until(lambda d: d.current_url.startswith(rp.base + "/callback"))
    check(rp.failure is None, f"the relying party: {rp.failure}")
    check(driver.find_element(By.ID, "email").text == email, "the relying party knows who signed in")
    check(driver.find_element(By.ID, "subject").text == rp.claims["sub"] and "otp" in rp.claims["amr"],
          f"the ID token's claims: {rp.claims}")
    check(rp.refresh()[0] == 200, "the relying party's refresh token works")
    print(f"sample relying party signed in {rp.claims['sub']} with {rp.claims['amr']}, ID token checked by dilithium-py")

    driver.get(BASE + "/my/security")
    check("Sample shop" in driver.find_element(By.ID, "applications").text, "the connected application is listed")
    page(driver, "security-applications")
    navigating(driver, driver.find_element(By.XPATH, "//section[@id='applications']//button[contains(., 'Disconnect')]"))
    check("disconnected" in driver.find_element(By.CSS_SELECTOR, ".notice").text, "the disconnection's notice")
    check("No application signs in" in driver.find_element(By.ID, "applications").text, "no application left")
    status, answer = rp.refresh()
    check(status == 400 and answer.get("error") == "invalid_grant", f"after disconnecting: {status} {answer}")
    # The withdrawal, newest first, has a signed receipt that dilithium-py checks against the JWKS.
    before = set(os.listdir(DOWNLOADS))
    driver.find_element(By.CSS_SELECTOR, "#application-history a[download]").click()
    receipt = open(wait_for_download(".jws", before)).read().strip()
    header = json.loads(base64.urlsafe_b64decode(receipt.split(".")[0] + "=="))
    jwks = json.load(urllib.request.urlopen(BASE + "/.well-known/jwks.json"))
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = json.loads(base64.urlsafe_b64decode(receipt.split(".")[1] + "=="))
    check(header.get("typ") == "grant-receipt+jwt" and verify_mldsa(receipt, key["pub"])
          and claims.get("decision") == "withdrawn" and claims.get("client_id") == rp.client_id,
          f"the withdrawal's receipt: {header} {claims}")

    # Sign-out starts at the relying party, on another site: the browser brings none of QSPP's
    # SameSite=Strict cookies until one step from QSPP's own page.
    driver.get(rp.base + "/logout?state=bye")
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "form[action='/end-session'] button"))
    page(driver, "oidc-end-session")
    navigating(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/end-session'] button"))
    WebDriverWait(driver, 15).until(lambda d: d.current_url.startswith(rp.base + "/signed-out"))
    check(driver.find_element(By.ID, "state").text == "bye", "back at the relying party with its state")
    driver.get(BASE + "/my/security")
    check("/login" in driver.current_url, f"signed out of QSPP too: {driver.current_url}")
    return code


def add_authenticator(driver):
    """A platform authenticator in the browser (WebDriver's virtual authenticator) that holds
    discoverable credentials and verifies the person, as a laptop's fingerprint reader does."""
    options = VirtualAuthenticatorOptions()
    options.protocol = VirtualAuthenticatorOptions.Protocol.CTAP2
    options.transport = VirtualAuthenticatorOptions.Transport.INTERNAL
    options.has_resident_key = True
    options.has_user_verification = True
    options.is_user_verified = True
    options.is_user_consenting = True
    driver.add_virtual_authenticator(options)


def wait_for_page(driver, path):
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: urllib.parse.urlsplit(d.current_url).path == path
        and d.execute_script("return document.readyState === 'complete'"))


def passkeys(driver, email):
    """Adds a passkey on the security page, signs in with it alone and as the second factor, then
    renames and removes it."""
    add_authenticator(driver)
    driver.get(BASE + "/my/security")
    check(driver.find_element(By.ID, "passkeys-none").is_displayed(), "no passkeys yet")
    fill(driver, {"passkey-name": "Laptop"})
    driver.find_element(By.ID, "passkey-start").click()
    WebDriverWait(driver, 15).until(conditions.presence_of_element_located((By.ID, "passkeys")))
    check("Your passkey is added" in driver.find_element(By.CSS_SELECTOR, ".notice").text, "the passkey's notice")
    row = driver.find_element(By.CSS_SELECTOR, "#passkeys tbody tr").text
    algorithm = next((name for name in ("ML-DSA-65", "EdDSA", "ES256", "RS256") if name in row), None)
    check("Laptop" in row and algorithm and "never" in row, f"the new passkey's row: {row}")
    print(f"Chromium's virtual authenticator made an {algorithm} passkey")
    check(len(driver.get_credentials()) == 1 and driver.get_credentials()[0].is_resident_credential,
          "the authenticator holds one discoverable credential")
    check("can sign in to your account without your password" in mailed_text(
        email, "A passkey was added to your QSPP account"), "the mail about the new passkey")
    page(driver, "security-passkeys")

    # Without a password: signing out lands on the sign-in page, whose email field offers the passkey
    # in autofill (conditional mediation), which the virtual authenticator accepts at once.
    driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
    wait_for_page(driver, "/my/consent")

    # As the second factor after the password, from the button: with no authenticator, the sign-in
    # page's autofill waits, and the password goes in.
    credential = driver.get_credentials()[0]
    driver.remove_virtual_authenticator()
    navigating(driver, driver.find_element(By.CSS_SELECTOR, "form.logout button"))
    page(driver, "login-passkey")
    fill(driver, {"email": email, "password": NEW_PASSWORD})
    submit(driver, "form[action='/login']")
    WebDriverWait(driver, 10).until(conditions.visibility_of_element_located((By.ID, "passkey-start")))
    page(driver, "login-mfa-passkey")
    add_authenticator(driver)
    driver.add_credential(credential)
    driver.find_element(By.ID, "passkey-start").click()
    wait_for_page(driver, "/my/consent")

    driver.get(BASE + "/my/security")
    row = driver.find_element(By.CSS_SELECTOR, "#passkeys tbody tr")
    check("never" not in row.text, f"the passkey was used: {row.text}")
    name = row.find_element(By.CSS_SELECTOR, "input[name=name]")
    name.clear()
    name.send_keys("Work laptop")
    navigating(driver, row.find_element(By.XPATH, ".//button[contains(., 'Rename')]"))
    check("Work laptop" in driver.find_element(By.ID, "passkeys").text, "the passkey is renamed")
    navigating(driver, driver.find_element(By.XPATH, "//table[@id='passkeys']//button[contains(., 'Remove')]"))
    check("The passkey is removed" in driver.find_element(By.CSS_SELECTOR, ".notice").text, "removed")
    check(driver.find_element(By.ID, "passkeys-none").is_displayed(), "no passkeys left")
    mailed_text(email, "A passkey was removed from your QSPP account")
    page(driver, "security-passkey-removed")
    # The authenticator still holds the credential the server forgot; it leaves with its owner.
    driver.remove_virtual_authenticator()


def decode_qr(driver, element):
    """The text of the QR code `element` shows, as zbarimg reads it from a screenshot of it."""
    check(element.is_displayed() and element.size["width"] >= 100 and element.size["height"] >= 100,
          f"the QR code is drawn at a readable size: {element.size}")
    shot = os.path.join(DOWNLOADS, "qr.png")
    check(element.screenshot(shot), "a screenshot of the QR code")
    result = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", shot],
                            capture_output=True, text=True, timeout=30)
    check(result.returncode == 0, f"zbarimg read no QR code from the page: {result.stderr.strip()}")
    return result.stdout.strip()


def bars(driver, chart_id):
    """The bars of a chart (`SVGBarChart`), as (label, width, shown value) read from its SVG."""
    chart = driver.find_element(By.CSS_SELECTOR, f"svg[aria-labelledby='{chart_id}']")
    labels = [e.text for e in chart.find_elements(By.CSS_SELECTOR, "text.chart-label")]
    widths = [float(e.get_attribute("width")) for e in chart.find_elements(By.CSS_SELECTOR, "rect")]
    shown = [e.text for e in chart.find_elements(By.CSS_SELECTOR, "text.chart-value")]
    check(len(labels) == len(widths) == len(shown), f"{chart_id}: {labels}, {widths}, {shown}")
    return list(zip(labels, widths, shown))


def read_table(archive, name, columns):
    """A dataset of the export, from both of its forms, which must agree: rows as dictionaries."""
    text = archive.read(name + ".csv").decode()
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    check(header == columns, f"{name}.csv columns: {header}")
    rows = [dict(zip(header, row)) for row in reader]
    check(all(len(row) == len(columns) for row in rows), f"{name}.csv: a row without every column")
    lines = [json.loads(line) for line in archive.read(name + ".jsonl").decode().splitlines() if line]
    check(len(lines) == len(rows), f"{name}: {len(rows)} CSV rows but {len(lines)} JSON lines")
    for row, line in zip(rows, lines):
        # A value never recorded is an empty CSV field and a key left out of the JSON line.
        check(set(line) <= set(columns) and all(row[c] == line.get(c, "") for c in columns),
              f"{name}: the CSV row {row} and the JSON line {line} differ")
    return rows, lines


def api(path, body, token=None):
    request = urllib.request.Request(BASE + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    return json.load(urllib.request.urlopen(request))


def store_records(email):
    """An integration stores the person's data records through the API, for the value page."""
    token = api("/v1/auth/login", {"email": email, "password": PASSWORD})["accessToken"]
    for category, purpose, attributes in [
        ("demographics", "analytics", {"age": 41, "gender": "f", "postcode": "10115"}),
        ("purchase_intent", "analytics", {"product": "bicycle", "budget": 900}),
        ("health", "marketing", {"condition": "asthma", "since": "2019"}),
    ]:
        api("/v1/me/data-records",
            {"category": category, "purpose": purpose, "attributes": attributes, "source": "e2e"}, token)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    driver = browser()
    email = f"e2e-{int(time.time())}@qspp.test"
    rp = SampleRelyingParty(BASE)
    try:
        register_application(driver, rp)

        # Register: the page says to check the inbox; the mailed link confirms the email; then sign in.
        driver.get(BASE + "/register")
        page(driver, "register")
        fill(driver, {"email": email, "password": PASSWORD, "confirmPassword": PASSWORD})
        submit(driver, "form[action='/register']")
        check("Check your inbox" in driver.find_element(By.ID, "registered").text, "the registration's answer")
        page(driver, "register-sent")
        driver.get(mailed_link(email, "Confirm your email for QSPP"))
        page(driver, "verify-email")
        submit(driver, "form[action='/verify-email']")
        check("Your email is confirmed" in driver.find_element(By.TAG_NAME, "main").text,
              f"after confirming: {driver.current_url}")
        sign_in(driver, email, PASSWORD)
        check(driver.current_url.endswith("/my/consent"), f"after signing in: {driver.current_url}")
        cookies = {c["name"]: c for c in driver.get_cookies()}
        for name in ("__Host-qspp-ticket", "__Host-qspp-refresh", "__Host-qspp-csrf"):
            check(name in cookies and cookies[name]["httpOnly"] and cookies[name]["secure"]
                  and cookies[name]["sameSite"] == "Strict", f"cookie {name}: {cookies.get(name)}")

        store_records(email)

        # A forgotten password: the link from the mail, a new password, and every session ended.
        driver.get(BASE + "/my/consent")
        navigating(driver, driver.find_element(By.CSS_SELECTOR, "form.logout button"))
        navigating(driver, driver.find_element(By.LINK_TEXT, "Forgot your password?"))
        page(driver, "forgot-password")
        fill(driver, {"email": email})
        submit(driver, "form[action='/forgot-password']")
        check("a link to reset its password is on its way" in driver.find_element(By.TAG_NAME, "main").text,
              "the same answer for every address")
        page(driver, "forgot-password-sent")
        driver.get(mailed_link(email, "Reset your QSPP password"))
        page(driver, "reset-password")
        fill(driver, {"password": NEW_PASSWORD, "confirmPassword": NEW_PASSWORD})
        submit(driver, "form[action='/reset-password']")
        check("Your password is reset" in driver.find_element(By.TAG_NAME, "main").text,
              f"after the reset: {driver.current_url}")
        check("was changed" in mailed_text(email, "Your QSPP password was changed"), "the notice of the change")
        sign_in(driver, email, NEW_PASSWORD)
        check(driver.current_url.endswith("/my/consent"), f"signed in with the new password: {driver.current_url}")

        # MFA: read the secret the page shows, answer with pyotp's code, keep the recovery codes.
        driver.get(BASE + "/my/security")
        page(driver, "security")
        navigating(driver, driver.find_element(By.ID, "mfa-setup"))
        secret = driver.find_element(By.ID, "totp-secret").text
        check(len(secret.replace(" ", "")) >= 16, f"the secret shown: {secret!r}")
        qr = driver.find_element(By.CSS_SELECTOR, ".qr svg")
        check(qr.get_attribute("aria-label") == "QR code for your authenticator app", "the QR code is labelled")
        uri = urllib.parse.urlsplit(decode_qr(driver, qr))
        query = urllib.parse.parse_qs(uri.query)
        check(uri.scheme == "otpauth" and uri.netloc == "totp", f"the QR code holds an otpauth TOTP URI: {uri}")
        check(query.get("secret") == [secret.replace(" ", "")], f"the QR code's secret {query} is the one shown")
        check(email in urllib.parse.unquote(uri.path), f"the QR code names the account: {uri.path}")
        page(driver, "mfa-setup")
        first_code = pyotp.TOTP(secret).now()
        fill(driver, {"code": first_code})
        submit(driver, "form[action='/my/security/mfa/confirm']")
        codes = driver.find_elements(By.CSS_SELECTOR, "#recovery-codes code")
        check(len(codes) == 10, f"ten recovery codes, got {len(codes)}")
        page(driver, "mfa-recovery")

        # Sign out, then in again: the password alone is not enough.
        driver.get(BASE + "/my/consent")
        navigating(driver, driver.find_element(By.CSS_SELECTOR, "form.logout button"))
        check("/login" in driver.current_url, "signed out")
        page(driver, "login")
        used = sign_in(driver, email, NEW_PASSWORD, secret=secret, used=first_code)
        check(driver.current_url.endswith("/my/consent"), f"after MFA: {driver.current_url}")
        passkeys(driver, email)
        driver.get(BASE + "/my/consent")

        # Consent: grant, see it in the timeline, withdraw, see that too.
        navigating(driver, driver.find_element(By.CSS_SELECTOR, "#purpose-marketing button"))
        timeline = driver.find_element(By.ID, "timeline").text
        check("Marketing: granted (explicit" in timeline, f"timeline after granting: {timeline}")
        navigating(driver, driver.find_element(By.CSS_SELECTOR, "#purpose-marketing button"))
        timeline = driver.find_element(By.ID, "timeline").text
        check("Marketing: withdrawn (explicit" in timeline.splitlines()[1], f"newest first: {timeline}")
        page(driver, "consent")

        # The receipt: downloaded, then verified offline against the JWKS with dilithium-py.
        before = set(os.listdir(DOWNLOADS))
        driver.find_element(By.CSS_SELECTOR, "#timeline a[download]").click()
        receipt = open(wait_for_download(".jws", before)).read().strip()
        header = json.loads(base64.urlsafe_b64decode(receipt.split(".")[0] + "=="))
        jwks = json.load(urllib.request.urlopen(BASE + "/.well-known/jwks.json"))
        key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        check(verify_mldsa(receipt, key["pub"]), "the receipt's ML-DSA-65 signature verifies")
        claims = json.loads(base64.urlsafe_b64decode(receipt.split(".")[1] + "=="))
        print(f"receipt {claims.get('jti')} verified with dilithium-py")

        # Export: a ZIP with the person's profile, every dataset as CSV and JSON lines, and a manifest
        # (the export writer's layout); read back, it holds the two decisions and the three records made above.
        driver.get(BASE + "/my/data")
        page(driver, "data")
        before = set(os.listdir(DOWNLOADS))
        driver.find_element(By.ID, "export-link").click()
        datasets = ("consent-events", "sessions", "passkeys", "auth-events", "requests", "staff-access", "data-records",
                    "valuations", "downstream-systems", "website-consent-events")
        with zipfile.ZipFile(wait_for_download(".zip", before)) as archive:
            names = archive.namelist()
            expected = {"profile.json", "manifest.json"} | {d + e for d in datasets for e in (".csv", ".jsonl")}
            check(set(names) == expected and len(names) == len(expected), f"export files: {sorted(names)}")
            profile = json.loads(archive.read("profile.json"))
            check(profile.get("email") == email and profile.get("mfaEnabled") is True, f"profile.json: {profile}")
            manifest = json.loads(archive.read("manifest.json"))
            check(manifest.get("format") == "qspp-export-1" and manifest.get("subject") == profile.get("id")
                  and set(manifest.get("files", [])) == expected - {"manifest.json"}, f"manifest.json: {manifest}")
            events, _ = read_table(archive, "consent-events", [
                "id", "purpose", "decision", "noticeVersion", "method", "recordedAt", "clientTimestamp",
                "sourceIp", "userAgent", "ledgerSequence"])
            decisions = [(e["purpose"], e["decision"]) for e in sorted(events, key=lambda e: e["recordedAt"])]
            check(decisions == [("marketing", "granted"), ("marketing", "withdrawn")],
                  f"consent-events: the two decisions made, in order: {decisions}")
            check(all(e["ledgerSequence"] for e in events), f"consent-events: each is in the ledger: {events}")
            records, lines = read_table(archive, "data-records", [
                "id", "category", "purpose", "recordedAt", "createdAt", "source", "label", "attributes"])
            stored = sorted((r["category"], r["purpose"], r["source"]) for r in records)
            check(stored == [("demographics", "analytics", "e2e"), ("health", "marketing", "e2e"),
                             ("purchase_intent", "analytics", "e2e")], f"data-records: {stored}")
            health = next(json.loads(line["attributes"]) for line in lines if line["category"] == "health")
            check(health == {"condition": "asthma", "since": "2019"}, f"data-records: health attributes {health}")
            passkey_rows, _ = read_table(archive, "passkeys", [
                "id", "name", "algorithm", "synced", "attestation", "createdAt", "lastUsedAt"])
            check(passkey_rows == [], f"passkeys: the one added was removed: {passkey_rows}")
            sessions, _ = read_table(archive, "sessions", [
                "id", "createdAt", "lastUsedAt", "revokedAt", "ipAddress", "userAgent", "rememberMe", "methods"])
            check(len(sessions) >= 2, f"sessions: registration and the MFA sign-in, got {len(sessions)}")
            auth_events, _ = read_table(archive, "auth-events", [
                "id", "kind", "occurredAt", "sessionId", "ipAddress", "userAgent", "details"])
            check(len(auth_events) >= 2, f"auth-events: at least the two sign-ins, got {len(auth_events)}")
        print(f"export holds {len(names)} files: {len(events)} consent events, {len(records)} data records, "
              f"{len(sessions)} sessions, {len(auth_events)} auth events")

        driver.get(BASE + "/my/consent")
        navigating(driver, driver.find_element(By.CSS_SELECTOR, "#purpose-analytics button"))
        driver.get(BASE + "/my/value")
        # Analytics granted, marketing withdrawn: the two analytics records count, the health one does not.
        value_bars = bars(driver, "value-chart")
        check([label for label, _, _ in value_bars] == ["demographics", "purchase_intent"]
              and all(width > 0 for _, width, _ in value_bars), f"the value chart's bars: {value_bars}")
        check([(label, shown) for label, _, shown in bars(driver, "count-chart")]
              == [("Counted", "2"), ("Excluded", "1")], f"the count chart: {bars(driver, 'count-chart')}")
        rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                for tr in driver.find_elements(By.CSS_SELECTOR, "#records tbody tr")]
        counted = sorted((row[0], row[2]) for row in rows)
        check(counted == [("demographics", "yes"), ("health", "no: its purpose is not consented to"),
                          ("purchase_intent", "yes")], f"the records table: {rows}")
        price = driver.find_element(By.ID, "price-book-value").text
        check(float(price.split()[0]) > 0, f"the price-book value of what counts: {price}")
        page(driver, "value")

        used = relying_party(driver, rp, email, secret, used)
        sign_in(driver, email, NEW_PASSWORD, secret=secret, used=used)

        # Erasure: asked for, confirmed, then verified and carried out by an administrator.
        driver.get(BASE + "/my/data")
        navigating(driver, driver.find_element(By.XPATH, "//button[contains(., 'Erase my data')]"))
        page(driver, "confirm-erasure")
        navigating(driver, driver.find_element(By.XPATH, "//button[contains(., 'Yes, erase my data')]"))
        check("Erasure (GDPR Art. 17)" in driver.find_element(By.ID, "requests").text, "the request is listed")
        driver.delete_all_cookies()

        sign_in(driver, ADMIN_EMAIL, ADMIN_PASSWORD)
        driver.get(BASE + "/admin")
        page(driver, "admin-requests")
        row = driver.find_element(By.XPATH, "//tr[td[contains(., 'Erasure (GDPR Art. 17)')]]")
        row.find_element(By.CSS_SELECTOR, "input[name=verification]").send_keys("signed-in request with MFA")
        navigating(driver, row.find_element(By.XPATH, ".//button[contains(., 'Verify')]"))
        row = driver.find_element(By.XPATH, "//tr[td[contains(., 'Erasure (GDPR Art. 17)')]]")
        navigating(driver, row.find_element(By.XPATH, ".//button[contains(., 'Carry out')]"))
        for name in ("purposes", "valuation", "keys", "ledger"):
            driver.get(BASE + f"/admin/{name}")
            page(driver, f"admin-{name}")
        navigating(driver, driver.find_element(By.ID, "verify-ledger"))
        check("The chain is intact" in driver.find_element(By.ID, "verification").text, "the ledger verifies")
        page(driver, "admin-ledger-verified")
        driver.delete_all_cookies()

        # After erasure the person cannot sign in.
        sign_in(driver, email, NEW_PASSWORD)
        check("Login failed" in driver.find_element(By.CSS_SELECTOR, ".error").text, "sign-in fails after erasure")
        page(driver, "login-after-erasure")
    except Exception:
        driver.save_screenshot(os.path.join(SHOTS, "failure.png"))
        print(f"failed at {driver.current_url}", file=sys.stderr)
        raise
    finally:
        driver.quit()
        rp.close()
    print(f"portal end-to-end: every flow passed; axe found no serious or critical violation on "
          f"{len(checked_pages)} pages; screenshots in {SHOTS}")


if __name__ == "__main__":
    main()
