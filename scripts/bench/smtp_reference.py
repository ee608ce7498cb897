"""The reference for bench-mail.sh: Python's smtplib submitting N messages to the same relay, the way
QSPP does (a new connection per message, STARTTLS with the certificate verified, AUTH), from 8
threads as QSPP's sender uses 8 at a time. Prints the messages per second.

  smtp_reference.py PORT CA_FILE N
"""
import concurrent.futures
import smtplib
import ssl
import sys
import time
from email.message import EmailMessage

port, ca_file, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
context = ssl.create_default_context(cafile=ca_file)


def send(index):
    message = EmailMessage()
    message["From"] = "privacy@qspp.example"
    message["To"] = f"reference-{index}@example.com"
    message["Subject"] = "Reset your QSPP password"
    message.set_content("Someone asked to reset the password of your QSPP account.\n")
    message.add_alternative("<p>Someone asked to reset the password of your QSPP account.</p>", subtype="html")
    with smtplib.SMTP("localhost", port, timeout=30) as client:
        client.starttls(context=context)
        client.login("mailer", "s3cret pass")
        client.send_message(message)


start = time.time()
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    list(pool.map(send, range(count)))
print(round(count / (time.time() - start), 1))
