"""Times the consent SDK's first banner in headless Chromium, against a reference page.

  sdk_banner.py QSPP_BASE ADMIN_TOKEN ROUNDS

On a site of another origin (scripts/check/e2e/sdk_site.py), a first visit (no cookie) to the shop page
with the SDK, and to the reference page, which fetches the same banner with one inline fetch and shows it
in a plain element, alternate for ROUNDS rounds. Each page marks the moment its banner is in the
document (`performance.mark`); the time from navigation start to that mark is taken. Prints the medians
and their ratio, and the SDK's size as served and gzipped.
"""
import gzip
import json
import os
import statistics
import sys
import urllib.request

from selenium import webdriver
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "check", "e2e"))
from sdk_site import ConsentTestSite  # noqa: E402

BASE, ADMIN, ROUNDS = sys.argv[1], sys.argv[2], int(sys.argv[3])


def mark_time(driver, url, mark):
    driver.delete_all_cookies()
    driver.get(url)
    return WebDriverWait(driver, 15).until(lambda d: d.execute_script(
        f"var m = performance.getEntriesByName('{mark}'); return m.length ? m[0].startTime : false"))


def main():
    site = ConsentTestSite(BASE)
    request = urllib.request.Request(
        BASE + "/v1/admin/properties", method="POST",
        data=json.dumps({"name": "Bench shop", "origins": [site.origin],
                         "purposes": ["analytics", "third_party_sharing"]}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN}"})
    with urllib.request.urlopen(request) as response:
        site.property_id = json.load(response)["id"]
    with urllib.request.urlopen(BASE + "/sdk/v1/qspp-consent.js") as response:
        sdk = response.read()
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"))
    try:
        # One unmeasured round each: the browser's own start-up is not the SDK's.
        mark_time(driver, site.origin + "/", "qspp-banner")
        mark_time(driver, site.origin + "/reference", "reference-banner")
        sdk_ms, reference_ms = [], []
        for _ in range(ROUNDS):
            sdk_ms.append(mark_time(driver, site.origin + "/", "qspp-banner"))
            reference_ms.append(mark_time(driver, site.origin + "/reference", "reference-banner"))
    finally:
        driver.quit()
        site.close()
    sdk_median, reference_median = statistics.median(sdk_ms), statistics.median(reference_ms)
    print(f"SDK size: {len(sdk)} bytes, {len(gzip.compress(sdk, 9))} bytes gzipped (-9)")
    print(f"time to first banner, median of {ROUNDS}: SDK {sdk_median:.1f} ms, reference {reference_median:.1f} ms, "
          f"ratio {sdk_median / reference_median:.2f}")


if __name__ == "__main__":
    main()
