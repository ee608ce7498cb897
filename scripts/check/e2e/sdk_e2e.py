"""The website consent SDK end to end, in headless Chromium, on a site of another origin.

  sdk_e2e.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD SCREENSHOT_DIR MAIL_DIRECTORY

Registers a property for a test site (sdk_site.py, served from 127.0.0.1 on a port of its own, under a
strict Content-Security-Policy) and drives that site's pages: the banner shows; "reject all" withdraws
everything and the gated tags stay inert; one purpose accepted in the preferences dialog runs its tag
alone; a new notice version prompts again; with Global Privacy Control on (set through the DevTools
protocol: the header on every request and `navigator.globalPrivacyControl`), sale or sharing is
withdrawn with method `gpc` and the visitor is told; the German and French strings; the visitor's own
history downloaded and erased; and sign-up from the site, after which the account takes over the
visitor's history. Every check reads QSPP's own records too, through its API. axe-core runs on the page
with the banner, the dialog, and the portal's offer to take over the visitor: no serious or critical
violation may remain.
"""
import gzip
import json
import os
import sys
import time
import urllib.parse
import urllib.error
import urllib.request

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(__file__))
import portal_e2e as portal  # noqa: E402  (the same arguments: BASE ADMIN_EMAIL ADMIN_PASSWORD SHOTS MAIL)
from sdk_site import ConsentTestSite  # noqa: E402

BASE, ADMIN_EMAIL, ADMIN_PASSWORD = sys.argv[1:4]
check = portal.check


def call(method, path, body=None, token=None, origin=None, visitor=None):
    request = urllib.request.Request(BASE + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if origin:
        request.add_header("Origin", origin)
    if visitor:
        request.add_header("QSPP-Visitor", visitor)
    with urllib.request.urlopen(request) as response:
        return json.load(response)


class Visit:
    """One browser on the test site, and what the SDK keeps about it."""

    def __init__(self, site, property_id, gpc=False):
        self.site, self.property_id = site, property_id
        self.driver = portal.browser()
        if gpc:
            self.enable_gpc()

    def enable_gpc(self):
        """Global Privacy Control on, from the next page: the header on every request, and the property."""
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Sec-GPC": "1"}})
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
            "source": "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', "
                      "{get: () => true, configurable: true});"})

    def open(self, path="/"):
        """Loads a page and waits until the SDK has the banner, has shown it if it must, and sent GPC."""
        self.driver.get(self.site.origin + path)
        self.driver.set_script_timeout(15)
        self.driver.execute_async_script("""
            var done = arguments[arguments.length - 1];
            (function wait() {
                if (window.QSPP && QSPP.consent && QSPP.consent.ready) QSPP.consent.ready.then(function () { done(); });
                else setTimeout(wait, 20);
            })();""")

    def root(self):
        hosts = self.driver.find_elements(By.CSS_SELECTOR, "[data-qspp-consent]")
        return hosts[0].shadow_root if hosts else None

    def banner(self, timeout=15):
        def found(_):
            root = self.root()
            regions = root.find_elements(By.CSS_SELECTOR, "section[role=region]") if root else []
            return regions[0] if regions else False
        return WebDriverWait(self.driver, timeout).until(found)

    def has_banner(self):
        root = self.root()
        return bool(root and root.find_elements(By.CSS_SELECTOR, "section[role=region]"))

    def state(self):
        cookie = self.driver.get_cookie("qspp_consent_" + self.property_id[:8])
        return json.loads(urllib.parse.unquote(cookie["value"])) if cookie else None

    def wait_state(self, condition, what):
        WebDriverWait(self.driver, 15).until(lambda _: (s := self.state()) is not None and condition(s), what)
        return self.state()

    def server(self):
        """QSPP's own record of this visitor's standing, read with the token the cookie keeps."""
        answer = call("GET", f"/v1/properties/{self.property_id}/consents", origin=self.site.origin,
                      visitor=self.state()["t"])
        return {p["purpose"]: p["decision"] for p in answer["purposes"]}

    def history(self):
        return call("GET", f"/v1/properties/{self.property_id}/visitors/me", origin=self.site.origin,
                    visitor=self.state()["t"])["events"]

    def inert(self, purpose):
        """Whether the tag gated on `purpose` is still the inert one the page was served with."""
        return self.script(f"return !!document.querySelector('script[type=\"text/plain\"][data-qspp-purpose={purpose}]')")

    def script(self, text, *arguments):
        return self.driver.execute_script(text, *arguments)

    def click(self, container, action):
        container.find_element(By.CSS_SELECTOR, f"button[data-action={action}]").click()

    def quit(self):
        self.driver.quit()


SALE = "third_party_sharing"


def run(site, property_id, admin, visits):
    def visit(gpc=False):
        visits.append(Visit(site, property_id, gpc=gpc))
        return visits[-1]

    # The banner shows, built from the catalog, styled though the page allows no inline style, with
    # "reject all" beside "accept all" and looking the same; nothing gated has run, nothing is stored.
    first = visit()
    first.open()
    region = first.banner()
    check("Test shop" in region.text and "Analytics" in region.text and "Third-party sharing" in region.text,
          f"the banner: {region.text}")
    check(first.script("return getComputedStyle(arguments[0]).position", region) == "fixed", "the SDK's styles")
    reject = region.find_element(By.CSS_SELECTOR, "button[data-action=reject]")
    accept = region.find_element(By.CSS_SELECTOR, "button[data-action=accept]")
    check(reject.text == "Reject all" and accept.text == "Accept all", "the first layer's buttons")
    look = "var s = getComputedStyle(arguments[0]); return [s.backgroundColor, s.color, s.fontSize, s.fontWeight, " \
        "arguments[0].getBoundingClientRect().height]"
    check(first.script(look, reject) == first.script(look, accept), "rejecting looks as easy as accepting")
    check(first.inert("analytics") and first.inert(SALE), "nothing ran")
    check(first.state() is None, "nothing is stored before a choice")
    portal.page(first.driver, "sdk-banner")

    # Reject all: every purpose withdrawn, in QSPP too, with receipts; the banner goes, and stays gone.
    reject.click()
    state = first.wait_state(lambda s: len(s["d"]) == 2, "the choice is kept in the cookie")
    check(all(decision[0] == "withdrawn" for decision in state["d"].values()), f"the cookie: {state}")
    check(first.server() == {"analytics": "withdrawn", SALE: "withdrawn"}, "QSPP has the choice")
    events = first.script("return window.qsppEvents")
    check(len(events) == 1 and set(events[0]["withdrawn"]) == {"analytics", SALE} and len(events[0]["receipts"]) == 2,
          f"the change event: {events}")
    first.open()
    check(not first.has_banner(), "no banner once the visitor has chosen")
    check(first.inert("analytics") and first.inert(SALE), "still inert")

    # One purpose, accepted in the preferences dialog opened from the keyboard: its tag runs, alone.
    second = visit()
    second.open()
    second.banner()
    opener = second.driver.find_element(By.CSS_SELECTOR, "[data-qspp-preferences]")
    opener.send_keys(Keys.ENTER)
    dialog = WebDriverWait(second.driver, 10).until(
        lambda _: second.root().find_elements(By.CSS_SELECTOR, "dialog[open]")[0])
    check(second.script("return !!document.querySelector('[data-qspp-consent]').shadowRoot.activeElement"),
          "the dialog takes the focus")
    portal.page(second.driver, "sdk-preferences")
    ActionChains(second.driver).send_keys(Keys.ESCAPE).perform()
    WebDriverWait(second.driver, 10).until(lambda _: not second.root().find_elements(By.CSS_SELECTOR, "dialog[open]"))
    opener.send_keys(Keys.ENTER)
    dialog = WebDriverWait(second.driver, 10).until(
        lambda _: second.root().find_elements(By.CSS_SELECTOR, "dialog[open]")[0])
    box = dialog.find_element(By.ID, "qspp-analytics")
    box.send_keys(Keys.SPACE)
    check(box.is_selected(), "the analytics box is ticked")
    second.click(dialog, "save")
    state = second.wait_state(lambda s: len(s["d"]) == 2, "the choices are kept")
    check(state["d"]["analytics"][0] == "granted" and state["d"][SALE][0] == "withdrawn", f"the cookie: {state}")
    WebDriverWait(second.driver, 10).until(lambda d: d.execute_script("return window.analyticsRan === 1"))
    check(second.inert(SALE) and not second.inert("analytics"), "the sharing tag stays inert")
    check(second.script("return QSPP.consent.granted('analytics') && !QSPP.consent.granted('third_party_sharing')"),
          "the API says what was granted")
    check(second.server() == {"analytics": "granted", SALE: "withdrawn"}, "QSPP has the choices")
    second.open()
    WebDriverWait(second.driver, 10).until(lambda d: d.execute_script("return window.analyticsRan === 1"))
    check(not second.has_banner(), "no banner on the next page")

    # A new notice version: the banner asks again, and the old grant no longer runs the tag.
    call("POST", "/v1/purposes/analytics/notices", {"text": "We now also measure how far you scroll."}, token=admin)
    second.open()
    second.banner()
    check(second.inert("analytics"), "a grant under the old notice does not count")
    second.click(second.banner(), "accept")
    WebDriverWait(second.driver, 10).until(lambda d: d.execute_script("return window.analyticsRan === 1"))
    check(second.server()["analytics"] == "granted", "granted under the new notice")

    # Global Privacy Control: sale or sharing is withdrawn with method gpc at once, and the visitor told.
    third = visit(gpc=True)
    third.open()
    region = third.banner()
    note = region.find_element(By.CSS_SELECTOR, "[role=note]").text
    check("Global Privacy Control" in note and "Third-party sharing" in note, f"the GPC note: {note}")
    third.wait_state(lambda s: s["d"].get(SALE, [None])[0] == "withdrawn", "the signal is recorded")
    portal.page(third.driver, "sdk-banner-gpc")
    third.click(region, "accept")
    third.wait_state(lambda s: s["d"].get("analytics", [None])[0] == "granted", "accepting the rest")
    check(third.server() == {"analytics": "granted", SALE: "withdrawn"}, "accept all does not override GPC")
    check(any(e["purpose"] == SALE and e["method"] == "gpc" for e in third.history()), "withdrawn with method gpc")
    check(third.inert(SALE), "the sharing tag stays inert under GPC")

    # The German and French strings.
    fourth = visit()
    for path, reject_text, accept_text in (("/de", "Alle ablehnen", "Alle akzeptieren"),
                                           ("/fr", "Tout refuser", "Tout accepter")):
        fourth.open(path)
        text = fourth.banner().text
        check(reject_text in text and accept_text in text, f"{path}: {text}")

    # GPC turned on after sale or sharing was granted: the grant stops counting at once, and is withdrawn.
    fourth.open()
    fourth.click(fourth.banner(), "accept")
    WebDriverWait(fourth.driver, 10).until(lambda d: d.execute_script("return window.adsRan === 1"))
    fourth.enable_gpc()
    fourth.open()
    check(fourth.inert(SALE) and not fourth.inert("analytics"), "under GPC the sharing tag no longer runs")
    check(fourth.script("return !QSPP.consent.granted('third_party_sharing')"), "nor counts as granted")
    check(fourth.server()[SALE] == "withdrawn", "and QSPP has it withdrawn")
    check(fourth.history()[0]["method"] == "gpc", "by the signal")

    # A token QSPP no longer knows (here erased behind the page's back): the next choice starts afresh.
    stale = third.state()["t"]
    call("DELETE", f"/v1/properties/{property_id}/visitors/me", origin=site.origin, visitor=stale)
    third.open()
    third.script("QSPP.consent.open()")
    dialog = WebDriverWait(third.driver, 10).until(
        lambda _: third.root().find_elements(By.CSS_SELECTOR, "dialog[open]")[0])
    third.click(dialog, "reject")
    state = third.wait_state(lambda s: s["t"] != stale, "a new visit")
    check(third.server() == {"analytics": "withdrawn", SALE: "withdrawn"}, "the choice reached QSPP all the same")

    # The visitor's own history: downloaded from the dialog, then forgotten, token and all.
    token = second.state()["t"]
    second.script("QSPP.consent.open()")
    dialog = WebDriverWait(second.driver, 10).until(
        lambda _: second.root().find_elements(By.CSS_SELECTOR, "dialog[open]")[0])
    before = set(os.listdir(portal.DOWNLOADS))
    second.click(dialog, "download")
    with open(portal.wait_for_download(".json", before)) as f:
        downloaded = json.load(f)
    check({e["purpose"] for e in downloaded["events"]} == {"analytics", SALE}, f"the download: {downloaded}")
    second.click(dialog, "forget")
    WebDriverWait(second.driver, 10).until(lambda _: second.state() is None)
    try:
        call("GET", f"/v1/properties/{property_id}/visitors/me", origin=site.origin, visitor=token)
        raise AssertionError("a forgotten visitor's token still works")
    except urllib.error.HTTPError as error:
        check(error.code == 410, f"a forgotten visitor: {error.code}")

    # Sign-up from the site: the account, once signed in, takes over the visitor's history.
    email = f"sdk-{int(time.time())}@qspp.test"
    portal.navigating(first.driver, first.driver.find_element(By.ID, "sign-up"))
    check(first.driver.current_url == BASE + "/register", f"the token left the address: {first.driver.current_url}")
    portal.fill(first.driver, {"email": email, "password": portal.PASSWORD, "confirmPassword": portal.PASSWORD})
    portal.submit(first.driver, "form[action='/register']")
    portal.sign_in(first.driver, email, portal.PASSWORD)
    offer = first.driver.find_element(By.ID, "visitor-offer")
    check("Analytics withdrawn" in offer.text and "Third-party sharing withdrawn" in offer.text,
          f"the offer shows the choices it would take over: {offer.text}")
    portal.page(first.driver, "consent-visitor-offer")
    portal.navigating(first.driver, offer.find_element(By.CSS_SELECTOR, "button[value=link]"))
    listed = first.driver.find_element(By.ID, "website-decisions").find_element(By.XPATH, "following-sibling::ol").text
    check("Analytics: withdrawn" in listed and "Third-party sharing: withdrawn" in listed, f"linked: {listed}")
    check(not first.driver.find_elements(By.ID, "visitor-offer"), "the offer is answered")


def main():
    os.makedirs(portal.SHOTS, exist_ok=True)
    admin = call("POST", "/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})["accessToken"]
    site = ConsentTestSite(BASE)
    visits = []
    try:
        created = call("POST", "/v1/admin/properties", {
            "name": "Test shop", "origins": [site.origin], "purposes": ["analytics", "third_party_sharing"]},
            token=admin)
        site.property_id = created["id"]
        with urllib.request.urlopen(BASE + "/sdk/v1/qspp-consent.js") as response:
            sdk = response.read()
        check(len(gzip.compress(sdk, 9)) <= 15 * 1024, f"the SDK is {len(gzip.compress(sdk, 9))} bytes gzipped")
        check(created["snippet"].startswith(f'<script src="{BASE}/sdk/qspp-consent.'), created["snippet"])
        run(site, created["id"], admin, visits)
    except Exception:
        for number, visit in enumerate(visits):
            visit.driver.save_screenshot(os.path.join(portal.SHOTS, f"sdk-failure-{number}.png"))
            print(f"failed at {visit.driver.current_url}", file=sys.stderr)
        raise
    finally:
        for visit in visits:
            visit.quit()
        site.close()
    print(f"consent SDK end-to-end: every flow passed; axe found no serious or critical violation on "
          f"{len(portal.checked_pages)} pages")


if __name__ == "__main__":
    main()
