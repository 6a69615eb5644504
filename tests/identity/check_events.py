#!/usr/bin/env python3
"""check_events.py EVENTS BANK CONTINUED CONTINUING — a render's identity work, from its
events.jsonl (docs/render.md): no unit `skipped`; exactly the bank units BANK (comma-separated
unit names) finished; and the unit CONTINUING (a continuing shot's denoise) started only after
CONTINUED (the continued take's decode) finished. Used by tests/identity/test_identity_refs.sh
and tests/assemble/test_assemble_demo.sh."""
import json
import sys

events, bank, continued, continuing = sys.argv[1:5]
ev = [json.loads(line) for line in open(events)]
assert not [e for e in ev if e["event"] == "skipped"], "a unit was skipped"
ran = {e["unit"] for e in ev if e["event"] == "finished" and e.get("kind") == "identity"}
assert ran == set(bank.split(",")), ran
at = {(e["event"], e.get("unit")): i for i, e in enumerate(ev)}
assert at[("finished", continued)] < at[("started", continuing)], \
    f"{continuing} started before {continued} finished"
