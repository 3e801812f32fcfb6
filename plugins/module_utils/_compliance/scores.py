# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A compliance audit's scores as textfile metrics (``prodready_compliance.prom``).

Shared by the ``compliance_metrics`` module (scores of a registered audit) and the
``compliance_audit`` module (its own scores, written in the same run with ``export_metrics``).
Kept apart from the check engine (probe, checks, audit), which never writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.prodready.platform.plugins.module_utils._compliance.common import SEVERITIES, STATUSES
from ansible_collections.prodready.platform.plugins.module_utils.textfile import (
    FILE_NAME_RE, Metric, MetricError, render, write_textfile)

DEFAULT_FILE_NAME = "prodready_compliance.prom"


def build_metrics(audit):
    score = Metric("prodready_compliance_score_percent",
                   "Weighted compliance score per framework (all = every evaluated control), 0-100.")
    overall = audit.get("summary", {}).get("score_percent")
    if overall is not None:
        score.add(overall, {"framework": "all"})
    for name in sorted(audit.get("frameworks", {})):
        value = audit["frameworks"][name].get("score_percent")
        if value is not None:
            score.add(value, {"framework": name})
    failed = Metric("prodready_compliance_failed_controls",
                    "Controls that failed or could not be evaluated (error), per severity; waived ones excluded.")
    by_severity = audit.get("summary", {}).get("failed_by_severity", {})
    for severity in SEVERITIES:
        failed.add(int(by_severity.get(severity, 0)), {"severity": severity})
    counts = Metric("prodready_compliance_controls", "Controls of the last audit per status.")
    for status in STATUSES:
        counts.add(int(audit.get("summary", {}).get(status, 0)), {"status": status})
    return [score, failed, counts]


def export_scores(audit, textfile_dir, file_name=DEFAULT_FILE_NAME, check_mode=False):
    """Write the audit's scores to ``textfile_dir/file_name`` when they differ from the file.

    The file carries no time stamp, so an unchanged result leaves it alone. Returns
    ``(changed, path, before, after)``; raises MetricError on a bad file name or value."""
    if not FILE_NAME_RE.match(file_name):
        raise MetricError("file_name %r must match %s" % (file_name, FILE_NAME_RE.pattern))
    metrics = build_metrics(audit)
    try:
        text = render(metrics)
    except (TypeError, ValueError) as exc:
        raise MetricError(str(exc))
    path = os.path.join(textfile_dir, file_name)
    before = None
    if os.path.exists(path):
        with open(path) as handle:
            before = handle.read()
    changed = before != text
    if changed and not check_mode:
        write_textfile(file_name, metrics, directory=textfile_dir)
    return changed, path, before, text
