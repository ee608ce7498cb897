"""A software passkey authenticator for the passkey API tests (test-only), holding one credential in
a state file between ceremonies.

  passkey_authenticator.py STATE create ORIGIN OPTIONS [--alg N] [--attestation none|packed]
                           [--no-uv] [--backup] [--soft] [--force]
  passkey_authenticator.py STATE get ORIGIN OPTIONS [--no-uv] [--counter N] [--user-handle B64URL]

OPTIONS is a file holding the server's options JSON (WebAuthn's PublicKeyCredential*OptionsJSON);
the answer is printed as PublicKeyCredential.toJSON() writes it. With --soft the credential is
soft-webauthn's (ES256, user presence only, attestation none); otherwise this script writes the
authenticator data itself, signing with the cryptography package (ES256, EdDSA, RS256) or
dilithium-py (ML-DSA-65, COSE alg -49 with kty 7 as RFC 9964 has it), with user verification unless
--no-uv, backup flags with --backup, and `packed` self-attestation on request. --force makes a key
of an algorithm the server did not offer (ES384, say), as a broken or hostile authenticator would.
"""
import argparse
import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from dilithium_py.ml_dsa import ML_DSA_65
from fido2.cose import ES256, ES384, RS256, EdDSA
from soft_webauthn import SoftWebauthnDevice


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key(alg):
    if alg in (-7, -35):
        key = ec.generate_private_key(ec.SECP256R1() if alg == -7 else ec.SECP384R1())
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
    if alg == -8:
        return ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    if alg == -257:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    if alg == -49:
        public, secret = ML_DSA_65.keygen()
        return json.dumps({"public": public.hex(), "secret": secret.hex()})
    raise SystemExit(f"unsupported alg {alg}")


def cose(alg, key):
    if alg == -49:
        return {1: 7, 3: -49, -1: bytes.fromhex(json.loads(key)["public"])}
    private = serialization.load_pem_private_key(key.encode(), None)
    kind = {-7: ES256, -35: ES384, -8: EdDSA, -257: RS256}[alg]
    return dict(kind.from_cryptography_key(private.public_key()))


def sign(alg, key, message):
    if alg == -49:
        return ML_DSA_65.sign(bytes.fromhex(json.loads(key)["secret"]), message)
    private = serialization.load_pem_private_key(key.encode(), None)
    if alg in (-7, -35):
        return private.sign(message, ec.ECDSA(hashes.SHA256() if alg == -7 else hashes.SHA384()))
    if alg == -8:
        return private.sign(message)
    return private.sign(message, padding.PKCS1v15(), hashes.SHA256())


def soft_device(state):
    device = SoftWebauthnDevice()
    device.credential_id = unb64(state["id"])
    device.private_key = serialization.load_pem_private_key(state["key"].encode(), None)
    device.rp_id = state["rp"]
    device.user_handle = unb64(state["user"])
    device.sign_count = state["count"]
    return device


def credential_json(raw_id, response):
    return {"id": b64(raw_id), "rawId": b64(raw_id), "type": "public-key",
            "response": {name: b64(value) for name, value in response.items() if value is not None},
            "clientExtensionResults": {}}


def create(args, options):
    if args.soft:
        device = SoftWebauthnDevice()
        created = device.create({"publicKey": {
            "challenge": unb64(options["challenge"]), "rp": options["rp"],
            "user": {**options["user"], "id": unb64(options["user"]["id"])},
            "pubKeyCredParams": options["pubKeyCredParams"], "attestation": options.get("attestation")}},
            args.origin)
        state = {"soft": True, "id": b64(device.credential_id), "rp": device.rp_id, "user": b64(device.user_handle),
                 "count": 0, "alg": -7,
                 "key": device.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()).decode()}
        return state, credential_json(created["rawId"], created["response"])
    if args.alg not in [param["alg"] for param in options["pubKeyCredParams"]] and not args.force:
        raise SystemExit("the server does not offer this algorithm")
    credential_id = os.urandom(32)
    key = new_key(args.alg)
    rp = options["rp"]["id"]
    flags = 0x41 | (0x00 if args.no_uv else 0x04) | (0x18 if args.backup else 0)
    client_data = json.dumps({"type": "webauthn.create", "challenge": options["challenge"],
                              "origin": args.origin, "crossOrigin": False}).encode()
    auth_data = (hashlib.sha256(rp.encode()).digest() + bytes([flags]) + struct.pack(">I", 0) + bytes(16)
                 + struct.pack(">H", len(credential_id)) + credential_id + cbor2.dumps(cose(args.alg, key)))
    if args.attestation == "packed":
        signature = sign(args.alg, key, auth_data + hashlib.sha256(client_data).digest())
        statement = {"alg": args.alg, "sig": signature}
    else:
        statement = {}
    attestation = cbor2.dumps({"fmt": args.attestation, "attStmt": statement, "authData": auth_data})
    state = {"soft": False, "id": b64(credential_id), "rp": rp, "user": options["user"]["id"], "count": 0,
             "alg": args.alg, "key": key, "backup": args.backup}
    return state, credential_json(credential_id, {"clientDataJSON": client_data, "attestationObject": attestation})


def get(args, state, options):
    if state["soft"]:
        device = soft_device(state)
        got = device.get({"publicKey": {"challenge": unb64(options["challenge"]), "rpId": options["rpId"]}},
                         args.origin)
        state["count"] = device.sign_count
        return credential_json(got["rawId"], got["response"])
    state["count"] = args.counter if args.counter is not None else state["count"] + 1
    flags = 0x01 | (0x00 if args.no_uv else 0x04) | (0x18 if state.get("backup") else 0)
    client_data = json.dumps({"type": "webauthn.get", "challenge": options["challenge"], "origin": args.origin,
                              "crossOrigin": False}).encode()
    auth_data = hashlib.sha256(options["rpId"].encode()).digest() + bytes([flags]) + struct.pack(">I", state["count"])
    signature = sign(state["alg"], state["key"], auth_data + hashlib.sha256(client_data).digest())
    user = unb64(args.user_handle) if args.user_handle else unb64(state["user"])
    return credential_json(unb64(state["id"]), {"clientDataJSON": client_data, "authenticatorData": auth_data,
                                                "signature": signature, "userHandle": user})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("state")
    parser.add_argument("ceremony", choices=["create", "get"])
    parser.add_argument("origin")
    parser.add_argument("options")
    parser.add_argument("--alg", type=int, default=-7)
    parser.add_argument("--attestation", choices=["none", "packed"], default="none")
    parser.add_argument("--no-uv", action="store_true")
    parser.add_argument("--backup", action="store_true")
    parser.add_argument("--soft", action="store_true")
    parser.add_argument("--force", action="store_true", help="make a key of an algorithm the server did not offer")
    parser.add_argument("--counter", type=int)
    parser.add_argument("--user-handle")
    args = parser.parse_args()
    with open(args.options) as file:
        options = json.load(file)
    if args.ceremony == "create":
        state, answer = create(args, options)
    else:
        with open(args.state) as file:
            state = json.load(file)
        answer = get(args, state, options)
    with open(args.state, "w") as file:
        json.dump(state, file)
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
