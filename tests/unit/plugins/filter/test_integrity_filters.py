import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.filter import integrity as filters
from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing

kinds = st.sampled_from(common.VIOLATION_KINDS)
paths = st.from_regex(r"\A/[a-z0-9|`_ -]{1,20}\Z")
violations = st.lists(st.fixed_dictionaries({"path": paths, "kind": kinds,
                                             "reasons": st.lists(st.sampled_from(["content", "mode", "ctime"]), max_size=3)}),
                      max_size=30)


def result_of(items, **extra):
    result = {"level": "standard", "violations": items, "files_checked": 10, "duration_seconds": 0.5}
    result.update(extra)
    return result


@given(violations)
def test_summary_counts_every_violation(items):
    text = filters.integrity_summary(result_of(items))
    assert text.startswith("standard: ")
    if not items:
        assert text == "standard: clean (10 entries, 0.50 s)"
    else:
        assert ("%d violation" % len(items)) in text
        for kind in set(v["kind"] for v in items):
            assert "%s %d" % (kind, sum(1 for v in items if v["kind"] == kind)) in text


@given(violations, st.integers(0, 40))
def test_violation_list_respects_limit(items, limit):
    lines = filters.integrity_violations(result_of(items), limit=limit).splitlines()
    shown = min(limit, len(items))
    assert len(lines) == shown + (1 if len(items) > limit else 0)
    if len(items) > limit:
        assert lines[-1] == "... and %d more" % (len(items) - limit)


@given(violations)
def test_markdown_table_has_one_row_per_violation_and_escapes_pipes(items):
    lines = filters.integrity_violations(result_of(items), format="markdown", limit=100).splitlines()
    assert len(lines) == 2 + len(items)
    for line in lines[2:]:
        assert line.count("|") - line.count("\\|") == 4


def test_violation_list_orders_by_severity():
    items = [{"path": "/b", "kind": "added", "reasons": ["added"]},
             {"path": "/a", "kind": "signature", "reasons": ["signature"]}]
    assert filters.integrity_violations(result_of(items)).splitlines()[0].startswith("SIGNATURE")


def test_bad_input_is_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="integrity_verify result"):
        filters.integrity_summary("nope")
    with pytest.raises(AnsibleFilterError, match="format must be"):
        filters.integrity_violations(result_of([]), format="html")
    with pytest.raises(AnsibleFilterError, match="not a prodready integrity manifest"):
        filters.integrity_manifest_diff("garbage", "garbage")


entry = st.fixed_dictionaries({"type": st.just("file"), "size": st.integers(0, 100), "mode": st.sampled_from([0o644, 0o600, 0o4755]),
                               "uid": st.integers(0, 2), "gid": st.integers(0, 2), "mtime_ns": st.integers(0, 3),
                               "ctime_ns": st.integers(0, 3), "inode": st.integers(0, 3),
                               "sha256": st.sampled_from(["a" * 64, "b" * 64])})
manifests = st.dictionaries(st.from_regex(r"\A/srv/[a-z]{1,6}\Z"), entry, max_size=8)


@given(manifests, manifests)
def test_manifest_diff_partitions_paths(old_entries, new_entries):
    old = manifest.build_manifest(old_entries, ["/srv"], host="a", created="x")
    new = manifest.build_manifest(new_entries, ["/srv"], host="a", created="y")
    diff = filters.integrity_manifest_diff(old, new)
    assert set(diff["added"]) == set(new_entries) - set(old_entries)
    assert set(diff["removed"]) == set(old_entries) - set(new_entries)
    changed = set(p for p in set(old_entries) & set(new_entries) if old_entries[p] != new_entries[p])
    assert set(c["path"] for c in diff["changed"]) == changed
    assert diff["same"] == (old_entries == new_entries)
    assert filters.integrity_manifest_diff(old, old) == {"added": [], "removed": [], "changed": [], "same": True}


def test_manifest_diff_accepts_signed_text():
    key = signing.generate_private_key_text()
    old = manifest.sign_manifest(manifest.build_manifest({}, ["/srv"]), key).decode()
    new_body = manifest.build_manifest({"/srv/x": {"type": "file", "size": 1, "mode": 420, "uid": 0, "gid": 0,
                                                   "mtime_ns": 1, "ctime_ns": 1, "inode": 1, "sha256": "a" * 64}}, ["/srv"])
    new = manifest.sign_manifest(new_body, key).decode()
    assert filters.integrity_manifest_diff(old, new)["added"] == ["/srv/x"]
    assert set(filters.FilterModule().filters()) == {"integrity_summary", "integrity_violations", "integrity_manifest_diff",
                                                     "integrity_host_key", "integrity_public_key", "integrity_key_id"}


def test_host_keys_are_derived_per_host_and_refuse_a_short_secret():
    secret = "s" * 40
    a, b = filters.integrity_host_key(secret, "app1"), filters.integrity_host_key(secret, "app2")
    assert a != b and a == filters.integrity_host_key(secret, "app1")
    assert filters.integrity_public_key(a) == signing.public_key_text(signing.load_private_key(a))
    assert filters.integrity_public_key(a) != filters.integrity_public_key(b)
    with pytest.raises(AnsibleFilterError, match="at least 32"):
        filters.integrity_host_key("short", "app1")
    with pytest.raises(AnsibleFilterError):
        filters.integrity_public_key("not a key")
    # The id a manifest names its signer by, of the public key.
    assert filters.integrity_key_id(filters.integrity_public_key(a)) == signing.key_id(signing.load_private_key(a))
    with pytest.raises(AnsibleFilterError):
        filters.integrity_key_id("not a key")
