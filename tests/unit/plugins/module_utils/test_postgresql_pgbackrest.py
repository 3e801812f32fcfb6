"""pgBackRest info and pg_stat_archiver as textfile metrics."""

import json

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils import textfile
from ansible_collections.prodready.platform.plugins.module_utils._postgresql import pgbackrest

# The shape pgBackRest 2.45 prints (trimmed to what is read).
INFO = [{
    "name": "main", "status": {"code": 0, "message": "ok"},
    "archive": [{"id": "15-1", "max": "000000010000000000000007", "min": "000000010000000000000001"}],
    "backup": [
        {"label": "20261206-010000F", "type": "full", "error": False, "timestamp": {"start": 1000, "stop": 1100}},
        {"label": "20261206-010000F_20261207-010000D", "type": "diff", "error": False, "timestamp": {"start": 2000, "stop": 2050}},
        {"label": "20261208-010000F", "type": "full", "error": False, "timestamp": {"start": 3000, "stop": 3300}},
        {"label": "broken", "type": "full", "error": True, "timestamp": {"start": 4000, "stop": 4400}},
    ],
}]


def test_info_gives_the_newest_backup_of_each_type():
    info = pgbackrest.parse_info(json.dumps(INFO), "main")
    text = textfile.render(pgbackrest.metrics("main", True, 5000, info, pgbackrest.parse_archiver("4990.5||0")))
    assert 'prodready_pgbackrest_backup_last_timestamp_seconds{stanza="main",type="full"} 3300' in text
    assert 'prodready_pgbackrest_backup_last_timestamp_seconds{stanza="main",type="diff"} 2050' in text
    assert 'prodready_pgbackrest_backups{stanza="main"} 4' in text
    assert 'prodready_pgbackrest_check_success{stanza="main"} 1' in text
    assert 'prodready_postgresql_archive_last_success_timestamp_seconds{stanza="main"} 4990.5' in text
    assert "prodready_postgresql_archive_last_failure_timestamp_seconds" not in text


def test_a_failed_check_and_unreadable_repository_are_reported_not_raised():
    text = textfile.render(pgbackrest.metrics("main", False, 5000, None, None))
    assert 'prodready_pgbackrest_check_success{stanza="main"} 0' in text
    assert 'prodready_pgbackrest_info_success{stanza="main"} 0' in text
    assert "backup_last" not in text


@pytest.mark.parametrize("text, message", [
    ("not json", "not JSON"),
    ("{}", "list of stanzas"),
    (json.dumps([{"name": "other"}]), "does not list stanza main"),
])
def test_unreadable_info_is_named(text, message):
    with pytest.raises(pgbackrest.InfoError, match=message):
        pgbackrest.parse_info(text, "main")


@pytest.mark.parametrize("text", ["", "1|2", "a|b|c", "1|2|3|4"])
def test_unreadable_archiver_row_is_named(text):
    with pytest.raises(pgbackrest.InfoError):
        pgbackrest.parse_archiver(text)


@given(st.lists(st.fixed_dictionaries({
    "type": st.sampled_from(["full", "diff", "incr", "weird"]),
    "error": st.booleans(),
    "timestamp": st.fixed_dictionaries({"stop": st.integers(min_value=0, max_value=2 ** 40)}),
}), max_size=10))
def test_newest_is_the_maximum_stop_of_good_backups(backups):
    newest, count = pgbackrest.last_backups({"backup": backups})
    assert count == len(backups)
    for kind in ("full", "diff", "incr"):
        stops = [b["timestamp"]["stop"] for b in backups if b["type"] == kind and not b["error"]]
        assert newest.get(kind) == (max(stops) if stops else None)
    textfile.render(pgbackrest.metrics("main", True, 1, {"backup": backups, "status": {"code": 0}}, None))


@pytest.mark.parametrize("status, backups, initial, actions", [
    (1, [], True, ["stanza-create", "backup"]),
    (3, [], False, ["stanza-create"]),
    (2, [], True, ["backup"]),
    (2, [], False, []),
    (0, [{"type": "full", "error": False}], True, []),
    (0, [{"type": "full", "error": True}], True, ["backup"]),
])
def test_stanza_actions(status, backups, initial, actions):
    info = {"name": "main", "status": {"code": status, "message": "x"}, "backup": backups}
    assert pgbackrest.stanza_actions(info, initial) == actions


@pytest.mark.parametrize("status", [4, 5, 99, None])
def test_unrepairable_status_is_an_error_with_pgbackrests_message(status):
    with pytest.raises(pgbackrest.InfoError, match="database mismatch"):
        pgbackrest.stanza_actions({"name": "main", "status": {"code": status, "message": "database mismatch"}}, True)
