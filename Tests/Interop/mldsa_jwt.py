"""An independent ML-DSA-65 (FIPS 204) for checking QSPP's tokens: dilithium-py, test-only.

  mldsa_jwt.py verify TOKEN PUB_B64URL   exits 0 when the JWS signature verifies, 1 otherwise
  mldsa_jwt.py sign SEED_HEX KID CLAIMS_JSON   prints a JWT signed with the key derived from the seed
"""
import base64
import json
import sys

from dilithium_py.ml_dsa import ML_DSA_65


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verify(token, public_key):
    header, claims, signature = token.split(".")
    if json.loads(b64url_decode(header)).get("alg") != "ML-DSA-65":
        return False
    return ML_DSA_65.verify(b64url_decode(public_key), f"{header}.{claims}".encode(), b64url_decode(signature))


def sign(seed_hex, kid, claims_json):
    _, secret_key = ML_DSA_65.key_derive(bytes.fromhex(seed_hex))
    header = b64url_encode(json.dumps({"alg": "ML-DSA-65", "kid": kid, "typ": "at+jwt"}).encode())
    claims = b64url_encode(claims_json.encode())
    signature = ML_DSA_65.sign(secret_key, f"{header}.{claims}".encode())
    return f"{header}.{claims}.{b64url_encode(signature)}"


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        sys.exit(0 if verify(sys.argv[2], sys.argv[3]) else 1)
    elif sys.argv[1] == "sign":
        print(sign(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(2)
