"""prodready.platform.template renders exactly what ansible.builtin.template renders, without the
deep copy of every task variable per file (see plugins/lookup/template.py)."""
import copy
import json

from ansible_collections.prodready.platform.plugins.lookup.template import _ShallowDeepcopy


TEMPLATE = """\
{{ ansible_managed }}
greeting={{ greeting }} sum={{ nested.numbers | sum }} path={{ template_path | basename }}
{% if extra is defined %}
extra={{ extra }}
{% endif %}
{% set greeting = 'shadowed inside the template' %}
local={{ greeting }}
{% raw %}{{ not a template }}{% endraw %}
"""

PLAYBOOK = """\
- name: Render one template with both lookups
  hosts: localhost
  gather_facts: false
  vars:
    greeting: hello
    nested: {numbers: [1, 2, 3]}
  tasks:
    - name: Render
      ansible.builtin.set_fact:
        rendered:
          ours: "{{ lookup('prodready.platform.template', 'example.j2', template_vars={'extra': 'x'}) }}"
          builtin: "{{ lookup('ansible.builtin.template', 'example.j2', template_vars={'extra': 'x'}) }}"
          ours_no_extra: "{{ lookup('prodready.platform.template', 'example.j2', trim_blocks=false) }}"
          builtin_no_extra: "{{ lookup('ansible.builtin.template', 'example.j2', trim_blocks=false) }}"
    - name: Save what was rendered and what the variables are afterwards
      ansible.builtin.copy:
        dest: "{{ playbook_dir }}/out.json"
        content: "{{ rendered | combine({'greeting_after': greeting, 'nested_after': nested}) | to_json }}"
        mode: "0644"
"""


def render(tmp_path, run_playbook):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "example.j2").write_text(TEMPLATE)
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    run_playbook(tmp_path)
    return json.loads((tmp_path / "out.json").read_text())


def test_renders_what_the_builtin_lookup_renders(tmp_path, run_playbook):
    out = render(tmp_path, run_playbook)
    assert out["ours"] == out["builtin"]
    assert out["ours_no_extra"] == out["builtin_no_extra"]
    assert "greeting=hello sum=6 path=example.j2\nextra=x\n" in out["ours"]
    assert "local=shadowed inside the template" in out["ours"]
    assert "{{ not a template }}" in out["ours"]
    # trim_blocks=false keeps the newline after the block tags.
    assert out["ours_no_extra"] != out["ours"] and "extra=" not in out["ours_no_extra"]
    # The template's own variables (set, template_vars, template_path) stay inside it.
    assert out["greeting_after"] == "hello"
    assert out["nested_after"] == {"numbers": [1, 2, 3]}


def test_the_copy_given_to_the_builtin_lookup_is_shallow():
    facts = {"mounts": [{"mount": "/"}]}
    variables = _ShallowDeepcopy({"ansible_facts": facts, "greeting": "hello"})
    copied = copy.deepcopy(variables)
    assert copied == variables and copied is not variables
    assert copied["ansible_facts"] is facts
    copied["template_path"] = "added by the lookup"
    assert "template_path" not in variables
