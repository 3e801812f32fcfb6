# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Search a recorded Python input log for secrets, as an attacker would: in the text, and inside
every base64 blob (AnsiballZ ships modules and their arguments as a base64 zip), unzipped.
Usage: find_secrets.py LOG SECRET... (secrets also read from the environment as FIND_SECRETS,
newline separated, so they need not be on a command line). Prints a JSON report; exit 1 when
any secret is found, 2 when the log shows no integrity_baseline module at all."""
import base64
import io
import json
import os
import re
import sys
import zipfile


def texts(data):
    yield data
    for blob in re.findall(rb"[A-Za-z0-9+/=]{200,}", data):
        try:
            raw = base64.b64decode(blob)
        except ValueError:
            continue
        yield raw
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                for name in archive.namelist():
                    yield archive.read(name)
        except zipfile.BadZipFile:
            pass


def main(path, secrets):
    with open(path, "rb") as handle:
        data = handle.read()
    found, modules = [], 0
    for text in texts(data):
        modules += text.count(b"integrity_baseline")
        for secret in secrets:
            forms = [secret.encode(), base64.b64encode(secret.encode())]
            if any(form in text for form in forms) and secret not in found:
                found.append(secret[:4] + "...")
    print(json.dumps({"bytes": len(data), "integrity_baseline_mentions": modules, "found": found}))
    if found:
        return 1
    return 0 if modules else 2


if __name__ == "__main__":
    secrets = [s for s in sys.argv[2:] + os.environ.get("FIND_SECRETS", "").split("\n") if s]
    sys.exit(main(sys.argv[1], secrets))
