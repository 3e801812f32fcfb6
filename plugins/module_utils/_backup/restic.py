# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""restic as the trusted side runs it (standard library only): secrets in the environment only,
a private cache per call, bounded time."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import tempfile

# The argument spec of the options in doc fragment prodready.platform.backup.RESTIC.
TRUSTED_RESTIC_ARGS = dict(
    repository=dict(type="str", required=True),
    password=dict(type="str", required=True, no_log=True),
    access_key=dict(type="str", required=True, no_log=True),
    secret_key=dict(type="str", required=True, no_log=True),
    region=dict(type="str", default="us-east-1"),
    path_style=dict(type="bool", default=False),
    restic_binary=dict(type="str", default="restic"),
    timeout=dict(type="int", default=3600),
)


class ResticFailed(Exception):
    """restic could not do what was asked (message names the cause, never a secret)."""


class TrustedRestic(object):
    """Runs restic against one repository with the trusted identity.

    ``params``: repository, password, access_key, secret_key, region, path_style, restic_binary,
    timeout. Use as a context manager: the cache directory is removed on exit."""

    def __init__(self, params, runner=None):
        self.params = params
        self.runner = runner or self._subprocess
        self.options = ["-o", "s3.region=" + params["region"]]
        if params.get("path_style"):
            self.options += ["-o", "s3.bucket-lookup=path"]
        self.cache_dir = None

    def __enter__(self):
        self.cache_dir = tempfile.mkdtemp(prefix="prodready-restic-")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.cache_dir, ignore_errors=True)
        return False

    def env(self):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("RESTIC_", "AWS_")))
        env.update({
            "RESTIC_REPOSITORY": self.params["repository"],
            "RESTIC_PASSWORD": self.params["password"],
            "AWS_ACCESS_KEY_ID": self.params["access_key"],
            "AWS_SECRET_ACCESS_KEY": self.params["secret_key"],
            "AWS_DEFAULT_REGION": self.params["region"],
            "RESTIC_CACHE_DIR": self.cache_dir or "",
        })
        return env

    def _subprocess(self, argv, env, timeout):
        try:
            proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=timeout, check=False)
        except OSError as exc:
            raise ResticFailed("cannot run %s: %s (install restic on the trusted node)" % (argv[0], exc.strerror))
        except subprocess.TimeoutExpired:
            raise ResticFailed("restic %s did not finish within %d s" % (argv[-1], timeout))
        return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")

    def run(self, args):
        """(rc, stdout, stderr) of ``restic OPTIONS ARGS``."""
        return self.runner([self.params.get("restic_binary") or "restic"] + self.options + list(args), self.env(),
                           int(self.params.get("timeout") or 3600))


def last_lines(text, count=3):
    return " | ".join([line for line in text.splitlines() if line.strip()][-count:])


def missing_repository(stderr):
    """restic's words for "no repository here" (0.14 to 0.18)."""
    return ("unable to open config file" in stderr or "does not exist" in stderr) and "Is there a repository" in stderr
