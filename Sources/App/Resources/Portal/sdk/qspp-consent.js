/*! QSPP consent SDK, v1. Served by QSPP; no dependencies.
 * <script src="https://qspp.example/sdk/v1/qspp-consent.js" data-qspp-property="PROPERTY-ID" async></script>
 * Runs under a strict Content-Security-Policy: no inline script or style of its own; its styles are a
 * constructed stylesheet in a shadow root, or a <style> carrying the script's nonce where that is not
 * supported. Tags written as <script type="text/plain" data-qspp-purpose="analytics"> stay inert until
 * every purpose they name is granted. API: QSPP.consent.granted(purpose), .decisions(), .open(),
 * .linkURL(url), .history(), .forget(), .ready (a promise); the event "qspp:consent" fires on window at every change. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.QSPP && window.QSPP.consent) return;
  var base = new URL(script.src).origin;
  var property = script.getAttribute("data-qspp-property") || "";
  var nonce = script.nonce || "";
  var cookieName = "qspp_consent_" + property.slice(0, 8);
  var api = base + "/v1/properties/" + encodeURIComponent(property);
  var gpc = navigator.globalPrivacyControl === true;

  var strings = {
    en: {
      region: "Privacy choices", title: "Your privacy choices on {site}",
      intro: "We would like your consent to the purposes below. You can change your mind at any time.",
      accept: "Accept all", reject: "Reject all", choose: "Choose", save: "Save my choices", close: "Close",
      prefs: "Privacy preferences", notice: "Read the notice", version: "notice version {n}",
      gpc: "Your browser sent a Global Privacy Control signal, so we have not sold or shared your data: {list} stays off.",
      sale: "sale or sharing of data", failed: "Your choice could not be saved. Please try again.",
      download: "Download my choices", forget: "Forget my choices", forgotten: "Your choices here are erased."
    },
    de: {
      region: "Datenschutz-Einstellungen", title: "Ihre Datenschutz-Entscheidungen auf {site}",
      intro: "Wir bitten um Ihre Einwilligung zu den folgenden Zwecken. Sie können sie jederzeit ändern.",
      accept: "Alle akzeptieren", reject: "Alle ablehnen", choose: "Auswählen", save: "Auswahl speichern",
      close: "Schließen", prefs: "Datenschutz-Einstellungen", notice: "Hinweis lesen", version: "Hinweis Version {n}",
      gpc: "Ihr Browser hat ein Global-Privacy-Control-Signal gesendet. Daher verkaufen oder teilen wir Ihre Daten nicht: {list} bleibt aus.",
      sale: "Verkauf oder Weitergabe von Daten", failed: "Ihre Auswahl konnte nicht gespeichert werden. Bitte versuchen Sie es erneut.",
      download: "Meine Entscheidungen herunterladen", forget: "Meine Entscheidungen löschen",
      forgotten: "Ihre Entscheidungen hier sind gelöscht."
    },
    fr: {
      region: "Choix de confidentialité", title: "Vos choix de confidentialité sur {site}",
      intro: "Nous souhaitons votre consentement pour les finalités ci-dessous. Vous pouvez changer d'avis à tout moment.",
      accept: "Tout accepter", reject: "Tout refuser", choose: "Choisir", save: "Enregistrer mes choix",
      close: "Fermer", prefs: "Préférences de confidentialité", notice: "Lire la notice", version: "version {n} de la notice",
      gpc: "Votre navigateur a envoyé un signal Global Privacy Control : nous ne vendons ni ne partageons vos données. {list} reste désactivé.",
      sale: "vente ou partage de données", failed: "Votre choix n'a pas pu être enregistré. Veuillez réessayer.",
      download: "Télécharger mes choix", forget: "Effacer mes choix", forgotten: "Vos choix ici sont effacés."
    }
  };
  var lang = (script.getAttribute("data-qspp-lang") || document.documentElement.lang || navigator.language || "en")
    .slice(0, 2).toLowerCase();
  if (!strings[lang]) lang = "en";
  function t(key, values) {
    return strings[lang][key].replace(/\{(\w+)\}/g, function (_, name) { return values[name]; });
  }

  // The cookie: the visitor's token, and per purpose the decision and the notice version it answered.
  function readState() {
    var match = document.cookie.match(new RegExp("(?:^|; )" + cookieName + "=([^;]*)"));
    try {
      var state = match && JSON.parse(decodeURIComponent(match[1]));
      if (state && typeof state.d === "object") return state;
    } catch (ignored) { /* an unreadable cookie is a first visit */ }
    return { t: null, d: {} };
  }
  var state = readState();
  // The cookie lives as long as the token in it (`x`, its expiry in Unix seconds), and no longer.
  function writeState() {
    var age = state.x ? Math.max(0, Math.floor(state.x - Date.now() / 1000)) : 34128000;
    document.cookie = cookieName + "=" + encodeURIComponent(JSON.stringify(state)) + "; Path=/; Max-Age=" + age +
      "; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }

  // A grant counts under the notice in effect only: given under an older one, it waits for the
  // visitor's answer to the new one. Until the banner says which notices are in effect, nothing counts;
  // a purpose the banner no longer shows does not count, and with GPC on, sale or sharing never does.
  function granted(purpose) {
    var entry = state.d[purpose];
    if (!banner || !entry || entry[0] !== "granted") return false;
    var shown = banner.purposes.filter(function (p) { return p.id === purpose; })[0];
    return !!shown && shown.noticeVersion === entry[1] && !(gpc && shown.saleOrSharing);
  }

  function activateTags() {
    var tags = document.querySelectorAll('script[type="text/plain"][data-qspp-purpose]');
    for (var i = 0; i < tags.length; i++) {
      var tag = tags[i];
      if (!tag.getAttribute("data-qspp-purpose").split(/\s+/).every(granted)) continue;
      var live = document.createElement("script");
      for (var j = 0; j < tag.attributes.length; j++) {
        var attribute = tag.attributes[j];
        if (attribute.name !== "type") live.setAttribute(attribute.name, attribute.value);
      }
      live.nonce = tag.nonce;
      live.type = tag.getAttribute("data-qspp-type") || "text/javascript";
      live.text = tag.text;
      live.removeAttribute("data-qspp-purpose");
      tag.parentNode.replaceChild(live, tag);
    }
  }

  function changed(receipts) {
    activateTags();
    var detail = { granted: [], withdrawn: [], receipts: receipts || [] };
    for (var purpose in state.d) detail[granted(purpose) ? "granted" : "withdrawn"].push(purpose);
    window.dispatchEvent(new CustomEvent("qspp:consent", { detail: detail }));
  }

  // The banner is fetched without headers of ours, so it needs no preflight.
  function call(method, path, body, anonymous) {
    var headers = {};
    if (body) headers["content-type"] = "application/json";
    if (state.t && !anonymous) headers["qspp-visitor"] = state.t;
    return fetch(api + path, {
      method: method, headers: headers, body: body && JSON.stringify(body), mode: "cors", credentials: "omit"
    }).then(function (response) {
      if (!response.ok) {
        var error = new Error("QSPP answered " + response.status);
        error.status = response.status;
        throw error;
      }
      return response.json();
    });
  }

  // The visitor's own history, and its erasure: the decisions stay, pseudonymous, as the law keeps
  // them; the token dies with the rest, and the next visit starts afresh.
  function history() {
    return state.t ? call("GET", "/visitors/me") : Promise.resolve({ events: [] });
  }
  function forget() {
    if (!state.t) return Promise.resolve();
    function cleared() {
      state = { t: null, d: {} };
      starting = null;
      document.cookie = cookieName + "=; Path=/; Max-Age=0";
      changed([]);
    }
    return call("DELETE", "/visitors/me").then(cleared, function (error) {
      if (error.status !== 410) throw error;
      cleared();
    });
  }

  var starting = null;
  function visitor() {
    if (state.t) return Promise.resolve(state.t);
    starting = starting || call("POST", "/visitors").then(function (visit) {
      state.t = visit.token;
      state.x = Math.floor(Date.parse(visit.expiresAt) / 1000);
      writeState();
      return visit.token;
    }, function (error) { starting = null; throw error; });
    return starting;
  }

  // Records the visitor's decisions; with GPC on, QSPP withdraws the sale-or-sharing purposes they did
  // not decide with method "gpc", and a visit with nothing else to say still sends the signal.
  // A token QSPP no longer knows (expired, or erased with the visitor or their account) starts a new
  // visit, once; the decisions it held are not carried over.
  function record(decisions, retried) {
    return visitor().then(function () {
      return call("POST", "/consents", { decisions: decisions, globalPrivacyControl: gpc });
    }).then(function (answer) {
      var receipts = [];
      answer.events.forEach(function (event) {
        state.d[event.purpose] = [event.decision, event.noticeVersion];
        receipts.push(base + event.receipt);
      });
      writeState();
      changed(receipts);
    }, function (error) {
      if (retried || (error.status !== 401 && error.status !== 410)) throw error;
      state = { t: null, d: {} };
      starting = null;
      return record(decisions, true);
    });
  }

  var banner = null, host = null, root = null, dialog = null, region = null;
  var styles =
    ":host{all:initial}*{box-sizing:border-box;font:16px/1.5 system-ui,sans-serif;color:#1b1b1b}" +
    ".region{position:fixed;left:1rem;right:1rem;bottom:1rem;max-width:46rem;margin:auto;background:#fff;" +
    "border:2px solid #1b1b1b;border-radius:.5rem;padding:1rem 1.25rem;z-index:2147483646;box-shadow:0 4px 24px #0005}" +
    "h2{font-size:1.2rem;font-weight:700;margin:0 0 .5rem}p{margin:0 0 .75rem}" +
    ".actions{display:flex;flex-wrap:wrap;gap:.5rem}button{min-height:44px;min-width:44px;padding:.5rem 1rem;" +
    "border:2px solid #0b3d91;border-radius:.375rem;background:#0b3d91;color:#fff;font-weight:600;cursor:pointer}" +
    "button.plain{background:#fff;color:#0b3d91}button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #b35c00;outline-offset:2px}" +
    "dialog{max-width:40rem;width:calc(100% - 2rem);border:2px solid #1b1b1b;border-radius:.5rem;padding:1.25rem}" +
    "dialog::backdrop{background:#0008}fieldset{border:0;padding:0;margin:0 0 1rem}" +
    ".purpose{border-top:1px solid #767676;padding:.75rem 0}.purpose label{display:flex;gap:.5rem;align-items:center;font-weight:700}" +
    "input[type=checkbox]{width:24px;height:24px;margin:0}.small{font-size:.9rem}a{color:#0b3d91;text-decoration:underline}" +
    ".gpc{border-left:4px solid #0b3d91;padding-left:.75rem}.error{color:#a00000;font-weight:700}";

  function element(name, attributes, children) {
    var node = document.createElement(name);
    for (var key in attributes) {
      if (key === "text") node.textContent = attributes[key]; else node.setAttribute(key, attributes[key]);
    }
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function mount() {
    if (host) return;
    host = element("div", { "data-qspp-consent": "" });
    root = host.attachShadow({ mode: "open" });
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(styles);
      root.adoptedStyleSheets = [sheet];
    } else {
      var style = element("style", { text: styles });
      style.nonce = nonce;
      root.appendChild(style);
    }
    // First in the page, so keyboards and screen readers meet the choice before the content.
    document.body.insertBefore(host, document.body.firstChild);
  }

  function gpcNote() {
    if (!gpc) return null;
    var sold = banner.purposes.filter(function (p) { return p.saleOrSharing; })
      .map(function (p) { return p.title; });
    if (!sold.length) return null;
    return element("p", { "class": "gpc", role: "note", text: t("gpc", { list: sold.join(", ") }) });
  }

  function decideAll(decision) {
    var decisions = banner.purposes.filter(function (p) { return !(gpc && p.saleOrSharing && decision === "granted"); })
      .map(function (p) { return { purpose: p.id, decision: decision, noticeVersion: p.noticeVersion }; });
    return settle(decisions);
  }

  function statusLine() {
    return (dialog && dialog.open ? dialog : root).querySelector("[data-status]");
  }

  function settle(decisions) {
    var status = statusLine();
    return record(decisions).then(function () {
      if (region) { region.remove(); region = null; }
      if (dialog && dialog.open) dialog.close();
    }, function () {
      if (status) status.textContent = t("failed", {});
    });
  }

  function buttons(withChoose) {
    return element("div", { "class": "actions" }, [
      withChoose ? element("button", { type: "button", "class": "plain", "data-action": "choose", text: t("choose", {}) }) : null,
      element("button", { type: "button", "data-action": "reject", text: t("reject", {}) }),
      element("button", { type: "button", "data-action": "accept", text: t("accept", {}) })
    ]);
  }

  function wire(container) {
    container.addEventListener("click", function (event) {
      var action = event.target.getAttribute && event.target.getAttribute("data-action");
      if (action === "accept") decideAll("granted");
      else if (action === "reject") decideAll("withdrawn");
      else if (action === "choose") openPreferences();
      else if (action === "close") dialog.close();
      else if (action === "download") {
        history().then(function (answer) {
          var link = element("a", {
            href: URL.createObjectURL(new Blob([JSON.stringify(answer, null, 2)], { type: "application/json" })),
            download: "privacy-choices.json"
          });
          root.appendChild(link);
          link.click();
          link.remove();
        });
      } else if (action === "forget") {
        forget().then(function () { statusLine().textContent = t("forgotten", {}); });
      }
      else if (action === "save") {
        settle(banner.purposes.map(function (p) {
          var box = root.getElementById("qspp-" + p.id);
          return { purpose: p.id, decision: box.checked ? "granted" : "withdrawn", noticeVersion: p.noticeVersion };
        }).filter(function (d) {
          return !(gpc && d.decision === "granted" && banner.purposes.some(function (p) {
            return p.id === d.purpose && p.saleOrSharing;
          }));
        }));
      }
    });
  }

  function showBanner() {
    mount();
    if (region) return;
    region = element("section", { "class": "region", role: "region", "aria-labelledby": "qspp-title", lang: lang }, [
      element("h2", { id: "qspp-title", text: t("title", { site: banner.name }) }),
      element("p", { text: t("intro", {}) + " " + banner.purposes.map(function (p) { return p.title; }).join(", ") + "." }),
      gpcNote(),
      element("p", { "class": "error", "data-status": "", role: "status" }),
      buttons(true)
    ]);
    wire(region);
    root.appendChild(region);
    if (window.performance && performance.mark) performance.mark("qspp-banner");
  }

  function purposeItem(p) {
    var blocked = gpc && p.saleOrSharing;
    var box = element("input", { type: "checkbox", id: "qspp-" + p.id, "aria-describedby": "qspp-" + p.id + "-about" });
    box.checked = granted(p.id) && !blocked;
    box.disabled = blocked;
    var notice = /^https?:\/\//.test(p.noticeUrl || "")
      ? element("a", { href: p.noticeUrl, target: "_blank", rel: "noopener", text: t("notice", {}) })
      : null;
    return element("div", { "class": "purpose" }, [
      element("label", { "for": "qspp-" + p.id }, [box, document.createTextNode(p.title)]),
      element("p", { id: "qspp-" + p.id + "-about", "class": "small" }, [
        document.createTextNode(p.description + (p.noticeText && p.noticeText !== p.description ? " " + p.noticeText : "") + " (" +
          t("version", { n: p.noticeVersion }) + (p.saleOrSharing ? "; " + t("sale", {}) : "") + ") "),
        notice
      ])
    ]);
  }

  function openPreferences() {
    if (!banner) return;
    mount();
    if (dialog) dialog.remove();
    dialog = element("dialog", { "aria-labelledby": "qspp-prefs-title", lang: lang }, [
      element("h2", { id: "qspp-prefs-title", text: t("prefs", {}) }),
      gpcNote(),
      element("fieldset", {}, [element("legend", { "class": "small", text: t("intro", {}) })]
        .concat(banner.purposes.map(purposeItem))),
      element("p", { "class": "error", "data-status": "", role: "status" }),
      element("div", { "class": "actions" }, [
        element("button", { type: "button", "data-action": "save", text: t("save", {}) }),
        element("button", { type: "button", "data-action": "reject", text: t("reject", {}) }),
        element("button", { type: "button", "data-action": "accept", text: t("accept", {}) }),
        element("button", { type: "button", "class": "plain", "data-action": "close", text: t("close", {}) })
      ]),
      state.t ? element("div", { "class": "actions small" }, [
        element("button", { type: "button", "class": "plain", "data-action": "download", text: t("download", {}) }),
        element("button", { type: "button", "class": "plain", "data-action": "forget", text: t("forget", {}) })
      ]) : null
    ]);
    wire(dialog);
    root.appendChild(dialog);
    dialog.showModal();
  }

  function linkURL(url) {
    var target = new URL(url, location.href);
    if (state.t) target.searchParams.set("visitor", state.t);
    return target.href;
  }

  window.QSPP = window.QSPP || {};
  window.QSPP.consent = {
    granted: granted,
    decisions: function () {
      var out = {};
      for (var purpose in state.d) out[purpose] = state.d[purpose][0];
      return out;
    },
    open: openPreferences,
    linkURL: linkURL,
    history: history,
    forget: forget
  };

  // Links to QSPP's sign-up or sign-in carry the visitor, so the account takes over their history.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-qspp-link-visitor]");
    if (link) link.href = linkURL(link.href);
  }, true);

  function start() {
    return call("GET", "/banner", null, true).then(function (answer) {
      banner = answer;
      activateTags();
      var stale = banner.purposes.some(function (p) {
        var entry = state.d[p.id];
        return !entry || entry[1] !== p.noticeVersion;
      });
      var unsent = gpc && banner.purposes.some(function (p) {
        var entry = state.d[p.id];
        return p.saleOrSharing && (!entry || entry[0] !== "withdrawn");
      });
      var sent = unsent ? record([]).catch(function () { /* sent again on the next page */ }) : null;
      if (stale) showBanner();
      var openers = document.querySelectorAll("[data-qspp-preferences]");
      for (var i = 0; i < openers.length; i++) openers[i].addEventListener("click", openPreferences);
      return sent;
    }, function (error) {
      if (window.console) console.warn("QSPP consent: the banner could not be loaded", error);
    });
  }
  // Settles once the banner is known, shown if needed, and a GPC signal sent.
  window.QSPP.consent.ready = new Promise(function (resolve) {
    function go() { start().then(resolve, resolve); }
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go); else go();
  });
})();
