"""Checks the ML-DSA-65 line of a QSPP signed note with dilithium-py, an independent FIPS 204. Test-only.

  mldsa_note.py NOTE_FILE KEY_NAME PUB_B64
      exit 0, prints "VALID": the note has a line by KEY_NAME whose key id is the one QSPP documents
          for this key, SHA-256(name || 0x0A || 0xff || "qspp-ml-dsa-65" || public key)[:4], and its
          signature verifies over the note's text
      exit 1, prints "INVALID: <reason>": the verdict
  Exit 2 is everything else (a wrong command line, dilithium-py missing, any unexpected exception), so
  a test expecting a refusal cannot pass because this script failed to run.
"""
import base64
import hashlib
import sys
import traceback

try:
    from dilithium_py.ml_dsa import ML_DSA_65
except ImportError as error:
    print(f"ERROR: dilithium-py is not importable ({error})", file=sys.stderr)
    sys.exit(2)


def check(note, name, public_key):
    if not note.endswith("\n") or "\n\n" not in note:
        return "not a signed note"
    split = note.rindex("\n\n")
    text, lines = note[: split + 1], note[split + 2 :].splitlines()
    key_id = hashlib.sha256(name.encode() + b"\n\xffqspp-ml-dsa-65" + public_key).digest()[:4]
    signatures = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014":
            return "a malformed signature line"
        raw = base64.b64decode(parts[2], validate=True)
        if parts[1] == name and raw[:4] == key_id:
            signatures.append(raw[4:])
    if not signatures:
        return "no signature by this key"
    for signature in signatures:
        if not ML_DSA_65.verify(public_key, text.encode(), signature):
            return "signature does not verify"
    return None


def main(arguments):
    if len(arguments) != 3:
        print("usage: mldsa_note.py NOTE_FILE KEY_NAME PUB_B64", file=sys.stderr)
        return 2
    with open(arguments[0], encoding="utf-8") as file:
        note = file.read()
    reason = check(note, arguments[1], base64.b64decode(arguments[2], validate=True))
    print("VALID" if reason is None else f"INVALID: {reason}")
    return 0 if reason is None else 1


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except Exception:
        traceback.print_exc()
        sys.exit(2)
    sys.exit(status)
