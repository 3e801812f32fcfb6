# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the collection's demo service in the backup scenario: records in SQLite, each
holding the SHA-256 of the previous one. POST /records adds one, GET /health verifies the chain."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import sqlite3
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

DB = sys.argv[1]


def connect():
    conn = sqlite3.connect(DB, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, body TEXT, prev TEXT, hash TEXT)")
    return conn


def verify(conn):
    prev = "0" * 64
    count = 0
    for body, stored_prev, stored_hash in conn.execute("SELECT body, prev, hash FROM records ORDER BY id"):
        if stored_prev != prev or hashlib.sha256((prev + body).encode()).hexdigest() != stored_hash:
            return False, count
        prev = stored_hash
        count += 1
    return True, count


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with connect() as conn:
            ok, count = verify(conn)
        self.reply(200 if ok else 500, {"status": "ok" if ok else "chain broken", "records": count})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode() or "record"
        conn = connect()
        with conn:
            row = conn.execute("SELECT hash FROM records ORDER BY id DESC LIMIT 1").fetchone()
            prev = row[0] if row else "0" * 64
            digest = hashlib.sha256((prev + body).encode()).hexdigest()
            conn.execute("INSERT INTO records (body, prev, hash) VALUES (?, ?, ?)", (body, prev, digest))
        conn.close()
        self.reply(201, {"hash": digest})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", 8099), Handler).serve_forever()
