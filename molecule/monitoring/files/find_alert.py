# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the first firing alert ALERTNAME for HOST ("-": an alert without a host label, e.g. an
SLO's) that the webhook receiver recorded after AFTER (unix time), optionally with further
labels (LABEL=VALUE arguments; status=resolved looks for the resolution instead). Prints
{"received", "labels"} as JSON and exits 0; exits 1 if none yet."""
import json
import sys


def main(log, alertname, host, after, wanted=()):
    wanted = dict(wanted)
    status = wanted.pop("status", "firing")
    host = None if host == "-" else host
    try:
        with open(log) as handle:
            lines = handle.readlines()
    except OSError:
        return 1
    for line in lines:
        entry = json.loads(line)
        if entry["received"] < after:
            continue
        for alert in entry["body"].get("alerts", []):
            labels = alert.get("labels", {})
            if alert.get("status") == status and labels.get("alertname") == alertname and labels.get("host") == host \
                    and all(labels.get(name) == value for name, value in wanted.items()):
                print(json.dumps({"received": entry["received"], "labels": labels}))
                return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]),
                  [tuple(arg.split("=", 1)) for arg in sys.argv[5:]]))
