#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: config_files
short_description: Converge a set of files and directories in one module run
version_added: "1.1.0"
description:
  - Writes several small files (configuration, unit files, scripts) and creates directories with
    their mode and ownership in a single module execution, where M(ansible.builtin.template) and
    M(ansible.builtin.copy) need two remote executions per file even when nothing changes. The
    roles of this collection use it for their file sets; on a converged host a set of ten files
    costs one round trip instead of twenty.
  - Render templates on the controller with P(ansible.builtin.template#lookup) and pass the text
    as O(files[].content); the template lookup provides the same C(ansible_managed) header.
  - It reads each item's path (type, mode, owner, group, content), compares it with the item and
    acts only on what differs; call it unconditionally. The comparison is C(item_differences) in
    the collection's C(module_utils/config_files.py), the only place that decides what differs.
  - Each file is written to a temporary file in the destination directory, given its mode and
    owner, checked with O(files[].validate) when set, then renamed over the destination, so a
    reader never sees a partial file and a rejected file never replaces a good one.
  - Items are applied in the order given (list a directory before the files inside it). The first
    failing item stops the run; items before it stay applied, as a sequence of tasks would.
  - Check mode reports what would change without touching the host; diff mode returns one diff
    per changed item (content before and after, or mode and ownership). Put secrets in their own
    task with C(no_log) and set O(files[].secret) so their diff carries no content.
  - A V(link) item points a symbolic link at O(files[].src). A new link is made beside the old one
    and renamed over it, so the path always resolves (the switch of a C(current) release link).
  - A V(lines) item keeps O(files[].lines) in an existing file a package owns, as
    M(prodready.platform.file_lines) does (the last line matching O(files[].lines[].regexp) is
    replaced, else the line is inserted); the file is rewritten through a temporary file with its
    own mode and owner, checked by O(files[].validate) when set.
  - An V(attributes) item sets owner, group and mode of an existing path the module does not
    write, as M(prodready.platform.file_attributes) does (O(files[].follow),
    O(files[].statoverride)); a missing path is skipped and listed in RV(missing).
  - The line edits and attribute decisions are those of the collection's
    C(module_utils/_files/lines.py) and C(module_utils/_files/attributes.py), shared with
    M(prodready.platform.file_lines) and M(prodready.platform.file_attributes).
  - SELinux contexts and file attributes are not managed (the collection targets Debian).
author: prodready.platform maintainers (@prodready)
options:
  files:
    description: The files and directories, applied in order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the file or directory.
        type: path
        required: true
      state:
        description:
          - V(file) writes O(files[].content); V(directory) creates the directory (parents
            included, with mode 0755) and sets its mode and owner; V(absent) removes a file or
            an empty directory; V(link) makes the path a symbolic link to O(files[].src)
            (replacing a link that points elsewhere; its mode and ownership are not managed).
          - V(lines) keeps O(files[].lines) in an existing regular file (its mode and owner are
            kept; O(files[].mode), O(files[].owner) and O(files[].group) are not used).
          - V(attributes) sets O(files[].owner), O(files[].group) and O(files[].mode) (required)
            of an existing path; a missing path is skipped and listed in RV(missing).
        type: str
        choices: [file, directory, absent, link, lines, attributes]
        default: file
      content:
        description: The whole content of the file (V(file) only). Written exactly as given.
        type: str
      src:
        description:
          - The target of a V(link) item, written into the link as given (relative to the link's
            directory unless absolute); the target need not exist.
        type: str
      lines:
        description:
          - The lines to keep in the file (V(lines) only, and required there), each as
            M(prodready.platform.file_lines) keeps it.
        type: list
        elements: dict
        suboptions:
          line:
            description: As O(prodready.platform.file_lines#module:files[].lines[].line).
            type: str
            required: true
          regexp:
            description: As O(prodready.platform.file_lines#module:files[].lines[].regexp).
            type: str
          insertafter:
            description: As O(prodready.platform.file_lines#module:files[].lines[].insertafter) (mutually exclusive with insertbefore).
            type: str
          insertbefore:
            description: As O(prodready.platform.file_lines#module:files[].lines[].insertbefore).
            type: str
      follow:
        description:
          - V(attributes) only. Change the target of a symbolic link (resolved fully) instead of
            skipping the link; several links to one target change it once.
        type: bool
        default: false
      statoverride:
        description:
          - V(attributes) only. Also keep a C(dpkg-statoverride) entry with this owner, group and
            mode, so package upgrades keep them.
        type: bool
        default: false
      mode:
        description:
          - Octal mode, quoted, for example V("0640"). An unquoted V(0640) reaches the module as
            the integer 416 and is read as that mode, as M(ansible.builtin.file) does. Defaults
            to V("0644") for files and V("0755") for directories; required for V(attributes).
        type: raw
      owner:
        description: Owner name (or numeric id). Defaults to root.
        type: str
        default: root
      group:
        description: Group name (or numeric id). Defaults to root.
        type: str
        default: root
      manage_ownership:
        description:
          - V(false) leaves owner and group alone (O(files[].owner) and O(files[].group) are
            ignored), like M(ansible.builtin.copy) without C(owner) and C(group). For files the
            module writes as an unprivileged user, for example reports on the controller; a new or
            rewritten file then belongs to that user.
        type: bool
        default: true
      validate:
        description:
          - Command that checks the new file before it replaces the destination; C(%s) is the
            path of the temporary file, for example V(/usr/sbin/sshd -t -f %s). Runs without a
            shell. A non-zero exit fails the task and leaves the destination untouched.
          - For V(file) and V(lines) items.
        type: str
      secret:
        description: Leave the content out of diffs (set it for keys and credentials).
        type: bool
        default: false
  secret_content:
    description:
      - The content of secret files (keys, credentials, configuration holding passwords), by path.
        An item of O(files) whose path is a key here and that has no O(files[].content) of its own
        takes its content from here and is treated as O(files[].secret).
      - The option is C(no_log) - Ansible keeps its values out of the module's logs and results -
        so one task writes secret files beside others without a task-level C(no_log), and diff
        mode still shows the other files' changes. As for every C(no_log) value, a content is also
        masked wherever it would appear in the task's output; whole files do not match anything else.
      - A path here without an item in O(files) is an error (a secret that would silently not be written).
    type: dict
    default: {}
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
- name: Write the sshd drop-in and the banner, one module run
  prodready.platform.config_files:
    files:
      - path: /etc/ssh/sshd_config.d
        state: directory
      - path: /etc/ssh/sshd_config.d/00-hardening.conf
        content: "{{ lookup('ansible.builtin.template', 'sshd-hardening.conf.j2') }}"
        mode: "0600"
        validate: /usr/sbin/sshd -t -f %s
      - path: /etc/issue.net
        content: "Authorised access only.\n"
  notify: Reload sshd

- name: Switch the current release and install its unit, one module run
  prodready.platform.config_files:
    files:
      - path: /srv/app/current
        state: link
        src: releases/2.0.0
      - path: /etc/systemd/system/app.service
        content: "{{ lookup('ansible.builtin.template', 'app.service.j2') }}"

- name: Write the monitor's units and its configuration, which holds credentials, one module run
  prodready.platform.config_files:
    files:
      - path: /etc/systemd/system/monitor.service
        content: "{{ lookup('ansible.builtin.template', 'monitor.service.j2') }}"
      - path: /etc/monitor/config.json
        mode: "0600"
    secret_content:
      /etc/monitor/config.json: "{{ lookup('ansible.builtin.template', 'config.json.j2') }}"

- name: Write a report on the controller as the controller's user (ownership unmanaged)
  prodready.platform.config_files:
    files:
      - path: /srv/reports
        state: directory
        mode: "0750"
        manage_ownership: false
      - path: /srv/reports/host1.json
        content: "{{ report | to_nice_json }}"
        mode: "0640"
        manage_ownership: false
  delegate_to: localhost
  become: false

- name: Keep sshd_config's Include line first, then write the drop-in, one module run
  prodready.platform.config_files:
    files:
      - path: /etc/ssh/sshd_config
        state: lines
        lines:
          - regexp: '^\s*Include\s+/etc/ssh/sshd_config\.d/\*\.conf\s*$'
            line: Include /etc/ssh/sshd_config.d/*.conf
            insertbefore: BOF
        validate: /usr/sbin/sshd -t -f %s
      - path: /etc/ssh/sshd_config.d/00-hardening.conf
        content: "{{ lookup('ansible.builtin.template', 'sshd-hardening.conf.j2') }}"
        mode: "0600"
        validate: /usr/sbin/sshd -t -f %s
  notify: Reload sshd

- name: Set login.defs defaults and tighten the account databases, one module run
  prodready.platform.config_files:
    files:
      - path: /etc/login.defs
        state: lines
        lines:
          - regexp: '^#?\s*UMASK\s'
            line: "UMASK\t027"
      - {path: /etc/shadow, state: attributes, owner: root, group: shadow, mode: "0640"}
      - {path: /usr/bin/as, state: attributes, mode: "0750", follow: true, statoverride: true}
"""

RETURN = r"""
changed_paths:
  description: The items that changed (or would change in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [/etc/ssh/sshd_config.d/00-hardening.conf]
items:
  description: One entry per item with what differed.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The item's path.
      type: str
    changed:
      description: Whether the item changed.
      type: bool
    reasons:
      description:
        - What differed, among V(created), V(content), V(mode), V(owner), V(group), V(removed), V(target), V(statoverride).
        - A V(lines) item that changed has V(content); an V(attributes) item whose path is missing has none.
      type: list
      elements: str
missing:
  description: The paths of V(attributes) items that do not exist (skipped), in order.
  returned: always
  type: list
  elements: str
  sample: [/usr/bin/gcc]
"""

import errno
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible_collections.prodready.platform.plugins.module_utils.config_files import (
    UNMANAGED,
    ItemError,
    item_differences,
    observe,
    wanted_attributes,
)
from ansible_collections.prodready.platform.plugins.module_utils._files import attributes
from ansible_collections.prodready.platform.plugins.module_utils._files.lines import apply_lines, lines_argument_spec
from ansible_collections.prodready.platform.plugins.module_utils._files.write import write_validated

DIFF_LIMIT = 256 * 1024  # diffs of larger files show only the change of size


def _text_for_diff(data, secret):
    if secret:
        return "(secret content, %d bytes)\n" % len(data)
    if len(data) > DIFF_LIMIT:
        return "(%d bytes)\n" % len(data)
    return to_text(data, errors="surrogate_or_replace")


def _attribute_text(observed):
    if observed["type"] == "absent":
        return ""
    return "mode %s, owner %d, group %d\n" % (observed["mode"], observed["uid"], observed["gid"])


def _wanted_text(mode, uid, gid, observed):
    """The wanted attributes; an unmanaged id shows what the item has (or 'unmanaged' when new)."""
    def show(wanted, current):
        if wanted != UNMANAGED:
            return "%d" % wanted
        return "unmanaged" if current is None else "%d" % current
    return "mode %04o, owner %s, group %s\n" % (mode, show(uid, observed.get("uid")), show(gid, observed.get("gid")))


def examine(item):
    """The module's one decision for a file or directory item: (reasons, observed state, (mode, uid,
    gid)), from item_differences() in module_utils, the one comparison."""
    resolved = wanted_attributes(item)
    observed = observe(item["path"], keep_content=(item.get("state") or "file") == "file")
    reasons = item_differences(item, observed, resolved=resolved)
    if "type" in reasons:
        raise ItemError("%s exists and is not a %s" % (
            item["path"], "directory" if item.get("state") == "directory" else "regular file"))
    return reasons, observed, resolved


def write_file(item, new, mode, uid, gid, run_command):
    """Temporary file in the destination directory → mode, owner → validate → rename."""
    path = item["path"]
    directory = os.path.dirname(path) or "/"
    if not os.path.isdir(directory):
        raise ItemError("directory %s does not exist (list it as a state=directory item first)" % directory)
    write_validated(path, new, mode, uid, gid, item.get("validate"), run_command)


def apply_file(item, check_mode, run_command):
    reasons, observed, (mode, uid, gid) = examine(item)
    if not reasons:
        return reasons, None
    new = to_bytes(item["content"], errors="surrogate_or_strict")
    diff = {"before_header": item["path"], "after_header": item["path"]}
    if "created" in reasons or "content" in reasons:
        diff["before"] = _text_for_diff(observed.get("content", b""), item.get("secret")) if "content" in reasons else ""
        diff["after"] = _text_for_diff(new, item.get("secret"))
    else:
        diff["before"] = _attribute_text(observed)
        diff["after"] = _wanted_text(mode, uid, gid, observed)
    if check_mode:
        return reasons, diff
    if "created" in reasons or "content" in reasons:
        write_file(item, new, mode, uid, gid, run_command)
    else:
        # Content already right: fix the attributes in place, no rewrite (keeps the inode).
        os.chown(item["path"], uid, gid)
        os.chmod(item["path"], mode)
    return reasons, diff


def apply_directory(item, check_mode):
    path = item["path"]
    reasons, observed, (mode, uid, gid) = examine(item)
    if not reasons:
        return reasons, None
    created = observed["type"] == "absent"
    diff = {"before_header": path, "after_header": path, "before": "(absent)\n" if created else _attribute_text(observed),
            "after": "directory, " + _wanted_text(mode, uid, gid, observed)}
    if check_mode:
        return reasons, diff
    if created:
        # Tolerates a concurrent creator (the same item run for several hosts on the controller).
        make_parents(os.path.dirname(path.rstrip("/")))
        try:
            os.mkdir(path, mode)
        except OSError as exc:
            if exc.errno != errno.EEXIST or not os.path.isdir(path):
                raise
    os.chown(path, uid, gid)
    os.chmod(path, mode)  # after chown (which clears setgid) and independent of the umask
    return reasons, diff


def make_parents(parent):
    """Create the missing ancestors of a directory item, each 0755 whatever the process's umask (as
    documented): services running as their own user must traverse them. A hardened host's umask
    (027 from login.defs through pam_umask, which sudo's session applies on Debian 13) made
    os.makedirs(parent, 0o755) create them 0750. A directory another run created meanwhile is left as
    it is."""
    missing = []
    while parent and parent != "/" and not os.path.isdir(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o755)
        except OSError as exc:
            if exc.errno != errno.EEXIST or not os.path.isdir(directory):
                raise
            continue
        os.chmod(directory, 0o755)


def apply_absent(item, check_mode):
    path = item["path"]
    observed = observe(path, read=False)
    reasons = item_differences(item, observed)
    if not reasons:
        return reasons, None
    diff = {"before_header": path, "after_header": path, "before": _attribute_text(observed), "after": "(absent)\n"}
    if not check_mode:
        if observed["type"] == "directory":
            os.rmdir(path)
        else:
            os.unlink(path)
    return reasons, diff


def apply_link(item, check_mode):
    """A symbolic link to item's src: a new link beside the path, renamed over it (atomic)."""
    path = item["path"]
    observed = observe(path, read=False)
    reasons = item_differences(item, observed)
    if "type" in reasons:
        raise ItemError("%s exists and is not a symbolic link" % path)
    if not reasons:
        return reasons, None
    diff = {"before_header": path, "after_header": path,
            "before": "(absent)\n" if observed["type"] == "absent" else "symbolic link to %s\n" % observed["target"],
            "after": "symbolic link to %s\n" % item["src"]}
    if check_mode:
        return reasons, diff
    directory = os.path.dirname(path) or "/"
    if not os.path.isdir(directory):
        raise ItemError("directory %s does not exist (list it as a state=directory item first)" % directory)
    tmp = os.path.join(directory, ".%s.%s" % (os.path.basename(path), os.urandom(6).hex()))
    os.symlink(item["src"], tmp)
    try:
        os.rename(tmp, path)
    except OSError:
        os.unlink(tmp)
        raise
    return reasons, diff


def apply_attributes(item, check_mode, run_command, overrides, seen):
    """An attributes item: (changed path (the link target with follow), reasons, diff), or None when
    the path is missing."""
    examined = attributes.examine(item, overrides, seen)
    if examined is None:
        return None
    target, resolved, reasons, st = examined
    if not reasons:
        return target, reasons, None
    if not check_mode:
        attributes.apply(target, resolved, reasons, run_command)
    return target, reasons, attributes.diff_of(target, resolved, st)


# Options that belong to one state only: (option, its state).
STATE_ONLY = (("lines", "lines"), ("follow", "attributes"), ("statoverride", "attributes"))


def check_item(item):
    if not os.path.isabs(item["path"]):
        raise ItemError("path %r is not absolute" % item["path"])
    for option, state in STATE_ONLY:
        if item.get(option) and item["state"] != state:
            raise ItemError("%s: %s is only for state=%s" % (item["path"], option, state))
    if item["state"] == "lines" and not item.get("lines"):
        raise ItemError("%s: state=lines needs lines" % item["path"])
    if item["state"] == "attributes" and item.get("mode") in (None, ""):
        raise ItemError("%s: state=attributes needs mode" % item["path"])
    if item["state"] == "file" and item.get("content") is None:
        raise ItemError("%s: state=file needs content" % item["path"])
    if item["state"] != "file" and item.get("content") is not None:
        raise ItemError("%s: content is only for state=file" % item["path"])
    if item["state"] == "link" and not item.get("src"):
        raise ItemError("%s: state=link needs src" % item["path"])
    if item["state"] != "link" and item.get("src") is not None:
        raise ItemError("%s: src is only for state=link" % item["path"])


def attach_secret_content(items, secret_content):
    """Give each item whose path is in secret_content that content, as a secret (no content in its
    diff). The option itself is no_log, so the content stays out of logs and results."""
    unused = set(secret_content or {})
    for item in items:
        if item["path"] not in unused:
            continue
        if item.get("content") is not None:
            raise ItemError("%s: content is given both in files and in secret_content" % item["path"])
        item["content"] = secret_content[item["path"]]
        item["secret"] = True
        unused.discard(item["path"])
    if unused:
        raise ItemError("secret_content names %s, which no item of files has as path" % ", ".join(sorted(unused)))
    return items


def run(items, check_mode, run_command):
    """Apply every item in order; returns (changed_paths, per-item results, diffs, missing)."""
    for item in items:
        check_item(item)
    attribute_items = [item for item in items if item.get("state") == "attributes"]
    overrides = attributes.read_overrides(run_command) if attributes.wants_overrides(attribute_items) else None
    changed_paths, results, diffs, missing, seen = [], [], [], [], set()
    for item in items:
        state = item.get("state") or "file"
        changed_path = item["path"]
        try:
            if state == "attributes":
                outcome = apply_attributes(item, check_mode, run_command, overrides, seen)
                if outcome is None:
                    missing.append(item["path"])
                    outcome = (changed_path, [], None)
                changed_path, reasons, diff = outcome
            elif state == "lines":
                diff = apply_lines(item, check_mode, run_command)
                reasons = ["content"] if diff else []
            elif state == "directory":
                reasons, diff = apply_directory(item, check_mode)
            elif state == "absent":
                reasons, diff = apply_absent(item, check_mode)
            elif state == "link":
                reasons, diff = apply_link(item, check_mode)
            else:
                reasons, diff = apply_file(item, check_mode, run_command)
        except (ItemError, OSError, IOError) as exc:
            # The caller reports what was applied before the failing item (changed=true then).
            exc.applied = list(changed_paths)
            raise
        results.append({"path": item["path"], "changed": bool(reasons), "reasons": reasons})
        if reasons:
            changed_paths.append(changed_path)
            diffs.append(diff)
    return changed_paths, results, diffs, missing


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=dict(
                path=dict(type="path", required=True),
                state=dict(type="str", choices=["file", "directory", "absent", "link", "lines", "attributes"], default="file"),
                content=dict(type="str"),
                src=dict(type="str"),
                lines=lines_argument_spec(required=False),
                follow=dict(type="bool", default=False),
                statoverride=dict(type="bool", default=False),
                mode=dict(type="raw"),
                owner=dict(type="str", default="root"),
                group=dict(type="str", default="root"),
                validate=dict(type="str"),
                secret=dict(type="bool", default=False),
                manage_ownership=dict(type="bool", default=True),
            )),
            secret_content=dict(type="dict", default={}, no_log=True),
        ),
        supports_check_mode=True,
    )

    def run_command(argv):
        return module.run_command(argv)

    try:
        items = attach_secret_content(module.params["files"], module.params["secret_content"])
        changed_paths, results, diffs, missing = run(items, module.check_mode, run_command)
    except ItemError as exc:
        applied = getattr(exc, "applied", [])
        module.fail_json(msg=to_native(exc), changed=bool(applied), changed_paths=applied)
    except (OSError, IOError) as exc:
        applied = getattr(exc, "applied", [])
        module.fail_json(msg="cannot apply %s: %s" % (getattr(exc, "filename", None) or "an item", to_native(exc)),
                         changed=bool(applied), changed_paths=applied)
    result = dict(changed=bool(changed_paths), changed_paths=changed_paths, items=results, missing=missing)
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
