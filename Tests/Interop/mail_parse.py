"""Parses a message with Python's email package (an independent MIME implementation, test-only) and
prints what a mail program would show, as JSON. The message is read from the file named by argv[1]."""
import email
import email.policy
import email.utils
import json
import sys

with open(sys.argv[1], "rb") as f:
    raw = f.read()
message = email.message_from_bytes(raw, policy=email.policy.default)
parts = {}
for part in message.walk():
    if part.get_content_maintype() == "text":
        parts[part.get_content_type()] = part.get_content()
lines = raw.split(b"\r\n")
print(json.dumps({
    "from": [list(a) for a in email.utils.getaddresses([str(message["From"])])],
    "to": [list(a) for a in email.utils.getaddresses([str(message["To"])])],
    "subject": str(message["Subject"]),
    "message_id": str(message["Message-ID"]),
    "date": email.utils.parsedate_to_datetime(str(message["Date"])).timestamp(),
    "content_type": message.get_content_type(),
    "parts": parts,
    "defects": [str(d) for p in message.walk() for d in p.defects] + [str(d) for d in message.defects],
    "longest_line": max(len(l) for l in lines),
    "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
    "eight_bit": any(b >= 0x80 for b in raw),
}))
