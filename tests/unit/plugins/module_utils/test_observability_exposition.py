"""The Prometheus text exposition reader (module_utils/_observability/exposition.py)."""
import math

import pytest
from hypothesis import given, strategies as st

from ansible_collections.prodready.platform.plugins.module_utils._observability import exposition

PAGE = """# HELP prodready_demo_http_errors_total HTTP requests answered with a 5xx status, by path.
# TYPE prodready_demo_http_errors_total counter
prodready_demo_http_errors_total{path="/"} 3
prodready_demo_http_errors_total{path="/api/records"} 2 1712345678000
prodready_demo_build_info{version="1.0.0",name="a \\"quoted\\" name"} 1

up 1
weird_value{a="b"} NaN
inf_value +Inf
"""


def test_reads_names_labels_values_and_timestamps():
    samples = exposition.parse_samples(PAGE)
    assert samples[0] == ("prodready_demo_http_errors_total", {"path": "/"}, 3.0)
    assert samples[1] == ("prodready_demo_http_errors_total", {"path": "/api/records"}, 2.0)
    assert samples[2][1] == {"version": "1.0.0", "name": 'a "quoted" name'}
    assert samples[3] == ("up", {}, 1.0)
    assert math.isnan(samples[4][2])
    assert samples[5][2] == math.inf


def test_counter_total_sums_every_label_set_and_skips_nan():
    assert exposition.counter_total(PAGE, ["prodready_demo_http_errors_total"]) == (5.0, 2)
    assert exposition.counter_total(PAGE, ["weird_value"]) == (0.0, 0)
    # A family the page does not show yet adds nothing (no error answered so far).
    assert exposition.counter_total(PAGE, ["absent_total"]) == (0.0, 0)


@pytest.mark.parametrize("line", ["not a sample", "metric{a=b} 1", "metric 1 2 3", "metric{a=\"b\"} one"])
def test_a_line_that_is_no_sample_names_its_line(line):
    with pytest.raises(exposition.ExpositionError, match="line 2"):
        exposition.parse_samples("# comment\n" + line + "\n")


NAMES = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True)
LABEL_NAMES = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True)
LABEL_VALUES = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=15)
VALUES = st.floats(allow_nan=False, allow_infinity=False, width=64)


def render(name, labels, value):
    def escape(text):
        return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    inner = ",".join('%s="%s"' % (key, escape(val)) for key, val in labels.items())
    return "%s%s %r" % (name, "{%s}" % inner if labels else "", value)


@given(st.lists(st.tuples(NAMES, st.dictionaries(LABEL_NAMES, LABEL_VALUES, max_size=3), VALUES), max_size=8))
def test_what_is_rendered_reads_back(samples):
    page = "\n".join(["# TYPE x counter"] + [render(*sample) for sample in samples]) + "\n"
    assert exposition.parse_samples(page) == [(name, labels, value) for name, labels, value in samples]


@given(st.text(max_size=200))
def test_any_text_parses_or_raises_exposition_error(text):
    try:
        exposition.parse_samples(text)
    except exposition.ExpositionError:
        pass
