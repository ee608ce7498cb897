"""Checks a witness's C2SP cosignature/v1 line on a checkpoint note with pyca/cryptography's Ed25519,
independently of QSPP. Test-only.

  cosignature.py NOTE_FILE VKEY
      exit 0, prints "VALID <timestamp>": the note carries a line by VKEY's name whose key id is
          SHA-256(name || 0x0A || 0x04 || public key)[:4], holding an 8-byte big-endian timestamp and
          an Ed25519 signature over "cosignature/v1\\ntime <timestamp>\\n" and the note's text
      exit 1, prints "INVALID: <reason>": the verdict
  Exit 2 is everything else (a wrong command line, cryptography missing, any unexpected exception), so
  a test expecting a refusal cannot pass because this script failed to run.
"""
import base64
import hashlib
import sys
import traceback

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError as error:
    print(f"ERROR: cryptography is not importable ({error})", file=sys.stderr)
    sys.exit(2)


def check(note, vkey):
    name, key_id_hex, encoded = vkey.split("+", 2)
    material = base64.b64decode(encoded)
    if material[:1] != b"\x04" or len(material) != 33:
        return "INVALID: not a cosignature/v1 Ed25519 key"
    public_key = material[1:]
    key_id = hashlib.sha256(name.encode() + b"\n\x04" + public_key).digest()[:4]
    if key_id.hex() != key_id_hex:
        return "INVALID: the key id does not match the key"
    split = note.rindex("\n\n")
    text, lines = note[: split + 1], note[split + 2 :].splitlines()
    for line in lines:
        dash, signer, signature = line.split(" ")
        if dash != "\u2014" or signer != name:
            continue
        raw = base64.b64decode(signature)
        if raw[:4] != key_id or len(raw) != 4 + 8 + 64:
            continue
        timestamp = int.from_bytes(raw[4:12], "big")
        message = f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(raw[12:], message)
        except InvalidSignature:
            return "INVALID: signature does not verify"
        return f"VALID {timestamp}"
    return "INVALID: no cosignature by this key"


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        with open(sys.argv[1], encoding="utf-8") as file:
            verdict = check(file.read(), sys.argv[2])
    except Exception:
        traceback.print_exc()
        sys.exit(2)
    print(verdict)
    sys.exit(0 if verdict.startswith("VALID") else 1)


if __name__ == "__main__":
    main()
