#!/usr/bin/env bash
# evaluate.py's seam scoring (issue 23) on the synthetic world's own clips, whose direction is
# known: tests/demo_model/test_scorer.py. Needs CI's Python environment (numpy) only.
set -u
py=${SF_BINARY_DIR:?}/pyenv/bin/python
[ -x "$py" ] || { echo "FAIL: $py missing: run scripts/setup.sh (it installs tests/requirements.txt)"; exit 1; }
exec "$py" "${SF_SOURCE_DIR:?}/tests/demo_model/test_scorer.py"
