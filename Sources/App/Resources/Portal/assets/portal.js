// Progressive enhancement: every page works without this file, except passkeys, which only the
// browser's WebAuthn API can use.
"use strict";

// Moves focus to a form's error message so that screen readers announce it at once.
document.addEventListener("DOMContentLoaded", () => {
  const error = document.querySelector("main .error:not([hidden])");
  if (error) {
    error.setAttribute("tabindex", "-1");
    error.focus();
  }
  setUpPasskeys();
  // The form_post answer of an authorization (OAuth 2.0 Form Post Response Mode): it carries the code
  // to the application as a POST, so the code never appears in a URL. Without JavaScript, its button does.
  const answer = document.querySelector("form[data-autosubmit]");
  if (answer) answer.submit();
});

function fromBase64URL(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
}

function toBase64URL(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// The server's options (WebAuthn's JSON forms) as the browser's API takes them.
function creationOptions(json) {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  return Object.assign({}, json, {
    challenge: fromBase64URL(json.challenge),
    user: Object.assign({}, json.user, { id: fromBase64URL(json.user.id) }),
    excludeCredentials: json.excludeCredentials.map((c) => Object.assign({}, c, { id: fromBase64URL(c.id) })),
  });
}

function requestOptions(json) {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  return Object.assign({}, json, {
    challenge: fromBase64URL(json.challenge),
    allowCredentials: json.allowCredentials.map((c) => Object.assign({}, c, { id: fromBase64URL(c.id) })),
  });
}

// The browser's answer as PublicKeyCredential.toJSON() writes it.
function answerJSON(credential) {
  if (credential.toJSON) return credential.toJSON();
  const response = {};
  for (const name of ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"]) {
    if (credential.response[name]) response[name] = toBase64URL(credential.response[name]);
  }
  return { id: credential.id, rawId: toBase64URL(credential.rawId), type: credential.type, response: response };
}

function setUpPasskeys() {
  const start = document.getElementById("passkey-start");
  const answer = document.getElementById("passkey-answer") || document.getElementById("passkey-add");
  const holder = document.querySelector("[data-passkey-options]");
  if (!start || !answer || !holder || !window.PublicKeyCredential) return;
  holder.hidden = false;
  const creating = answer.id === "passkey-add";
  const errorBox = document.getElementById("passkey-error");
  const field = answer.querySelector("input[name=credential], input[name=passkey]");
  let autofill = null;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    errorBox.setAttribute("tabindex", "-1");
    errorBox.focus();
  }

  async function options() {
    const form = new URLSearchParams(new FormData(answer));
    form.delete("credential");
    form.delete("passkey");
    const response = await fetch(holder.dataset.passkeyOptions, { method: "POST", body: form });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || "The passkey prompt could not start.");
    return body;
  }

  async function ceremony(mediation, signal) {
    const json = await options();
    const credential = creating
      ? await navigator.credentials.create({ publicKey: creationOptions(json) })
      : await navigator.credentials.get({ publicKey: requestOptions(json), mediation: mediation, signal: signal });
    field.value = JSON.stringify(answerJSON(credential));
    answer.submit();
  }

  async function run(mediation, signal) {
    try {
      await ceremony(mediation, signal);
    } catch (error) {
      if (error.name === "AbortError") return;
      showError(
        error.name === "NotAllowedError"
          ? "The passkey prompt was closed or timed out. Try again."
          : error.message || "The passkey did not work. Try again.",
      );
    }
  }

  (creating ? answer : start).addEventListener(creating ? "submit" : "click", (event) => {
    event.preventDefault();
    if (autofill) autofill.abort();
    errorBox.hidden = true;
    run("optional");
  });

  // On the sign-in page, passkeys are offered in the email field's autofill as well.
  if (answer.action.endsWith("/login/passkey") && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
      if (!available) return;
      autofill = new AbortController();
      run("conditional", autofill.signal);
    });
  }
}
