# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test webhook receiver, the one used everywhere a test needs one: Molecule's monitoring scenario
(Alertmanager's notifications), its integrity scenario (the on-host monitor's webhook) and the
demo's fault drill (tools/demo-faults.sh).

Records every POST as one JSON line {"received": unix time, "path": request path, "body": payload}
in the log file (a body that is not JSON is kept as {"raw": text}) and answers 200. Standard
library only, so it runs on a test host's /usr/bin/python3 as well as in the venv.

    python3 webhook_receiver.py [--bind ADDRESS] [--port PORT] [--log FILE]
    defaults: 127.0.0.1, 9099, /var/lib/webhook-receiver/alerts.jsonl
"""
import argparse
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

DEFAULT_LOG = "/var/lib/webhook-receiver/alerts.jsonl"


class Handler(BaseHTTPRequestHandler):
    """Appends each POST to the server's log_path; one request at a time (HTTPServer), so lines
    never interleave."""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {"raw": body.decode("utf-8", "replace")}
        with open(self.server.log_path, "a") as handle:
            handle.write(json.dumps({"received": time.time(), "path": self.path, "body": payload}) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write(fmt % args + "\n")


def make_server(bind, port, log_path):
    """An HTTPServer recording into log_path (its directory is created); port 0 picks a free one."""
    directory = os.path.dirname(log_path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    server = HTTPServer((bind, port), Handler)
    server.log_path = log_path
    return server


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9099, help="port to listen on (default 9099)")
    parser.add_argument("--log", default=DEFAULT_LOG, help="JSON-lines file the POSTs are appended to (default %s)" % DEFAULT_LOG)
    args = parser.parse_args(argv)
    make_server(args.bind, args.port, args.log).serve_forever()


if __name__ == "__main__":
    main()
