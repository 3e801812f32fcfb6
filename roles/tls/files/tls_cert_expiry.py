# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write prodready_tls_certificate_expiry_seconds{path,subject} for the textfile collector.

Run by prodready-tls-cert-expiry.service (timer + after every certificate change). The
collection's textfile module (the atomic write and the escaping) is installed by the tls role
(prodready.platform.python_library) under LIBRARY, at its collection path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import datetime
import os
import sys

# Where the tls role installs the collection's module_utils (tls_python_library_dir).
LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python")
sys.path.insert(0, LIBRARY)

from ansible_collections.prodready.platform.plugins.module_utils import textfile  # noqa: E402
from cryptography import x509  # noqa: E402


def not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)  # cryptography >= 42
    if value is None:
        value = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--textfile-dir", default=textfile.DEFAULT_TEXTFILE_DIR)
    parser.add_argument("--file-name", default="prodready_tls.prom")
    parser.add_argument("certificates", nargs="+")
    args = parser.parse_args(argv)

    now = datetime.datetime.now(datetime.timezone.utc)
    expiry = textfile.Metric(
        "prodready_tls_certificate_expiry_seconds", "Seconds until the certificate's notAfter (negative once expired)."
    )
    readable = textfile.Metric("prodready_tls_certificate_readable", "1 if the certificate file could be parsed, else 0.")
    status = 0
    for path in args.certificates:
        try:
            with open(path, "rb") as handle:
                cert = x509.load_pem_x509_certificate(handle.read())
        except (OSError, ValueError) as exc:
            print("cannot read %s: %s" % (path, exc), file=sys.stderr)
            readable.add(0, {"path": path})
            status = 1
            continue
        readable.add(1, {"path": path})
        seconds = int((not_after(cert) - now).total_seconds())
        expiry.add(seconds, {"path": path, "subject": cert.subject.rfc4514_string()})
    metrics = [readable] + ([expiry] if expiry.samples else [])
    textfile.write_textfile(args.file_name, metrics, directory=args.textfile_dir)
    return status


if __name__ == "__main__":
    sys.exit(main())
