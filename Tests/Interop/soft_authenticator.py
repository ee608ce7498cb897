"""One registration and two sign-ins by soft-webauthn's software authenticator (test-only), for
AuthenticatorDataTests.

  soft_authenticator.py RP_ID ORIGIN

Prints one JSON object: the credential id, the registration's attestationObject and clientDataJSON,
and each sign-in's authenticatorData, clientDataJSON and signature, all hex.
"""
import json
import os
import sys

from soft_webauthn import SoftWebauthnDevice

rp_id, origin = sys.argv[1:3]
device = SoftWebauthnDevice()
created = device.create({"publicKey": {
    "challenge": os.urandom(32), "rp": {"id": rp_id, "name": "QSPP"},
    "user": {"id": os.urandom(16), "name": "ana", "displayName": "Ana"},
    "pubKeyCredParams": [{"alg": -7, "type": "public-key"}],
}}, origin)
assertions = []
for _ in range(2):
    got = device.get({"publicKey": {"challenge": os.urandom(32), "rpId": rp_id}}, origin)
    assertions.append({key: got["response"][key].hex() for key in ("authenticatorData", "clientDataJSON", "signature")})
print(json.dumps({
    "id": created["rawId"].hex(),
    "attestationObject": created["response"]["attestationObject"].hex(),
    "clientDataJSON": created["response"]["clientDataJSON"].hex(),
    "assertions": assertions,
}))
