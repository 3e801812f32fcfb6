import os
import stat

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils import textfile

metric_names = st.from_regex(r"\A[a-zA-Z_:][a-zA-Z0-9_:]{0,30}\Z")
label_names = st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9_]{0,15}\Z")
label_values = st.text(max_size=40)
values = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False, width=64))


@given(metric_names, st.dictionaries(label_names, label_values, max_size=4), values)
def test_render_parse_round_trip(name, labels, value):
    metric = textfile.Metric(name, "help for %s\nsecond line" % name).add(value, labels)
    parsed = textfile.parse(textfile.render([metric]))
    assert len(parsed) == 1
    got_name, got_labels, got_value = parsed[0]
    assert got_name == name
    assert got_labels == {k: str(v) for k, v in labels.items()}
    assert got_value == pytest.approx(float(value), rel=1e-12, abs=0)


@pytest.mark.parametrize("bad", ["", "1abc", "a-b", "a b", "métrique"])
def test_invalid_metric_name_rejected(bad):
    with pytest.raises(textfile.MetricError, match="invalid metric name"):
        textfile.Metric(bad, "help")


@pytest.mark.parametrize("bad", ["", "1x", "__reserved", "a-b"])
def test_invalid_label_name_rejected(bad):
    with pytest.raises(textfile.MetricError, match="invalid label name"):
        textfile.Metric("ok_metric", "help").add(1, {bad: "v"})


def test_help_and_type_lines_present():
    text = textfile.render([textfile.Metric("prodready_backup_last_success_timestamp_seconds", "Last success.").add(1700000000)])
    assert text.splitlines() == [
        "# HELP prodready_backup_last_success_timestamp_seconds Last success.",
        "# TYPE prodready_backup_last_success_timestamp_seconds gauge",
        "prodready_backup_last_success_timestamp_seconds 1700000000",
    ]


def test_duplicate_family_rejected():
    with pytest.raises(textfile.MetricError, match="appears twice"):
        textfile.render([textfile.Metric("a", "h"), textfile.Metric("a", "h")])


def test_unknown_type_and_missing_help_rejected():
    with pytest.raises(textfile.MetricError, match="invalid metric type"):
        textfile.Metric("a", "h", "gauges")
    with pytest.raises(textfile.MetricError, match="HELP"):
        textfile.Metric("a", "")


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    directory = str(tmp_path / "textfile")
    path = textfile.write_textfile("backup.prom", [textfile.Metric("x_total", "h", "counter").add(3)], directory=directory)
    assert os.listdir(directory) == ["backup.prom"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert textfile.read_textfile(path) == [("x_total", {}, 3.0)]
    textfile.write_textfile("backup.prom", [textfile.Metric("x_total", "h", "counter").add(4)], directory=directory)
    assert textfile.read_textfile(path) == [("x_total", {}, 4.0)]
    assert os.listdir(directory) == ["backup.prom"]


def test_failed_render_keeps_previous_file(tmp_path):
    directory = str(tmp_path)
    textfile.write_textfile("a.prom", [textfile.Metric("keep_me", "h").add(1)], directory=directory)
    with pytest.raises(textfile.MetricError):
        textfile.write_textfile("a.prom", [textfile.Metric("dup", "h"), textfile.Metric("dup", "h")], directory=directory)
    assert textfile.read_textfile(os.path.join(directory, "a.prom")) == [("keep_me", {}, 1.0)]


@pytest.mark.parametrize("bad", ["a.txt", "../a.prom", "a/b.prom", ".prom "])
def test_bad_file_names_rejected(bad, tmp_path):
    with pytest.raises(textfile.MetricError, match="textfile name"):
        textfile.write_textfile(bad, [], directory=str(tmp_path))


def test_parse_rejects_garbage():
    with pytest.raises(textfile.MetricError):
        textfile.parse("not a metric line at all {")


def test_special_values():
    text = textfile.render([textfile.Metric("v", "h").add(float("inf"), {"k": "a"}).add(float("nan"), {"k": "b"}).add(True, {"k": "c"})])
    assert "v{k=\"a\"} +Inf" in text and "v{k=\"b\"} NaN" in text and "v{k=\"c\"} 1" in text
