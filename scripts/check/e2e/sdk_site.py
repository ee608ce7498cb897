"""A website of another origin that embeds QSPP's consent SDK, for the browser tests and the benchmark.

    site = ConsentTestSite(qspp_base)   # serves http://127.0.0.1:<port>, its origin `site.origin`
    site.property_id = ...              # once the property is registered for that origin
    site.close()

Every page carries a strict Content-Security-Policy: scripts only with the page's nonce or from QSPP,
no inline style at all, and requests only to QSPP. Pages:
  /            the shop: the SDK (with the nonce), an inline tag gated on `analytics` and a tag of
               /ads.js gated on `third_party_sharing`, a button that opens the preferences, a link to
               QSPP's sign-up that carries the visitor, and a record of every `qspp:consent` event;
  /de, /fr     the same page in German and in French;
  /reference   no SDK: one inline script fetches the same banner and shows it in a plain element,
               the benchmark's reference for the time to a first banner;
  /ads.js      marks that it ran.
"""
import html
import http.server
import secrets
import threading

PAGE = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><title>Test shop</title></head>
<body>
<header><p>Test shop</p></header>
<main>
<h1>Bicycles</h1>
<p>Our bicycles are built to last.</p>
<p><button type="button" data-qspp-preferences>Privacy preferences</button></p>
<p><a id="sign-up" data-qspp-link-visitor href="{qspp}/register">Create an account</a></p>
</main>
<script nonce="{nonce}">
window.qsppEvents = [];
window.addEventListener("qspp:consent", function (event) {{ window.qsppEvents.push(event.detail); }});
</script>
<script type="text/plain" data-qspp-purpose="analytics" nonce="{nonce}">window.analyticsRan = (window.analyticsRan || 0) + 1;</script>
<script type="text/plain" data-qspp-purpose="third_party_sharing" src="/ads.js" nonce="{nonce}"></script>
<script src="{qspp}/sdk/v1/qspp-consent.js" data-qspp-property="{property}" nonce="{nonce}" async></script>
</body>
</html>
"""

REFERENCE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Reference</title></head>
<body><main><h1>Reference</h1><div id="banner"></div></main>
<script nonce="{nonce}">
fetch("{qspp}/v1/properties/{property}/banner", {{ mode: "cors", credentials: "omit" }})
  .then(function (response) {{ return response.json(); }})
  .then(function (banner) {{
    var region = document.createElement("section");
    region.textContent = banner.name + ": " + banner.purposes.map(function (p) {{ return p.title; }}).join(", ");
    document.getElementById("banner").appendChild(region);
    performance.mark("reference-banner");
  }});
</script>
</body>
</html>
"""


class ConsentTestSite:
    def __init__(self, qspp):
        site = self
        self.property_id = ""

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                nonce = secrets.token_urlsafe(18)
                path = self.path.split("?")[0]
                values = {"qspp": html.escape(qspp), "property": html.escape(site.property_id), "nonce": nonce}
                if path in ("/", "/de", "/fr"):
                    body = PAGE.format(lang={"/de": "de", "/fr": "fr"}.get(path, "en"), **values)
                    kind = "text/html; charset=utf-8"
                elif path == "/reference":
                    body, kind = REFERENCE.format(**values), "text/html; charset=utf-8"
                elif path == "/ads.js":
                    body, kind = "window.adsRan = (window.adsRan || 0) + 1;", "text/javascript"
                else:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.send_header(
                    "Content-Security-Policy",
                    f"default-src 'none'; script-src 'nonce-{nonce}' {qspp}; connect-src {qspp}; "
                    "style-src 'none'; img-src 'none'; base-uri 'none'; form-action 'none'")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
