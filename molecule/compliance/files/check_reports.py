"""Validate the compliance reports in a directory: JSON against the schema (jsonschema), JUnit XML
with xml.etree (and counts consistent with the JSON), HTML with html.parser (well-formed tags,
every finding present). Prints one JSON line per report; exits non-zero on any problem.

usage: check_reports.py SCHEMA REPORT_DIR HOST [HOST...]
"""
import html.parser
import json
import os
import sys
import xml.etree.ElementTree as ET

import jsonschema


class TagChecker(html.parser.HTMLParser):
    VOID = {"meta", "br", "img", "link", "input", "hr"}

    def __init__(self):
        super().__init__()
        self.stack, self.ids, self.errors, self.text = [], set(), [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)
        for key, value in attrs:
            if key == "id":
                self.ids.add(value)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unbalanced </%s> (open: %s)" % (tag, self.stack[-3:]))
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def check_host(schema, directory, host, problems):
    with open(os.path.join(directory, host + ".json")) as handle:
        report = json.load(handle)
    jsonschema.validate(report, schema)
    root = ET.parse(os.path.join(directory, host + ".junit.xml")).getroot()
    suites = root.findall("testsuite")
    cases = suites[0].findall("testcase") if suites else []
    failures = [c for c in cases if c.find("failure") is not None]
    if root.tag != "testsuites" or len(suites) != 1:
        problems.append("%s junit: expected <testsuites> with one <testsuite>" % host)
    if len(cases) != len(report["controls"]) or len(failures) != report["summary"]["fail"]:
        problems.append("%s junit: %d cases/%d failures, json has %d/%d" % (
            host, len(cases), len(failures), len(report["controls"]), report["summary"]["fail"]))
    if int(suites[0].get("failures", -1)) != report["summary"]["fail"]:
        problems.append("%s junit: failures attribute %s != %d" % (host, suites[0].get("failures"), report["summary"]["fail"]))
    page = TagChecker()
    with open(os.path.join(directory, host + ".html")) as handle:
        page.feed(handle.read())
    page.close()
    if page.errors or [t for t in page.stack if t not in ("html", "body")]:
        problems.append("%s html: %s" % (host, page.errors[:3] or page.stack))
    missing = [c["id"] for c in report["controls"] if c["id"] not in page.ids]
    if missing:
        problems.append("%s html: controls without a row: %s" % (host, missing[:5]))
    with open(os.path.join(directory, host + ".md")) as handle:
        markdown = handle.read()
    lost = [c["id"] for c in report["controls"] if c["status"] in ("fail", "error") and c["id"] not in markdown]
    if lost:
        problems.append("%s markdown: findings missing: %s" % (host, lost[:5]))
    return {"host": host, "controls": len(report["controls"]), "junit_cases": len(cases), "junit_failures": len(failures),
            "score": report["summary"]["score_percent"]}


def main():
    schema_path, directory, hosts = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(schema_path) as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    problems = []
    for host in hosts:
        print(json.dumps(check_host(schema, directory, host, problems)))
    with open(os.path.join(directory, "fleet.json")) as handle:
        fleet = json.load(handle)
    jsonschema.validate(fleet, schema)
    if sorted(fleet["hosts"]) != sorted(hosts):
        problems.append("fleet.json hosts %s != %s" % (fleet["hosts"], hosts))
    fleet_junit = ET.parse(os.path.join(directory, "fleet.junit.xml")).getroot()
    if len(fleet_junit.findall("testsuite")) != len(hosts):
        problems.append("fleet.junit.xml has %d suites for %d hosts" % (len(fleet_junit.findall("testsuite")), len(hosts)))
    print(json.dumps({"fleet_hosts": len(fleet["hosts"]), "fleet_score": fleet["summary"]["score_percent"]}))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
