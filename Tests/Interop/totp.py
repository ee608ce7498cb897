"""Prints the current TOTP code for a base32 secret, computed by pyotp (test-only)."""
import sys

import pyotp

print(pyotp.TOTP(sys.argv[1]).now())
