"""The controller-side Debian archive verifier (plugins/module_utils/_integrity/debian_archive.py).

A real tiny archive is built in a temporary directory: a throwaway GPG key (and a second,
untrusted one), real .debs (ar + control.tar.xz + data.tar.xz, written here with the standard
library), a Packages.xz and an InRelease clear-signed by gpg. The archive's files are served by
the ``fetch`` callable from a dict, so nothing touches the network; gpgv does the real checks.
"""
import datetime
import gzip
import hashlib
import io
import lzma
import os
import shutil
import subprocess
import tarfile
import time

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._integrity import debian_archive as da

URI = "http://mirror.test/debian"
SUITE = "testing-codename"
NOW = 1700000000


def sha(data):
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------
# Writers of the archive formats (independent of the code under test)
# --------------------------------------------------------------------------------------

def ar(members):
    out = [b"!<arch>\n"]
    for name, data in members:
        out.append(b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name.encode("ascii"), 0, 0, 0, b"100644", len(data)))
        out.append(data + (b"\n" if len(data) % 2 else b""))
    return b"".join(out)


def tar_xz(entries):
    """entries: [(name, bytes | ("symlink", target) | ("hardlink", name) | None for a directory)]."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            info.mtime = NOW
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(content, tuple):
                info.type = tarfile.SYMTYPE if content[0] == "symlink" else tarfile.LNKTYPE
                info.linkname = content[1]
                tar.addfile(info)
            else:
                info.size, info.mode = len(content), 0o755
                tar.addfile(info, io.BytesIO(content))
    return lzma.compress(buf.getvalue())


def make_deb(package, version, entries, data_name="data.tar.xz", data=None):
    control = "Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: t <t@example.invalid>\nDescription: test\n" % (package, version)
    return ar([("debian-binary", b"2.0\n"), ("control.tar.xz", tar_xz([("./control", control.encode())])),
               (data_name, tar_xz(entries) if data is None else data)])


def deb822(stanzas):
    out = []
    for stanza in stanzas:
        for key, value in stanza.items():
            first, *rest = value.split("\n")
            out.append("%s: %s" % (key, first) if first else "%s:" % key)
            out.extend(" " + line for line in rest)
        out.append("")
    return "\n".join(out)


def gpg(keys, *args, data=None):
    return subprocess.run(["gpg", "--batch", "--quiet", "--homedir", keys["home"]] + list(args), input=data,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two ed25519 signing keys in one GnuPG home; ``keyring`` (for gpgv) trusts only ``good``."""
    if not shutil.which("gpg") or not shutil.which("gpgv"):
        pytest.skip("gpg and gpgv are needed to build a signed archive")
    home = str(tmp_path_factory.mktemp("gnupg"))
    os.chmod(home, 0o700)
    out = {"home": home}
    for name in ("good", "other"):
        params = ("%%no-protection\nKey-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: %s archive\n"
                  "Name-Email: %s@example.invalid\nExpire-Date: 0\n%%commit\n" % (name, name))
        gpg(out, "--gen-key", data=params.encode())
        out[name] = "%s@example.invalid" % name
    out["keyring"] = os.path.join(home, "trusted.gpg")
    with open(out["keyring"], "wb") as handle:
        handle.write(gpg(out, "--export", out["good"]))
    yield out
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False)


class Mirror(object):
    """A Debian mirror in a dict; records every URL asked for."""

    def __init__(self, keys, uri=URI):
        self.keys, self.uri, self.files, self.fetched = keys, uri, {}, []

    def fetch(self, url):
        self.fetched.append(url)
        if url not in self.files:
            raise da.ArchiveError("404 %s" % url)
        return self.files[url]

    def publish(self, debs, suite=SUITE, signers=("good",), valid_until=None, codename=None, compress=(".xz",)):
        """debs: [(package, version, arch, deb bytes)] into pool/ + Packages + signed InRelease."""
        stanzas = []
        for package, version, arch, deb in debs:
            filename = "pool/main/%s/%s/%s_%s_%s.deb" % (package[0], package, package, version.split(":")[-1], arch)
            self.files["%s/%s" % (self.uri, filename)] = deb
            stanzas.append({"Package": package, "Version": version, "Architecture": arch, "Maintainer": "t <t@example.invalid>",
                            "Filename": filename, "Size": str(len(deb)), "SHA256": sha(deb),
                            "Description": "test package\nlong description\n."})
        plain = deb822(stanzas).encode()
        dists = "%s/dists/%s/" % (self.uri, suite)
        release = {"Origin": "Test", "Suite": "testing", "Codename": codename or suite,
                   "Date": time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(NOW - 60))}
        if valid_until is not None:
            release["Valid-Until"] = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(valid_until))
        lines = [""]
        for suffix in compress:
            data = {".xz": lzma.compress, ".gz": gzip.compress, "": bytes}[suffix](plain)
            self.files[dists + "main/binary-amd64/Packages" + suffix] = data
            lines.append("%s %8d %s" % (sha(data), len(data), "main/binary-amd64/Packages" + suffix))
        release["SHA256"] = "\n".join(lines)
        self.files[dists + "InRelease"] = self.sign(deb822([release]).encode(), signers)
        return dists

    def sign(self, text, signers=("good",)):
        users = []
        for signer in signers:
            users += ["--local-user", self.keys[signer]]
        return gpg(self.keys, "--clearsign", "--digest-algo", "SHA256", *users, data=text)

    def archive(self, **kwargs):
        kwargs.setdefault("sources", [{"uri": self.uri, "suite": SUITE, "components": ["main"]}])
        kwargs.setdefault("now", NOW)
        return da.DebianArchive(keyring=self.keys["keyring"], fetch=self.fetch, **kwargs)


TINY = b"#!/bin/sh\necho tiny\n"
TINY_FILES = [("./", None), ("./usr/", None), ("./usr/bin/", None), ("./usr/bin/tiny", TINY),
              ("./usr/bin/tiny-link", ("symlink", "tiny")), ("./usr/bin/tiny-hard", ("hardlink", "./usr/bin/tiny")),
              ("./bin/", None), ("./bin/oldstyle", b"old\n"), ("./usr/sbin/", None), ("./usr/sbin/newstyle", b"new\n"),
              ("./etc/", None), ("./etc/tiny.conf", b"setting = 1\n")]


@pytest.fixture
def mirror(keys):
    mirror = Mirror(keys)
    mirror.publish([("tiny", "1.0-1", "amd64", make_deb("tiny", "1.0-1", TINY_FILES)),
                    ("tiny-doc", "1:2.0", "all", make_deb("tiny-doc", "1:2.0", [("./usr/share/doc/tiny/README", b"doc\n")])),
                    ("tiny-arm", "1.0", "arm64", make_deb("tiny-arm", "1.0", [("./usr/bin/arm", b"arm\n")]))])
    return mirror


def item(path, sha256=None, package="tiny", version="1.0-1", **extra):
    return dict({"path": path, "package": package, "version": version, "sha256": sha256}, **extra)


def statuses(archive, items):
    return [(result["status"], result["detail"]) for result in archive.verify_files(items)]


# --------------------------------------------------------------------------------------
# The chain of trust, end to end
# --------------------------------------------------------------------------------------

def test_statuses_of_verified_mismatch_not_in_package_and_not_in_archive(mirror):
    results = mirror.archive().verify_files([
        item("/usr/bin/tiny", sha(TINY)),
        item("/usr/bin/tiny", sha(b"#!/bin/sh\nrm -rf /\n")),
        item("/usr/bin/backdoor", sha(b"x")),
        item("/usr/bin/tiny", sha(TINY), version="1.0-1+really.fake"),
        item("/usr/share/doc/tiny/README", sha(b"doc\n"), package="tiny-doc", version="1:2.0"),
    ])
    assert [r["status"] for r in results] == ["verified", "mismatch", "not-in-package", "not-in-archive", "verified"]
    assert results[0]["detail"].startswith("sha256 %s as in %s/pool/main/t/tiny/tiny_1.0-1_amd64.deb" % (sha(TINY), URI))
    assert sha(TINY) in results[1]["detail"]
    assert results[3]["detail"] == "no signed source lists tiny 1.0-1+really.fake for amd64; the signed sources list 1.0-1 (%s)" % SUITE
    assert {k: results[0][k] for k in ("path", "package", "version")} == {"path": "/usr/bin/tiny", "package": "tiny", "version": "1.0-1"}


def test_version_equality_is_dpkg_equality_and_architecture_must_fit(mirror):
    archive = mirror.archive()
    assert archive.find("tiny", "0:1.0-1")["Filename"] == "pool/main/t/tiny/tiny_1.0-1_amd64.deb"
    assert archive.find("tiny-doc", "1:2.0")["Architecture"] == "all"
    assert archive.find("tiny-arm", "1.0") is None
    assert archive.find("tiny", "1.0-2") is None and archive.find("absent", "1") is None
    assert statuses(archive, [item("/usr/bin/arm", sha(b"arm\n"), package="tiny-arm", version="1.0")])[0][0] == "not-in-archive"


def test_one_deb_is_fetched_and_parsed_once_for_many_paths(mirror):
    archive = mirror.archive()
    results = archive.verify_files([item("/usr/bin/tiny", sha(TINY)), item("/usr/bin/tiny-hard", sha(TINY)),
                                    item("/etc/tiny.conf", sha(b"setting = 1\n")), item("/usr/bin/missing", "0" * 64)])
    assert [r["status"] for r in results] == ["verified", "verified", "verified", "not-in-package"]
    deb = "%s/pool/main/t/tiny/tiny_1.0-1_amd64.deb" % URI
    assert mirror.fetched.count(deb) == 1
    assert mirror.fetched.count("%s/dists/%s/InRelease" % (URI, SUITE)) == 1


def test_symlink_targets_are_compared_and_types_must_agree(mirror):
    got = statuses(mirror.archive(), [item("/usr/bin/tiny-link", target="tiny"), item("/usr/bin/tiny-link", target="/tmp/evil"),
                                      item("/usr/bin/tiny-link", sha(TINY)), item("/usr/bin/tiny", target="tiny"),
                                      item("/usr/bin/tiny")])
    assert [status for status, _detail in got] == ["verified", "mismatch", "mismatch", "mismatch", "unverifiable"]
    assert "symlink to /tmp/evil" in got[1][1] and "a symlink to tiny" in got[2][1]


def test_merged_usr_aliases_work_both_ways(mirror):
    got = statuses(mirror.archive(), [item("/usr/bin/oldstyle", sha(b"old\n")), item("/bin/oldstyle", sha(b"old\n")),
                                      item("/sbin/newstyle", sha(b"new\n")), item("/sbin/newstyle", sha(b"evil\n")),
                                      item("/usr/etc/tiny.conf", sha(b"setting = 1\n"))])
    assert [status for status, _detail in got] == ["verified", "verified", "verified", "mismatch", "not-in-package"]


def test_file_digests_of_regular_files_symlinks_and_hard_links(mirror):
    digests = mirror.archive().file_digests("tiny", "1.0-1")
    assert digests["/usr/bin/tiny"] == {"sha256": sha(TINY)} == digests["/usr/bin/tiny-hard"]
    assert digests["/usr/bin/tiny-link"] == {"target": "tiny"}
    assert "/usr/bin" not in digests and "/" not in digests
    assert mirror.archive().file_digests("tiny", "9") is None


# --------------------------------------------------------------------------------------
# Anything that breaks the chain is unverifiable, never verified
# --------------------------------------------------------------------------------------

def only_unverifiable(archive, match):
    got = statuses(archive, [item("/usr/bin/tiny", sha(TINY)), item("/usr/bin/tiny", sha(b"x")), item("/nothing", sha(b"x")),
                             item("/usr/bin/tiny", sha(TINY), version="6.6.6")])
    assert [status for status, _detail in got] == ["unverifiable"] * 4, got
    assert all(match in detail for _status, detail in got), got


def test_inrelease_signed_by_an_untrusted_key_is_unverifiable(mirror):
    dists = mirror.publish([("tiny", "1.0-1", "amd64", make_deb("tiny", "1.0-1", TINY_FILES))], signers=("other",))
    assert dists + "InRelease" in mirror.files
    only_unverifiable(mirror.archive(), "no good signature")


def test_inrelease_changed_after_signing_is_unverifiable(mirror):
    url = "%s/dists/%s/InRelease" % (URI, SUITE)
    mirror.files[url] = mirror.files[url].replace(b"Origin: Test", b"Origin: Evil")
    only_unverifiable(mirror.archive(), "no good signature")


def test_unsigned_text_around_the_signed_part_is_never_read(mirror):
    url = "%s/dists/%s/InRelease" % (URI, SUITE)
    fake = "SHA256:\n %s 1 main/binary-amd64/Packages\n\n" % ("0" * 64)
    mirror.files[url] = fake.encode() + mirror.files[url] + b"\n" + fake.encode()
    assert statuses(mirror.archive(), [item("/usr/bin/tiny", sha(TINY))])[0][0] == "verified"
    assert not any(u.endswith("/Packages") for u in mirror.fetched)


def test_two_signed_messages_in_one_inrelease_are_unverifiable(mirror):
    url = "%s/dists/%s/InRelease" % (URI, SUITE)
    evil = mirror.sign(b"Codename: %s\nSHA256:\n %s 1 main/binary-amd64/Packages\n" % (SUITE.encode(), b"0" * 64))
    mirror.files[url] += evil
    only_unverifiable(mirror.archive(), "no good signature")


def test_a_good_signature_next_to_one_by_an_unknown_key_is_accepted_like_apt_does(mirror):
    mirror.publish([("tiny", "1.0-1", "amd64", make_deb("tiny", "1.0-1", TINY_FILES))], signers=("other", "good"))
    assert statuses(mirror.archive(), [item("/usr/bin/tiny", sha(TINY))])[0][0] == "verified"


def test_missing_gpgv_or_keyring_is_unverifiable(mirror, tmp_path):
    only_unverifiable(mirror.archive(gpgv=str(tmp_path / "no-gpgv")), "cannot run")
    archive = da.DebianArchive([{"uri": URI, "suite": SUITE, "components": ["main"]}], keyring=str(tmp_path / "none.gpg"),
                               fetch=mirror.fetch, now=NOW)
    only_unverifiable(archive, "keyring")


def test_tampered_packages_is_unverifiable(mirror):
    url = "%s/dists/%s/main/binary-amd64/Packages.xz" % (URI, SUITE)
    text = lzma.decompress(mirror.files[url]).replace(b"Version: 1.0-1", b"Version: 6.6.6")
    mirror.files[url] = lzma.compress(text)
    only_unverifiable(mirror.archive(), "differs from the signed index")


def test_packages_not_in_the_signed_sha256_list_is_unverifiable(mirror):
    url = "%s/dists/%s/InRelease" % (URI, SUITE)
    text = mirror.files[url].decode()
    body = text.split("\n\n", 1)[1].split("-----BEGIN PGP SIGNATURE", 1)[0]
    mirror.files[url] = mirror.sign("\n".join(line for line in body.split("\n") if "Packages" not in line).encode())
    only_unverifiable(mirror.archive(), "no SHA256 list")


def test_tampered_deb_is_unverifiable(mirror):
    url = "%s/pool/main/t/tiny/tiny_1.0-1_amd64.deb" % URI
    original = mirror.files[url]
    mirror.files[url] = make_deb("tiny", "1.0-1", [("./usr/bin/tiny", b"#!/bin/sh\nevil\n")])
    got = statuses(mirror.archive(), [item("/usr/bin/tiny", sha(b"#!/bin/sh\nevil\n"))])
    assert got[0][0] == "unverifiable" and "the signed index says" in got[0][1]
    same_size = bytearray(original)  # one bit flipped: same size, other hash
    same_size[-5] ^= 1
    mirror.files[url] = bytes(same_size)
    got = statuses(mirror.archive(), [item("/usr/bin/tiny", sha(TINY))])
    assert got[0][0] == "unverifiable" and "differs from the signed index" in got[0][1]


def test_expired_valid_until_is_unverifiable_and_a_current_one_is_fine(mirror):
    mirror.publish([("tiny", "1.0-1", "amd64", make_deb("tiny", "1.0-1", TINY_FILES))], valid_until=NOW - 1)
    only_unverifiable(mirror.archive(), "expired")
    mirror.publish([("tiny", "1.0-1", "amd64", make_deb("tiny", "1.0-1", TINY_FILES))], valid_until=NOW + 3600)
    assert statuses(mirror.archive(), [item("/usr/bin/tiny", sha(TINY))])[0][0] == "verified"
    later = datetime.datetime.fromtimestamp(NOW + 7200, datetime.timezone.utc)
    only_unverifiable(mirror.archive(now=later), "expired")


def test_inrelease_of_another_suite_is_unverifiable(mirror):
    mirror.publish([("tiny", "1.0-1", "amd64", make_deb("tiny", "1.0-1", TINY_FILES))], codename="other-suite")
    only_unverifiable(mirror.archive(), "not %s" % SUITE)


def test_zstd_data_is_unverifiable_without_zstandard(mirror, monkeypatch):
    monkeypatch.setattr(da, "zstandard", None)
    mirror.publish([("tiny", "1.0-1", "amd64", make_deb("tiny", "1.0-1", [], data_name="data.tar.zst", data=b"(\xb5/\xfd"))])
    got = statuses(mirror.archive(), [item("/usr/bin/tiny", sha(TINY)), item("/usr/bin/other", sha(TINY))])
    assert [status for status, _detail in got] == ["unverifiable"] * 2 and all("zstandard" in detail for _status, detail in got)
    assert mirror.fetched.count("%s/pool/main/t/tiny/tiny_1.0-1_amd64.deb" % URI) == 1


def test_gz_and_plain_packages_are_used_when_xz_is_missing_or_broken(mirror):
    mirror.publish([("tiny", "1.0-1", "amd64", make_deb("tiny", "1.0-1", TINY_FILES))], compress=(".xz", ".gz", ""))
    del mirror.files["%s/dists/%s/main/binary-amd64/Packages.xz" % (URI, SUITE)]
    mirror.files["%s/dists/%s/main/binary-amd64/Packages.gz" % (URI, SUITE)] += b"junk"
    assert statuses(mirror.archive(), [item("/usr/bin/tiny", sha(TINY))])[0][0] == "verified"
    assert mirror.fetched[-2].endswith("/Packages") and mirror.fetched[-1].endswith(".deb")


def test_by_hash_is_preferred_when_the_release_offers_it(mirror):
    url = "%s/dists/%s/InRelease" % (URI, SUITE)
    packages = mirror.files["%s/dists/%s/main/binary-amd64/Packages.xz" % (URI, SUITE)]
    body = mirror.files[url].decode().split("\n\n", 1)[1].split("-----BEGIN PGP SIGNATURE", 1)[0]
    mirror.files[url] = mirror.sign(("Acquire-By-Hash: yes\n" + body).encode())
    mirror.files["%s/dists/%s/main/binary-amd64/by-hash/SHA256/%s" % (URI, SUITE, sha(packages))] = packages
    assert statuses(mirror.archive(), [item("/usr/bin/tiny", sha(TINY))])[0][0] == "verified"
    assert not any(u.endswith("/Packages.xz") for u in mirror.fetched)


def test_a_version_in_a_readable_source_is_verified_though_another_source_is_down(mirror):
    sources = [{"uri": "http://down.test/debian", "suite": SUITE, "components": ["main"]},
               {"uri": URI, "suite": SUITE, "components": ["main"]}]
    got = statuses(mirror.archive(sources=sources), [item("/usr/bin/tiny", sha(TINY)), item("/usr/bin/tiny", sha(TINY), version="2")])
    assert got[0][0] == "verified"
    # The unreadable source might list version 2: it is not declared absent.
    assert got[1][0] == "unverifiable" and "404 http://down.test/debian/dists/%s/InRelease" % SUITE in got[1][1]
    assert mirror.fetched.count("http://down.test/debian/dists/%s/InRelease" % SUITE) == 1


def test_cache_dir_serves_verified_downloads_and_is_not_trusted(mirror, tmp_path):
    cache = str(tmp_path / "cache")
    assert statuses(mirror.archive(cache_dir=cache), [item("/usr/bin/tiny", sha(TINY))])[0][0] == "verified"
    deb = mirror.files["%s/pool/main/t/tiny/tiny_1.0-1_amd64.deb" % URI]
    assert sorted(os.listdir(cache)) == sorted(sha(mirror.files[u]) for u in mirror.fetched)
    mirror.fetched[:] = []
    assert statuses(mirror.archive(cache_dir=cache), [item("/usr/bin/tiny", sha(TINY))])[0][0] == "verified"
    assert [u.rsplit("/", 1)[1] for u in mirror.fetched] == ["InRelease"]
    with open(os.path.join(cache, sha(deb)), "wb") as handle:
        handle.write(make_deb("tiny", "1.0-1", [("./usr/bin/tiny", b"evil")]))
    mirror.fetched[:] = []
    assert statuses(mirror.archive(cache_dir=cache), [item("/usr/bin/tiny", sha(TINY))])[0][0] == "verified"
    assert mirror.fetched[-1].endswith(".deb")


def test_downloads_are_bounded(mirror, monkeypatch):
    monkeypatch.setattr(da, "MAX_DOWNLOAD", 100)
    only_unverifiable(mirror.archive(), "more than 100 bytes")


def test_bad_items_and_bad_sources(mirror):
    got = mirror.archive().verify_files([{"path": "/usr/bin/tiny", "sha256": sha(TINY)}])
    assert got == [{"path": "/usr/bin/tiny", "package": None, "version": None, "status": "unverifiable",
                    "detail": "the item needs path, package and version"}]
    for bad in ({"uri": URI, "suite": SUITE}, {"uri": URI, "suite": SUITE, "components": "main"}, "http://x"):
        with pytest.raises(da.ArchiveError):
            da.DebianArchive([bad])


# --------------------------------------------------------------------------------------
# Parsers and helpers
# --------------------------------------------------------------------------------------

def test_default_sources():
    assert da.default_sources("trixie") == [
        {"uri": "http://deb.debian.org/debian", "suite": "trixie", "components": ["main"]},
        {"uri": "http://deb.debian.org/debian", "suite": "trixie-updates", "components": ["main"]},
        {"uri": "http://deb.debian.org/debian-security", "suite": "trixie-security", "components": ["main"]},
    ]


def test_path_aliases():
    assert da.path_aliases("/bin/ls") == ["/bin/ls", "/usr/bin/ls"]
    assert da.path_aliases("/usr/lib64/ld.so") == ["/usr/lib64/ld.so", "/lib64/ld.so"]
    assert da.path_aliases("/usr/share/x") == ["/usr/share/x"] and da.path_aliases("/binx/y") == ["/binx/y"]


def test_parse_release_checks_suite_expiry_and_sha256():
    text = "Suite: stable\nCodename: bookworm\nValid-Until: Sat, 01 Jan 2000 00:00:00 UTC\nSHA256:\n %s 12 main/x\n bad line\n" % ("a" * 64)
    assert da.parse_release(text, "stable", 946684799)[1] == {"main/x": ("a" * 64, 12)}
    assert da.parse_release(text, "bookworm", 0)[0]["Suite"] == "stable"
    for suite, now, message in (("bookworm", 946684801, "expired"), ("trixie", 0, "not trixie")):
        with pytest.raises(da.ArchiveError, match=message):
            da.parse_release(text, suite, now)
    with pytest.raises(da.ArchiveError, match="no SHA256"):
        da.parse_release("Codename: bookworm\nMD5Sum:\n %s 12 main/x\n" % ("a" * 32), "bookworm", 0)


def test_deb_digests_rejects_what_is_not_a_deb():
    data = tar_xz([("./x", b"x")])
    for bad, message in ((b"junk", "not an ar archive"), (ar([("data.tar.xz", data)]), "debian-binary"),
                         (ar([("debian-binary", b"2.0\n"), ("data.tar.xz", data)]), "members"),
                         (ar([("debian-binary", b"2.0\n"), ("control.tar.xz", data), ("data.tar.xz", b"garbage")]), "cannot read"),
                         (ar([("debian-binary", b"2.0\n")])[:-3], "truncated"), (b"!<arch>\nshort", "malformed")):
        with pytest.raises(da.ArchiveError, match=message):
            da.deb_digests(bad)


_NAME = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,15}\Z")
_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30).map(str.strip)
_VALUE = st.builds(lambda first, rest: "\n".join([first] + rest), _TEXT, st.lists(_TEXT.filter(bool), max_size=3))


@given(st.lists(st.dictionaries(_NAME, _VALUE, min_size=1, max_size=6), max_size=5))
def test_deb822_round_trip(stanzas):
    assert da.parse_deb822(deb822(stanzas)) == stanzas
    wanted = {"Package", "SHA256"}
    assert da.parse_deb822(deb822(stanzas), wanted) == [s for s in ({k: v for k, v in s.items() if k in wanted} for s in stanzas) if s]


@given(st.lists(st.tuples(st.from_regex(r"\A[A-Za-z0-9._-]{1,15}\Z"), st.binary(max_size=64)), max_size=6))
def test_ar_round_trip(members):
    assert da.parse_ar(ar(members)) == members
