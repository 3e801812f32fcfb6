# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print every file under ROOT... that holds the private key of the CA certificate CA_CERT (PEM),
one path a line; prints nothing when no file does. Reads the regular files up to 1 MiB that contain
a PEM private key block without a passphrase (the CA keys of the logs, tls and exporters roles
have none in the scenarios)."""
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization

LIMIT = 1 << 20
MARKER = b"PRIVATE KEY-----"
PUBLIC = dict(encoding=serialization.Encoding.DER, format=serialization.PublicFormat.SubjectPublicKeyInfo)


def candidates(roots):
    for root in roots:
        for directory, _dirs, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                try:
                    if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) > LIMIT:
                        continue
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                if MARKER in data:
                    yield path, data


def main(ca_cert, roots):
    with open(ca_cert, "rb") as handle:
        wanted = x509.load_pem_x509_certificate(handle.read()).public_key().public_bytes(**PUBLIC)
    for path, data in candidates(roots):
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (TypeError, ValueError):  # a passphrase is needed, or not a PEM key this library reads
            continue
        if key.public_key().public_bytes(**PUBLIC) == wanted:
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
