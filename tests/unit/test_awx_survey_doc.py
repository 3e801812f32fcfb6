"""docs/awx.md offers survey choices the roles accept: a choice argument_specs reject would fail the
job at validation (issue 25: `canary` was offered for service_strategy, which has no such choice)."""
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHOICE_RE = re.compile(r"`(?P<name>[a-z_]+)` \(multiple choice: (?P<choices>[^)]+)\)")


def role_options():
    """Every entry point option of every role: name -> its spec (first definition wins)."""
    options = {}
    for spec_file in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        specs = yaml.safe_load(spec_file.read_text())["argument_specs"]
        for entry in specs.values():
            for name, spec in (entry.get("options") or {}).items():
                options.setdefault(name, spec)
    return options


def offered_choices():
    text = (ROOT / "docs" / "awx.md").read_text()
    return [(match["name"], [choice.strip() for choice in re.split(r"[,/]", match["choices"])])
            for match in CHOICE_RE.finditer(text)]


def test_the_doc_offers_multiple_choice_fields():
    names = [name for name, dummy in offered_choices()]
    assert "service_strategy" in names and "compliance_gate_enabled" in names


def test_every_offered_choice_is_accepted_by_the_roles():
    options = role_options()
    for name, choices in offered_choices():
        assert name in options, "docs/awx.md offers %s, which no role's argument_specs defines" % name
        spec = options[name]
        if spec.get("type") == "bool":
            assert set(choices) <= {"true", "false"}, (name, choices)
            continue
        assert "choices" in spec, "docs/awx.md offers choices for %s, a free %s in argument_specs" % (name, spec.get("type"))
        refused = [choice for choice in choices if choice not in [str(value) for value in spec["choices"]]]
        assert not refused, "docs/awx.md offers %s=%s, which argument_specs refuse" % (name, refused)
