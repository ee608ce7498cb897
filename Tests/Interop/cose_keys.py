"""Credential public keys and signatures made by independent code, for COSEKeyTests.

  cose_keys.py

Prints one JSON line per algorithm: {"alg", "cose", "message", "signature"} (hex). The keys come
from the cryptography package and are COSE-encoded by fido2 (both test-only), as a browser's
authenticator library would; ML-DSA-65 comes from dilithium-py, encoded by cbor2 as RFC 9964 says
(kty 7 "AKP", alg -49, the public key under -1). Signatures are over the message, in WebAuthn's
forms: DER for ES256, raw for EdDSA and ML-DSA-65, PKCS #1 v1.5 with SHA-256 for RS256.
"""
import json
import os

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from dilithium_py.ml_dsa import ML_DSA_65
from fido2.cose import ES256, RS256, EdDSA

message = os.urandom(37) + b"authenticator data and client data hash"


def emit(alg, cose, signature):
    print(json.dumps({"alg": alg, "cose": cbor2.dumps(cose, canonical=True).hex(), "message": message.hex(),
                      "signature": signature.hex()}))


key = ec.generate_private_key(ec.SECP256R1())
emit(-7, dict(ES256.from_cryptography_key(key.public_key())), key.sign(message, ec.ECDSA(hashes.SHA256())))
key = ed25519.Ed25519PrivateKey.generate()
emit(-8, dict(EdDSA.from_cryptography_key(key.public_key())), key.sign(message))
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
emit(-257, dict(RS256.from_cryptography_key(key.public_key())),
     key.sign(message, padding.PKCS1v15(), hashes.SHA256()))
public, secret = ML_DSA_65.keygen()
emit(-49, {1: 7, 3: -49, -1: public}, ML_DSA_65.sign(secret, message))
