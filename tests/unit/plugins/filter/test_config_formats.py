import math
import subprocess
import tomllib

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.filter.config_formats import FilterModule, to_env, to_toml

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
    assert set(FilterModule().filters()) == {"to_toml", "to_env"}
