# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prove or refute, on the controller, that a file a Debian host reports is the one Debian shipped.

A host that says "this changed file comes from a package upgrade" may be lying: its dpkg database,
md5sums and apt cache are writable by whoever owns it. None of it is trusted; Debian's chain is:

1. ``<uri>/dists/<suite>/InRelease`` is checked with ``gpgv`` against the archive keyring;
   only the text gpgv outputs as signed is parsed (SHA256 list, ``Valid-Until``,
   ``Codename``/``Suite``), never the file as downloaded.
2. ``<component>/binary-<arch>/Packages{.xz,.gz,}`` must have the size and SHA256 the
   signed InRelease gives.
3. The ``.deb`` named by the package's stanza must have the stanza's size and SHA256; its
   data.tar is read in memory (never extracted) and every regular file hashed.

Anything that breaks the chain (network, bad signature, missing or wrong hash, expired InRelease,
data.tar.zst without ``zstandard``) makes the answer ``unverifiable``. Standard library + gpgv only.
"""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

import bz2
import email.utils
import functools
import gzip
import hashlib
import http.client
import io
import lzma
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
import zlib

from ansible_collections.prodready.platform.plugins.module_utils._integrity.dpkg import compare_debian_versions

try:
    import zstandard  # optional: Ubuntu-style data.tar.zst; Debian itself uses xz
except ImportError:
    zstandard = None

DEFAULT_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
MAX_DOWNLOAD = 512 << 20  # refuse larger answers: no Debian index or .deb we verify is that big
FETCH_TIMEOUT = 60
GPGV_TIMEOUT = 120
STATUSES = ("verified", "mismatch", "not-in-package", "not-in-archive", "unverifiable")
# Top-level directories Debian's merged /usr turns into symlinks: /bin/x is /usr/bin/x.
MERGED_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
PACKAGE_FIELDS = ("Package", "Version", "Architecture", "Filename", "Size", "SHA256")

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20
_READ_ERRORS = (tarfile.TarError, lzma.LZMAError, zlib.error, EOFError, OSError, ValueError) + ((zstandard.ZstdError,) if zstandard else ())
_DATA_OPENERS = {".xz": lzma.LZMAFile, ".lzma": lzma.LZMAFile, ".bz2": bz2.BZ2File, "": lambda raw: raw,
                 ".gz": lambda raw: gzip.GzipFile(fileobj=raw), ".zst": lambda raw: zstandard.ZstdDecompressor().stream_reader(raw)}
_INDEX_DECOMPRESS = {".xz": lzma.decompress, ".gz": gzip.decompress, "": bytes}


class ArchiveError(Exception):
    """The archive could not be read or did not verify; the message says which URL and why."""


def fetch_url(url, timeout=FETCH_TIMEOUT, limit=MAX_DOWNLOAD):
    """The body of a GET of ``url`` (bytes). Raises ArchiveError naming the URL on any failure
    or when the body is larger than ``limit`` bytes."""
    try:
        with urllib.request.build_opener().open(url, timeout=timeout) as response:
            data = response.read(limit + 1)  # one byte more tells "too big" from "just fits"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise ArchiveError("cannot fetch %s: %s" % (url, exc))
    if len(data) > limit:
        raise ArchiveError("%s: more than the %d bytes allowed" % (url, limit))
    return data


def default_sources(codename, uri="http://deb.debian.org/debian", security_uri="http://deb.debian.org/debian-security"):
    """The sources a stock Debian host (bullseye or later) installs from: ``codename``,
    ``codename-updates`` and ``codename-security``, component ``main``."""
    return [{"uri": base, "suite": suite, "components": ["main"]}
            for base, suite in ((uri, codename), (uri, codename + "-updates"), (security_uri, codename + "-security"))]


def parse_deb822(text, fields=None):
    """The stanzas of a deb822 text (Packages, the InRelease body) as ``[{field: value}]``.
    A continuation line is joined to its field's value with ``"\\n"``, stripped. ``fields``
    keeps only those fields: Debian's main Packages is 50 MB, most of it descriptions."""
    stanzas, current, name = [], {}, None
    for line in text.split("\n"):
        if not line.strip():
            if current:
                stanzas.append(current)
            current, name = {}, None
        elif line[0] in " \t":
            if name is not None:
                current[name] += "\n" + line.strip()
        elif not line.startswith("#"):
            key, sep, value = line.partition(":")
            key = key.strip()
            name = key if sep and key and (fields is None or key in fields) else None
            if name is not None:
                current[name] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def parse_release(text, suite, now):
    """``(fields, {path: (sha256, size)})`` of a (verified) Release text, after checking it is the
    ``suite`` asked for (Codename or Suite) and, if it has ``Valid-Until``, that this is later
    than ``now`` (POSIX time): a replayed old InRelease would hide newer versions."""
    stanzas = parse_deb822(text)
    release = stanzas[0] if stanzas else {}
    if suite not in (release.get("Codename"), release.get("Suite")):
        raise ArchiveError("the signed Release is for %s/%s, not %s"
                           % (release.get("Codename", "?"), release.get("Suite", "?"), suite))
    if "Valid-Until" in release:
        parsed = email.utils.parsedate_tz(release["Valid-Until"])
        if parsed is None or email.utils.mktime_tz(parsed) < now:
            raise ArchiveError("the signed Release of %s expired at %s (or that is unreadable)" % (suite, release["Valid-Until"]))
    files = {}
    for line in release.get("SHA256", "").split("\n"):
        words = line.split()
        if len(words) == 3 and _HEX64.match(words[0].lower()) and words[1].isdigit():
            files[words[2]] = (words[0].lower(), int(words[1]))
    if not files:
        raise ArchiveError("the signed Release of %s has no SHA256 list" % suite)
    return release, files


def verify_clearsigned(data, keyring, gpgv="gpgv"):
    """The text (bytes) that ``gpgv`` certifies as signed in the clear-signed ``data`` by a key
    of ``keyring``. Raises ArchiveError unless at least one signature is good and none is bad;
    signatures by keys not in the keyring are ignored, as apt does (Debian signs with several)."""
    keyring = os.path.abspath(keyring)  # gpgv looks a name without "/" up in its home directory
    if not os.path.isfile(keyring):
        raise ArchiveError("keyring %s not found" % keyring)
    workdir = tempfile.mkdtemp(prefix="debian-archive-")
    try:
        signed, output, home = (os.path.join(workdir, name) for name in ("InRelease", "verified", "home"))
        os.mkdir(home, 0o700)  # an empty home: no trustedkeys.kbx or options of the user's own
        with open(signed, "wb") as handle:
            handle.write(data)
        # The certified text goes to a file so that stdout carries only gpgv's status lines.
        command = [gpgv, "--homedir", home, "--status-fd", "1", "--weak-digest", "sha1",
                   "--keyring", keyring, "--output", output, signed]
        try:
            proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=GPGV_TIMEOUT, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ArchiveError("cannot run %s: %s" % (gpgv, exc))
        codes = [line.split()[1] for line in proc.stdout.decode("utf-8", "replace").splitlines()
                 if line.startswith("[GNUPG:] ") and len(line.split()) > 1]
        # Fail closed on a bad signature, or anything gpgv found odd (ERROR: e.g. several signed parts).
        if "GOODSIG" not in codes or {"BADSIG", "ERROR"} & set(codes) or codes.count("PLAINTEXT") != 1 or not os.path.isfile(output):
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ArchiveError("no good signature by %s (%s)" % (keyring, detail[-1] if detail else "gpgv exit %d" % proc.returncode))
        with open(output, "rb") as handle:
            return handle.read()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parse_ar(data):
    """``[(name, bytes)]`` of the members of an ar archive, the container of a .deb."""
    if not data.startswith(b"!<arch>\n"):
        raise ArchiveError("not an ar archive")
    members, offset = [], 8
    while offset < len(data):
        header = data[offset:offset + 60]
        size = header[48:58].strip()
        if len(header) < 60 or header[58:60] != b"`\n" or not size.isdigit():
            raise ArchiveError("malformed ar member header at byte %d" % offset)
        start, end = offset + 60, offset + 60 + int(size)
        if end > len(data):
            raise ArchiveError("truncated ar member at byte %d" % offset)
        name = header[:16].decode("ascii", "replace").rstrip(" ")
        members.append((name[:-1] if name.endswith("/") else name, data[start:end]))
        offset = end + (end - start) % 2  # members start on even offsets
    return members


def path_aliases(path):
    """``path`` and, under a merged /usr, the other name of the same file (/bin/x and /usr/bin/x)."""
    for name in MERGED_DIRS:
        short, full = "/%s/" % name, "/usr/%s/" % name
        if path.startswith(short):
            return [path, full + path[len(short):]]
        if path.startswith(full):
            return [path, short + path[len(full):]]
    return [path]


def _member_path(name):
    """A tar member name as an absolute path: ``./usr/bin/x`` -> ``/usr/bin/x``."""
    return "/" + "/".join(part for part in name.split("/") if part not in ("", "."))


def _sha256_stream(handle):
    digest = hashlib.sha256()
    for chunk in iter(functools.partial(handle.read, _CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _data_stream(name, payload):
    """A file object of the uncompressed tar of the data member ``name`` (streamed, not in memory)."""
    suffix = name[len("data.tar"):]
    if suffix == ".zst" and zstandard is None:
        raise ArchiveError("the package's data.tar.zst needs the Python module zstandard (zstd is not in the standard library)")
    if suffix not in _DATA_OPENERS:
        raise ArchiveError("unknown data member %s" % name)
    return _DATA_OPENERS[suffix](io.BytesIO(payload))


def deb_digests(data):
    """``{path: {"sha256": hex} | {"target": link}}`` of the regular files and symlinks in the
    data.tar of a .deb (``data``, bytes). Hard links get the digest of the file they link to.
    The tar is streamed: nothing is extracted, nothing is written to disk."""
    members = parse_ar(data)
    names = [name for name, _payload in members]
    if not names or names[0] != "debian-binary" or not members[0][1].startswith(b"2."):
        raise ArchiveError("not a Debian binary package (no debian-binary 2.x first)")
    data_members = [member for member in members if member[0] == "data.tar" or member[0].startswith("data.tar.")]
    if not any(name.startswith("control.tar") for name in names) or len(data_members) != 1:
        raise ArchiveError("not a Debian binary package (members %s)" % ", ".join(names))
    out = {}
    try:
        with tarfile.open(fileobj=_data_stream(*data_members[0]), mode="r|") as tar:
            for member in tar:
                path = _member_path(member.name)
                if member.isreg():
                    out[path] = {"sha256": _sha256_stream(tar.extractfile(member))}
                elif member.issym():
                    out[path] = {"target": member.linkname}
                elif member.islnk():
                    linked = out.get(_member_path(member.linkname), {})
                    if "sha256" not in linked:
                        raise ArchiveError("hard link %s to unknown file %s" % (member.name, member.linkname))
                    out[path] = dict(linked)
    except _READ_ERRORS as exc:
        raise ArchiveError("cannot read %s: %s" % (data_members[0][0], exc))
    return out


def _same_version(a, b):
    """dpkg equality (``1:2`` is ``01:2``, ``0:1.0`` is ``1.0``); a malformed version equals only itself."""
    try:
        return compare_debian_versions(a, b) == 0
    except ValueError:
        return a == b


def _memo(cache, key, load):
    """``load()`` once per key; an ArchiveError is remembered too, so a dead mirror is asked once."""
    if key not in cache:
        try:
            cache[key] = (True, load())
        except ArchiveError as exc:
            cache[key] = (False, exc)
    ok, value = cache[key]
    if not ok:
        raise value
    return value


class DebianArchive(object):
    """The signed Debian archive as a source of truth for package files.

    ``sources``: ``[{"uri": ..., "suite": ..., "components": [...]}]`` searched in order
    (see default_sources). ``keyring``: the OpenPGP keys trusted to sign InRelease.
    ``arch``: the host's dpkg architecture (``all`` packages are always looked at too).
    ``cache_dir``: optional directory of verified downloads named by their SHA256; a cached
    file is used only when it still has the hash the signed metadata gives. ``fetch``:
    ``callable(url) -> bytes`` raising ArchiveError (default fetch_url). ``gpgv``: the gpgv
    binary. ``now``: POSIX time or aware datetime that Valid-Until is checked against
    (default: the current time).

    Indexes and packages are read once and remembered, failures too, for the life of the
    instance: make one instance per verification run.
    """

    def __init__(self, sources, keyring=DEFAULT_KEYRING, arch="amd64", cache_dir=None, fetch=None, gpgv="gpgv", now=None):
        self.sources = []
        for source in sources:
            components = source.get("components") if isinstance(source, dict) else None
            if not components or isinstance(components, str) or not source.get("uri") or not source.get("suite"):
                raise ArchiveError("a source needs uri, suite and a list of components: %r" % (source,))
            self.sources.append({"uri": source["uri"].rstrip("/"), "suite": source["suite"], "components": list(components)})
        self.keyring, self.arch, self.cache_dir, self.gpgv = keyring, arch, cache_dir, gpgv
        self._fetch = fetch or fetch_url
        self._now = now
        self._releases, self._indexes, self._debs, self._origins = {}, {}, {}, {}

    def _cached(self, sha256):
        if not self.cache_dir:
            return None
        try:
            with open(os.path.join(self.cache_dir, sha256), "rb") as handle:
                data = handle.read(MAX_DOWNLOAD + 1)
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == sha256 else None  # the cache is not trusted either

    def _store(self, data, sha256):
        if not self.cache_dir:
            return
        try:
            os.makedirs(self.cache_dir, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.cache_dir, prefix=".part-")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temp, os.path.join(self.cache_dir, sha256))
        except OSError:
            pass  # a cache that cannot be written only costs a download next time

    def _download(self, url, sha256=None, size=None):
        """``url``'s bytes; with ``sha256``, only bytes of that size and hash (from the cache if there)."""
        data = self._cached(sha256) if sha256 else None
        if data is not None:
            return data
        data = self._fetch(url)
        if not isinstance(data, bytes) or len(data) > MAX_DOWNLOAD:
            raise ArchiveError("%s: no answer or more than %d bytes" % (url, MAX_DOWNLOAD))
        if sha256:
            if size is not None and len(data) != size:
                raise ArchiveError("%s: %d bytes, the signed index says %d" % (url, len(data), size))
            if hashlib.sha256(data).hexdigest() != sha256:
                raise ArchiveError("%s: SHA256 differs from the signed index" % url)
            self._store(data, sha256)
        return data

    def _load_release(self, index):
        source = self.sources[index]
        base = "%s/dists/%s/" % (source["uri"], source["suite"])
        # Always fetched fresh: InRelease is what tells a current archive from a replayed one.
        raw = self._download(base + "InRelease")
        try:
            text = verify_clearsigned(raw, self.keyring, self.gpgv).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ArchiveError("%sInRelease: %s" % (base, exc))
        now = time.time() if self._now is None else self._now
        release, files = parse_release(text, source["suite"], now.timestamp() if hasattr(now, "timestamp") else float(now))
        self._store(raw, hashlib.sha256(raw).hexdigest())  # kept as evidence of what was checked
        return {"base": base, "files": files, "by_hash": release.get("Acquire-By-Hash", "").lower() == "yes"}

    def _load_packages(self, index, component):
        release = _memo(self._releases, index, functools.partial(self._load_release, index))
        stem = "%s/binary-%s/" % (component, self.arch)
        errors = []
        for suffix in (".xz", ".gz", ""):
            if stem + "Packages" + suffix not in release["files"]:
                continue
            sha256, size = release["files"][stem + "Packages" + suffix]
            urls = [release["base"] + stem + "Packages" + suffix]
            if release["by_hash"]:  # immune to a mirror caught between InRelease and Packages updates
                urls.insert(0, "%s%sby-hash/SHA256/%s" % (release["base"], stem, sha256))
            for url in urls:
                try:
                    text = _INDEX_DECOMPRESS[suffix](self._download(url, sha256, size)).decode("utf-8")
                except (ArchiveError,) + _READ_ERRORS as exc:  # UnicodeDecodeError is a ValueError
                    errors.append(str(exc) if isinstance(exc, ArchiveError) else "%s: %s" % (url, exc))
                    continue
                packages = {}
                for stanza in parse_deb822(text, PACKAGE_FIELDS):
                    packages.setdefault(stanza.get("Package"), []).append(stanza)
                return packages
        raise ArchiveError("; ".join(errors) or "the signed InRelease of %s lists no SHA256 for %sPackages" % (release["base"], stem))

    def find(self, package, version):
        """The Packages stanza (the PACKAGE_FIELDS, plus ``uri`` and ``suite`` of its source) of
        ``package`` at ``version`` for this architecture or ``all``, from the first source that
        lists it. None when every source was read and verified and none lists it. Raises
        ArchiveError when it is in none of the sources that could be read but one could not."""
        errors = []
        for index, source in enumerate(self.sources):
            for component in source["components"]:
                try:
                    packages = _memo(self._indexes, (index, component), functools.partial(self._load_packages, index, component))
                except ArchiveError as exc:
                    errors.append("%s %s/%s: %s" % (source["uri"], source["suite"], component, exc))
                    continue
                for stanza in packages.get(package, ()):
                    if stanza.get("Architecture") in (self.arch, "all") and _same_version(stanza.get("Version", ""), version):
                        return dict(stanza, uri=source["uri"], suite=source["suite"])
        if errors:
            raise ArchiveError("%s %s not found in the readable sources; unreadable: %s" % (package, version, "; ".join(errors)))
        return None

    def _load_deb(self, package, version):
        stanza = self.find(package, version)
        if stanza is None:
            return None
        sha256, size, filename = stanza.get("SHA256", "").lower(), stanza.get("Size", ""), stanza.get("Filename", "")
        if not _HEX64.match(sha256) or not size.isdigit():
            raise ArchiveError("the signed index gives no SHA256/Size for %s %s" % (package, version))
        if not filename or filename.startswith("/") or ".." in filename.split("/"):
            raise ArchiveError("the signed index gives an unusable Filename %r" % filename)
        url = "%s/%s" % (stanza["uri"], urllib.parse.quote(filename, safe="/+~"))
        digests = deb_digests(self._download(url, sha256, int(size)))
        self._origins[(package, version)] = "%s (%s)" % (url, stanza["suite"])
        return digests

    def file_digests(self, package, version):
        """``{path: {"sha256": hex} | {"target": link}}`` of the files of Debian's signed .deb of
        ``package`` at ``version``; None when no signed source lists that version. Raises
        ArchiveError when that cannot be established (network, signature, hash, zstd)."""
        return _memo(self._debs, (package, version), functools.partial(self._load_deb, package, version))

    def verify_files(self, items):
        """Check what a host reports against the signed archive. ``items``: ``[{"path", "package",
        "version", "sha256" (hex or None), "target" (for a symlink, optional)}]``. Returns one
        ``{"path", "package", "version", "status", "detail"}`` per item, status one of STATUSES.
        Each package version is fetched and parsed once however many paths name it. An
        administrator's edit of a conffile (/etc) is a ``mismatch`` too: Debian did not ship it."""
        results = []
        for item in items:
            path, package, version = item.get("path"), item.get("package"), item.get("version")
            result = {"path": path, "package": package, "version": version}
            if not all(isinstance(value, str) and value for value in (path, package, version)):
                result.update(status="unverifiable", detail="the item needs path, package and version")
            else:
                try:
                    digests = self.file_digests(package, version)
                except ArchiveError as exc:
                    result.update(status="unverifiable", detail=str(exc))
                else:
                    result.update(self._compare(item, digests))
            results.append(result)
        return results

    def _listed(self, package):
        """Which versions the signed indexes list: tells a superseded version (mirrors keep only the
        current one; snapshot.debian.org has the rest) from a made-up one."""
        found = []
        for (index, _component), (ok, packages) in sorted(self._indexes.items(), key=lambda pair: pair[0]):
            found += ["%s (%s)" % (stanza.get("Version"), self.sources[index]["suite"]) for stanza in (packages.get(package, ()) if ok else ())
                      if stanza.get("Architecture") in (self.arch, "all")]
        return "; the signed sources list " + ", ".join(found) if found else "; the signed sources list no version of it"

    def _compare(self, item, digests):
        package, version = item["package"], item["version"]
        if digests is None:
            return {"status": "not-in-archive", "detail": "no signed source lists %s %s for %s%s" % (package, version, self.arch, self._listed(package))}
        origin = self._origins.get((package, version), "%s %s" % (package, version))
        shipped = next((digests[name] for name in path_aliases(item["path"]) if name in digests), None)
        if shipped is None:
            return {"status": "not-in-package", "detail": "%s has no file %s" % (origin, item["path"])}
        target, sha256 = item.get("target"), item.get("sha256")
        if target is not None:
            if shipped.get("target") == target:
                return {"status": "verified", "detail": "symlink target %s as in %s" % (target, origin)}
            return {"status": "mismatch", "detail": "the host has a symlink to %s, %s ships %s" % (target, origin, _describe(shipped))}
        if not isinstance(sha256, str) or not sha256:
            return {"status": "unverifiable", "detail": "the host reported no sha256 (nor target) for this file"}
        if shipped.get("sha256") == sha256.lower():
            return {"status": "verified", "detail": "sha256 %s as in %s" % (shipped["sha256"], origin)}
        return {"status": "mismatch", "detail": "the host's sha256 is %s, %s ships %s" % (sha256, origin, _describe(shipped))}


def _describe(shipped):
    return "sha256 %s" % shipped["sha256"] if "sha256" in shipped else "a symlink to %s" % shipped["target"]
