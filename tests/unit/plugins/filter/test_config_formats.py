import math
import subprocess
import tomllib

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.filter.config_formats import FilterModule, logrotate_files, to_env, to_toml

keys = st.text(min_size=1, max_size=12)
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-2**63, max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=20,
)
documents = st.dictionaries(keys, values, max_size=6)


@given(documents)
def test_toml_round_trips_through_tomllib(doc):
    assert tomllib.loads(to_toml(doc)) == doc


def test_tables_and_arrays_of_tables():
    doc = {"name": "demo", "port": 8080, "ratio": 1.0, "server": {"tls": {"enabled": True}},
           "backends": [{"host": "a", "port": 1}, {"host": "b", "port": 2}], "tags": ["x", "y"],
           "weird key": "v", "empty": {}}
    text = to_toml(doc)
    assert 'name = "demo"' in text
    assert "ratio = 1.0" in text
    assert "[server.tls]" in text
    assert "[[backends]]" in text
    assert '"weird key" = "v"' in text
    assert tomllib.loads(text) == doc


def test_special_floats_and_escapes():
    text = to_toml({"a": float("inf"), "b": float("-inf"), "c": 'quote " and \\ and \n and \x01'})
    parsed = tomllib.loads(text)
    assert parsed["a"] == math.inf and parsed["b"] == -math.inf
    assert parsed["c"] == 'quote " and \\ and \n and \x01'


def test_none_is_an_error_naming_the_key_unless_skipped():
    with pytest.raises(Exception, match=r"db\.path is null"):
        to_toml({"db": {"path": None}})
    assert tomllib.loads(to_toml({"db": {"path": None, "x": 1}}, skip_none=True)) == {"db": {"x": 1}}


def test_non_dict_input_rejected():
    with pytest.raises(Exception, match="expects a dictionary"):
        to_toml(["a"])


env_values = st.one_of(st.booleans(), st.integers(), st.text(alphabet=st.characters(
    blacklist_characters="\n\r\x00", blacklist_categories=("Cs",)), max_size=30))


@given(st.dictionaries(st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,10}\Z"), env_values, max_size=5))
def test_env_file_is_read_back_by_a_shell(doc):
    text = to_env(doc)
    script = text + "".join('printf "%%s\\0" "${%s}"\n' % key for key in doc)
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True).stdout
    got = out.split(b"\0")[:-1] if doc else []
    expected = [("true" if v else "false") if isinstance(v, bool) else str(v) for v in doc.values()]
    assert [g.decode("utf-8", "surrogateescape") for g in got] == expected


def test_env_rejects_bad_names_and_newlines():
    with pytest.raises(Exception, match="not a valid variable name"):
        to_env({"1BAD": "x"})
    with pytest.raises(Exception, match="newline"):
        to_env({"OK": "a\nb"})
    with pytest.raises(Exception, match="must be a string"):
        to_env({"OK": [1]})


def test_filter_module_exports():
    assert set(FilterModule().filters()) == {"to_toml", "to_env", "logrotate_files"}


def test_logrotate_files_one_checked_file_per_policy():
    files = logrotate_files([
        {"name": "services", "paths": ["/var/log/prodready/*.log"], "days": 30},
        {"name": "app", "paths": ["/var/log/app/a.log", "/srv/my logs/b.log"], "days": 60, "frequency": "weekly",
         "compress": False, "create": "0640 app adm", "postrotate": "systemctl kill -s HUP app.service"},
    ], header="# managed")
    assert [f["path"] for f in files] == ["/etc/logrotate.d/prodready-services", "/etc/logrotate.d/prodready-app"]
    assert all(f["validate"] == "/usr/sbin/logrotate --debug %s" for f in files)
    assert files[0]["content"] == (
        "# managed\n"
        '# Retention policy "services" (role compliance): 30 days.\n'
        "/var/log/prodready/*.log {\n    daily\n    rotate 30\n    maxage 30\n    missingok\n    notifempty\n"
        "    compress\n    delaycompress\n    dateext\n}\n")
    app = files[1]["content"]
    # 60 days at one rotation a week: 9 rotations cover them.
    assert '/var/log/app/a.log "/srv/my logs/b.log" {' in app and "    weekly\n    rotate 9\n    maxage 60\n" in app
    assert "compress" not in app
    assert "    create 0640 app adm\n" in app
    assert "    sharedscripts\n    postrotate\n        systemctl kill -s HUP app.service\n    endscript\n}" in app


@pytest.mark.parametrize("policy, message", [
    ({"name": "Bad Name", "paths": ["/x.log"], "days": 1}, "lower case"),
    ({"name": "a", "paths": [], "days": 1}, "non-empty list"),
    ({"name": "a", "paths": ["x.log"], "days": 1}, "absolute path"),
    ({"name": "a", "paths": ["/x{y}.log"], "days": 1}, "brace"),
    ({"name": "a", "paths": ["/x.log"], "days": 0}, "at least 1"),
    ({"name": "a", "paths": ["/x.log"], "days": "many"}, "whole number"),
    ({"name": "a", "paths": ["/x.log"], "days": 1, "frequency": "hourly"}, "frequency"),
    ({"name": "a", "paths": ["/x.log"], "days": 1, "postrotate": "a\nb"}, "one line"),
])
def test_logrotate_files_refuses_bad_policies(policy, message):
    with pytest.raises(Exception, match=message):
        logrotate_files([policy])


def test_logrotate_files_refuses_a_name_used_twice():
    with pytest.raises(Exception, match="used twice"):
        logrotate_files([{"name": "a", "paths": ["/x.log"], "days": 1}, {"name": "a", "paths": ["/y.log"], "days": 1}])
