"""An independent ML-DSA-65 (FIPS 204) for checking QSPP's tokens: dilithium-py, test-only.

  mldsa_jwt.py verify TOKEN PUB_B64URL
      exit 0, prints "VALID": the JWS is well formed, its alg is ML-DSA-65 and its signature verifies
      exit 1, prints "INVALID: <reason>": the verdict that the token does not verify; the reasons are
          "signature does not verify", "alg is <alg>, not ML-DSA-65" and "malformed token: <what>"
  mldsa_jwt.py sign SEED_HEX KID CLAIMS_JSON
      exit 0, prints a JWT signed with the key derived from the seed

  Exit 2, with the reason on standard error, is everything else: a wrong command line, dilithium-py
  missing, an unusable public key or seed, any unexpected exception. Exit 1 and an INVALID line mean
  only the verdict, never a crash (Python itself exits 1 on an uncaught exception), so a test that
  expects a refusal cannot pass because the verifier failed to run.
"""
import base64
import binascii
import json
import re
import sys
import traceback

try:
    from dilithium_py.ml_dsa import ML_DSA_65
except ImportError as error:
    if __name__ != "__main__":
        raise
    print(
        f"ERROR: dilithium-py is not importable ({error}); install the test tools "
        "(qspp_python_test_tools in scripts/lib/setup.sh)",
        file=sys.stderr,
    )
    sys.exit(2)

USAGE = "usage: mldsa_jwt.py verify TOKEN PUB_B64URL | mldsa_jwt.py sign SEED_HEX KID CLAIMS_JSON"
PUBLIC_KEY_BYTES = 1952
SIGNATURE_BYTES = 3309


class UsageError(Exception):
    """A problem with what the caller passed besides the token: exit 2, never a verdict."""


def b64url_decode(text):
    """Strict unpadded base64url, as JWS uses it: no padding, no characters outside the alphabet."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_key_bytes(public_key):
    try:
        key = b64url_decode(public_key)
    except (ValueError, binascii.Error) as error:
        raise UsageError(f"the public key is not base64url: {error}") from None
    if len(key) != PUBLIC_KEY_BYTES:
        raise UsageError(f"the public key is {len(key)} bytes, not the {PUBLIC_KEY_BYTES} of ML-DSA-65")
    return key


def check(token, public_key):
    """None when the token verifies, else why it does not. Raises UsageError for a bad public key."""
    key = public_key_bytes(public_key)
    parts = token.split(".")
    if len(parts) != 3:
        return f"malformed token: {len(parts)} parts, not 3"
    header, claims, signature = parts
    try:
        fields = json.loads(b64url_decode(header))
        b64url_decode(claims)
        signature_bytes = b64url_decode(signature)
    except (ValueError, binascii.Error) as error:
        return f"malformed token: {error}"
    if not isinstance(fields, dict):
        return "malformed token: the header is not a JSON object"
    if fields.get("alg") != "ML-DSA-65":
        return f"alg is {fields.get('alg')}, not ML-DSA-65"
    if len(signature_bytes) != SIGNATURE_BYTES:
        # dilithium-py answers False for this too; said here so the reason is exact.
        return f"malformed token: the signature is {len(signature_bytes)} bytes, not {SIGNATURE_BYTES}"
    verified = ML_DSA_65.verify(key, f"{header}.{claims}".encode(), signature_bytes)
    if verified is True:
        return None
    if verified is False:
        return "signature does not verify"
    raise RuntimeError(f"dilithium-py's verify returned {verified!r}, not a bool")


def verify(token, public_key):
    """True when the JWS signature verifies (scripts/check/e2e/portal_e2e.py imports this)."""
    return check(token, public_key) is None


def sign(seed_hex, kid, claims_json):
    try:
        seed = bytes.fromhex(seed_hex)
    except ValueError as error:
        raise UsageError(f"the seed is not hex: {error}") from None
    if len(seed) != 32:
        raise UsageError(f"the seed is {len(seed)} bytes, not 32")
    _, secret_key = ML_DSA_65.key_derive(seed)
    header = b64url_encode(json.dumps({"alg": "ML-DSA-65", "kid": kid, "typ": "at+jwt"}).encode())
    claims = b64url_encode(claims_json.encode())
    signature = ML_DSA_65.sign(secret_key, f"{header}.{claims}".encode())
    return f"{header}.{claims}.{b64url_encode(signature)}"


def main(arguments):
    if len(arguments) == 3 and arguments[0] == "verify":
        reason = check(arguments[1], arguments[2])
        if reason is None:
            print("VALID")
            return 0
        print(f"INVALID: {reason}")
        return 1
    if len(arguments) == 4 and arguments[0] == "sign":
        print(sign(arguments[1], arguments[2], arguments[3]))
        return 0
    raise UsageError(USAGE)


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except UsageError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        sys.exit(2)
    except BaseException:  # any crash is exit 2, never the verdict's 1
        traceback.print_exc()
        print("ERROR: mldsa_jwt.py failed; exit 2 is not a verdict", file=sys.stderr)
        sys.exit(2)
    sys.exit(status)
