# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test webhook receiver: records every POST (Alertmanager notifications) as one JSON line
{"received": unix time, "body": payload} in /var/lib/webhook-receiver/alerts.jsonl."""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

LOG = "/var/lib/webhook-receiver/alerts.jsonl"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {"raw": body.decode("utf-8", "replace")}
        with open(LOG, "a") as handle:
            handle.write(json.dumps({"received": time.time(), "body": payload}) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write(fmt % args + "\n")


if __name__ == "__main__":
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 9099), Handler).serve_forever()
