"""The integrity library: the signed manifest format and keys (_integrity/manifest.py, signing.py)."""
import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing
from ansible_collections.prodready.platform.plugins.module_utils._integrity import verify

KEY = signing.generate_private_key_text()
PUB = signing.public_key_text(signing.load_private_key(KEY))
OTHER_KEY = signing.generate_private_key_text()
OTHER_PUB = signing.public_key_text(signing.load_private_key(OTHER_KEY))

segments = st.from_regex(r"\A[a-zA-Z0-9_.-]{1,12}\Z").filter(lambda s: s not in (".", ".."))
abs_paths = st.lists(segments, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))
entry_strategy = st.fixed_dictionaries({
    "type": st.sampled_from(["file", "dir", "symlink", "other"]),
    "size": st.integers(0, 2 ** 40),
    "mode": st.integers(0, 0o7777),
    "uid": st.integers(0, 2 ** 32 - 1),
    "gid": st.integers(0, 2 ** 32 - 1),
    "mtime_ns": st.integers(0, 2 ** 63 - 1),
    "ctime_ns": st.integers(0, 2 ** 63 - 1),
    "inode": st.integers(0, 2 ** 64 - 1),
    "sha256": st.text("0123456789abcdef", min_size=64, max_size=64),
})


# ---------------------------------------------------------------- manifest format

def _body(entries):
    return manifest.build_manifest(entries, ["/srv"], host="h", created="2026-01-01T00:00:00Z")


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(abs_paths, entry_strategy, max_size=8))
def test_manifest_round_trip(entries):
    body = _body(entries)
    data = manifest.sign_manifest(body, KEY)
    assert manifest.load_manifest(data, PUB) == json.loads(json.dumps(body))
    assert manifest.load_manifest_unverified(data) == body
    assert manifest.manifest_header(data)["format_version"] == common.FORMAT_VERSION


SMALL = manifest.sign_manifest(_body({"/srv/a": {"type": "file", "size": 1, "mode": 420, "uid": 0, "gid": 0,
                                                 "mtime_ns": 1, "ctime_ns": 2, "inode": 3, "sha256": "0" * 64}}), KEY)


@settings(max_examples=400)
@given(st.integers(0, len(SMALL) - 1), st.integers(1, 255))
def test_any_byte_flip_fails(position, mask):
    flipped = bytearray(SMALL)
    flipped[position] ^= mask
    with pytest.raises(common.ManifestError):
        manifest.load_manifest(bytes(flipped), PUB)


def test_wrong_key_refused():
    with pytest.raises(common.SignatureError, match="not a trusted key"):
        manifest.load_manifest(SMALL, OTHER_PUB)
    # Key rotation: any trusted key in the list verifies.
    assert manifest.load_manifest(SMALL, [OTHER_PUB, PUB])["host"] == "h"


def test_forged_key_id_still_fails():
    header, body = SMALL.split(b"\n", 1)
    forged = manifest.sign_manifest(json.loads(body), OTHER_KEY)
    fake_header = json.loads(forged.split(b"\n", 1)[0])
    fake_header["key_id"] = signing.key_id(signing.load_public_key(PUB))
    data = manifest.canonical_json(fake_header) + b"\n" + forged.split(b"\n", 1)[1]
    with pytest.raises(common.SignatureError, match="does not verify"):
        manifest.load_manifest(data, PUB)


def test_newer_format_version_refused():
    body = _body({})
    body["format_version"] = common.FORMAT_VERSION + 1
    data = manifest.sign_manifest(body, KEY)
    with pytest.raises(common.UnsupportedVersionError, match="newer than this library supports"):
        manifest.load_manifest(data, PUB)
    with pytest.raises(common.UnsupportedVersionError):
        verify.verify(data, PUB, "minimal")


def test_garbage_is_a_clear_error():
    for data in (b"", b"{}\n{}\n", b"not json\n{}\n", SMALL + b"\n"):
        with pytest.raises(common.ManifestError):
            manifest.load_manifest(data, PUB)


@pytest.mark.parametrize("text", [KEY, "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", "AAAA"])
def test_key_loading(text):
    if text == KEY:
        assert signing.public_key_text(signing.load_private_key(text)) == PUB
    else:
        with pytest.raises(common.ConfigError):
            signing.load_private_key(text)


def test_pem_keys_are_accepted():
    from cryptography.hazmat.primitives import serialization
    key = signing.load_private_key(KEY)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    data = manifest.sign_manifest(_body({}), pem.decode())
    assert manifest.load_manifest(data, pub_pem.decode())["host"] == "h"


def test_keys_are_base64_of_32_bytes():
    assert len(base64.b64decode(KEY)) == 32 and len(base64.b64decode(PUB)) == 32
    assert len(signing.key_id(signing.load_public_key(PUB))) == 16
