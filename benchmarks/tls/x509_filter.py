# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How fast does the x509_info filter read certificates, beside `openssl x509` per file?

The compliance audit reads every host's certificates; the usual alternative is one
`openssl x509 -noout -subject -issuer -enddate -ext subjectAltName` process per PEM.

    .venv/bin/python benchmarks/tls/x509_filter.py [COUNT]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "collections"))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from ansible_collections.prodready.platform.plugins.filter.x509 import x509_info  # noqa: E402


def make_pems(count):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    pems = []
    for i in range(count):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "host%d.example.test" % i)])
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("host%d.example.test" % i)]), critical=False)
            .sign(key, hashes.SHA256())
        )
        pems.append(cert.public_bytes(serialization.Encoding.PEM).decode())
    return pems


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    pems = make_pems(count)
    start = time.perf_counter()
    for pem in pems:
        x509_info(pem)
    filter_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, pem in enumerate(pems):
            path = os.path.join(tmp, "%d.pem" % i)
            with open(path, "w") as handle:
                handle.write(pem)
            paths.append(path)
        start = time.perf_counter()
        for path in paths:
            subprocess.run(["openssl", "x509", "-noout", "-subject", "-issuer", "-enddate", "-ext", "subjectAltName", "-in", path],
                           check=True, stdout=subprocess.DEVNULL)
        openssl_s = time.perf_counter() - start

    print("certificates: %d" % count)
    print("%-45s %8.2f ms total %8.3f ms/cert" % ("prodready.platform.x509_info (in process)", filter_s * 1000, filter_s * 1000 / count))
    print("%-45s %8.2f ms total %8.3f ms/cert" % ("openssl x509 -noout ... (one process each)", openssl_s * 1000, openssl_s * 1000 / count))
    print("speed-up: %.1fx" % (openssl_s / filter_s if filter_s else float("inf")))


if __name__ == "__main__":
    main()
