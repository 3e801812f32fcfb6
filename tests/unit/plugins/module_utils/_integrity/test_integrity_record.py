"""The integrity library: the confirmation record and the off-host copy (_integrity/record.py, offhost.py)."""
import time

import pytest

from ansible_collections.prodready.platform.plugins.module_utils._integrity import baseline
from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import offhost
from ansible_collections.prodready.platform.plugins.module_utils._integrity import record as record_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import scan
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing


def test_tree_metadata_unchanged_covers_the_system_groups(tmp_path):
    root, units = tmp_path / "root", tmp_path / "units"
    root.mkdir()
    units.mkdir()
    (root / "a").write_text("a")
    (units / "x.service").write_text("[Unit]\n")
    system_paths = {"units": [str(units)], "sudoers": [str(tmp_path / "absent")]}
    body = baseline.create_baseline([str(root)], system_paths=system_paths, packages=False, package_owners=False)[0]
    assert "sha256" in body["system"]["units"][str(units / "x.service")]
    assert "sha256" not in scan.scan_system(system_paths, hashes=False)["units"][str(units / "x.service")]
    assert record_lib.tree_metadata_unchanged(body, [str(root)], None, system_paths)
    assert not record_lib.tree_metadata_unchanged(body, [str(root)], None, {})  # system checks switched off
    time.sleep(0.02)
    (units / "y.service").write_text("[Unit]\n")
    assert not record_lib.tree_metadata_unchanged(body, [str(root)], None, system_paths)
    assert not record_lib.tree_metadata_unchanged(body, [str(tmp_path / "gone")], None, system_paths)


def test_confirmation_record_round_trip_and_tampering():
    key = signing.load_private_key(signing.generate_private_key_text())
    data = record_lib.sign_record({"manifest_sha256": "ab" * 32, "n": 1}, key)
    assert record_lib.load_record(data, key) == {"manifest_sha256": "ab" * 32, "n": 1}
    assert record_lib.load_record(data.replace(b'"n":1', b'"n":2'), key) is None
    assert record_lib.load_record(b"not a record", key) is None
    assert record_lib.load_record(data, signing.load_private_key(signing.generate_private_key_text())) is None
    assert record_lib.dpkg_status_digest("/nonexistent-dpkg-dir") is None


def test_an_unreachable_s3_endpoint_is_an_integrity_error():
    """A closed port is not an S3 answer: callers (the baseline action, the monitor's full level)
    get an IntegrityError they report, not a botocore traceback."""
    pytest.importorskip("boto3")
    options = {"endpoint_url": "http://127.0.0.1:9", "bucket": "b", "key": "k", "access_key": "a", "secret_key": "s"}
    with pytest.raises(common.IntegrityError, match="cannot reach the S3 endpoint"):
        offhost.s3_get(options)
    with pytest.raises(common.IntegrityError):
        offhost.s3_put(options, b"x")
