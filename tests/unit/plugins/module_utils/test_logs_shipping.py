import json

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils import textfile
from ansible_collections.prodready.platform.plugins.module_utils._logs import shipping

host_names = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}(\.[a-z0-9-]{1,10}){0,2}\Z")


@pytest.mark.parametrize("file_name, sender", [
    ("remote-CN=web1.journal", "web1"),
    ("remote-CN=web1@0123abcd-0000000000000001-0005f1e2d3c4b5a6.journal", "web1"),
    ("remote-CN=web1@0123abcd-0000000000000001-0005f1e2d3c4b5a6.journal~", "web1"),
    ("remote-CN=web1,O=prodready.journal", "web1"),
    ("remote-O=prodready,CN=db.example.org.journal", "db.example.org"),
    ("remote-172.30.100.140.journal", "172.30.100.140"),
    ("remote-172.30.100.140@0123abcd-0000000000000001-0005f1e2d3c4b5a6.journal", "172.30.100.140"),
    ("remote-[fd00::5].journal", "[fd00::5]"),
    ("remote.journal", None),
    ("system.journal", None),
    ("remote-web1.journal.tmp", None),
    (".#remote-web1.journalXYZ", None),
])
def test_sender_of(file_name, sender):
    assert shipping.sender_of(file_name) == sender


@given(host_names, st.booleans(), st.booleans())
def test_sender_of_round_trip(host, archived, unclean):
    name = "remote-CN=%s%s.journal%s" % (host, "@a-1-2" if archived else "", "~" if unclean else "")
    assert shipping.sender_of(name) == host


def test_group_by_sender_keeps_archives_with_their_sender():
    files = ["remote-CN=b.journal", "remote-CN=a@x-1-2.journal", "remote-CN=a.journal", "other.txt"]
    assert shipping.group_by_sender(files) == {
        "a": ["remote-CN=a.journal", "remote-CN=a@x-1-2.journal"],
        "b": ["remote-CN=b.journal"],
    }


def test_parse_last_entry_takes_the_newest_and_skips_noise():
    text = "\n".join([
        "-- No entries --",
        json.dumps({"__REALTIME_TIMESTAMP": "1700000000000000", "_HOSTNAME": "a"}),
        "not json {",
        "{broken",
        json.dumps({"__REALTIME_TIMESTAMP": "1700000005500000", "_HOSTNAME": "a"}),
        json.dumps({"__REALTIME_TIMESTAMP": 5}),
        "",
    ])
    seconds, hostname = shipping.parse_last_entry(text)
    assert seconds == pytest.approx(1700000005.5)
    assert hostname == "a"


@given(st.text())
def test_parse_last_entry_never_raises(text):
    seconds, hostname = shipping.parse_last_entry(text)
    assert (seconds is None) == (hostname is None)
    assert seconds is None or seconds >= 0


def test_parse_last_entry_empty():
    assert shipping.parse_last_entry("") == (None, None)


def test_build_metrics_renders_for_the_textfile_contract():
    metrics = shipping.build_metrics({"10.0.0.5": (1700000005.5, "web1"), "b": (None, None)}, {"10.0.0.5": 8388608, "b": 4096})
    samples = textfile.parse(textfile.render(metrics))
    assert (shipping.LAST_ENTRY_METRIC, {"sender": "10.0.0.5", "hostname": "web1"}, 1700000005.5) in samples
    # b has a journal but no readable entry yet: no timestamp, which would read as "just now" or 1970.
    assert not [s for s in samples if s[0] == shipping.LAST_ENTRY_METRIC and s[1] == {"sender": "b"}]
    assert (shipping.BYTES_METRIC, {"sender": "b"}, 4096.0) in samples
    assert (shipping.SENDERS_METRIC, {}, 2.0) in samples
