#!/usr/bin/env python3
"""check_schema.py — docs/campaign.schema.json must accept the examples and the valid JSON files,
and reject a sample of the invalid catalogue that a schema can express. Skips (77) when the
system python3 lacks jsonschema or PyYAML. PyYAML reads YAML 1.1, so only files whose aspect
ratios are quoted are fed through it."""
import json
import os
import sys

try:
    import jsonschema
    import yaml
except ImportError:
    print("check_schema: python3 jsonschema/yaml not installed; skipped")
    sys.exit(77)

src = os.environ["SF_SOURCE_DIR"]
schema = json.load(open(os.path.join(src, "docs/campaign.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)


def load(rel):
    p = os.path.join(src, rel)
    with open(p, encoding="utf-8") as f:
        return json.load(f) if p.endswith(".json") else yaml.safe_load(f)


fail = 0
for rel in ["examples/demo/campaign.yaml", "examples/sample-40/campaign.yaml",
            "tests/campaigns/valid/demo-twin.json", "tests/campaigns/valid/brand.yaml"]:
    errs = list(v.iter_errors(load(rel)))
    for e in errs:
        print(f"FAIL {rel}: schema rejects a valid file: {e.message} at {list(e.path)}")
    fail |= bool(errs)
inv = "tests/campaigns/invalid/"
for name in ["unknown-key-typo.yaml", "shot-too-short.yaml", "shot-too-long.yaml",
             "seven-shots.yaml", "five-refs.yaml", "zh-without-phonetic.yaml",
             "phonetic-on-en-line.yaml", "aspect-unknown.yaml", "sampler-unknown.yaml",
             "dtype-unknown.yaml", "tp-too-large.yaml", "codec-unknown.yaml", "takes-zero.yaml",
             "director-and-shots.yaml", "director-without-length.yaml", "model-config-and-dir.yaml",
             "duration-quoted.yaml", "json-unknown-key.json", "json-wrong-type.json",
             "element-id-invalid.yaml", "camera-unknown.yaml", "voice-pitch.yaml",
             "super-unknown-key.yaml", "super-bad-values.yaml", "logo-bad.yaml", "end-card-bad.yaml"]:
    if v.is_valid(load(inv + name)):
        print(f"FAIL {name}: the schema accepts it")
        fail = 1
print("check_schema: " + ("FAILED" if fail else "ok"))
sys.exit(fail)
