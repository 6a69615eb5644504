"""The official Wan2.1 model code, imported for the golden scripts without its pipeline.

`wan/__init__.py` imports every pipeline (text2video, vace, ...) and their dependencies, and
`wan/modules/attention.py` needs CUDA flash attention. The scripts need only
`wan/modules/model.py`: it is loaded by file path under stub `wan` / `wan.modules` packages, with a
`wan.modules.attention` whose flash_attention the caller provides.
"""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import types


def wan_model_py(wan):
    """(path of wan/modules/model.py, commit) from a Wan2.1 checkout or a bare/mirror git
    directory (then read with `git show` into a temporary file)."""
    if os.path.isfile(os.path.join(wan, "wan", "modules", "model.py")):
        try:
            commit = subprocess.check_output(["git", "-C", wan, "rev-parse", "HEAD"],
                                             text=True).strip()
        except (subprocess.CalledProcessError, FileNotFoundError):
            commit = "unknown"
        return os.path.join(wan, "wan", "modules", "model.py"), commit
    git = ["git", "--git-dir", wan]
    commit = subprocess.check_output(git + ["rev-parse", "HEAD"], text=True).strip()
    src = subprocess.check_output(git + ["show", commit + ":wan/modules/model.py"], text=True)
    tmp = tempfile.NamedTemporaryFile("w", suffix="_wan_model.py", delete=False)
    tmp.write(src)
    tmp.close()
    return tmp.name, commit


def load_wan_model(path, flash_attention=None):
    """Imports wan/modules/model.py WITHOUT wan/__init__.py; its `flash_attention` is the given
    function (None when attention is never called, e.g. only state_dict() is wanted)."""
    for pkg in ("wan", "wan.modules"):
        mod = types.ModuleType(pkg)
        mod.__path__ = []
        sys.modules[pkg] = mod
    att = types.ModuleType("wan.modules.attention")
    att.flash_attention = flash_attention
    sys.modules["wan.modules.attention"] = att
    spec = importlib.util.spec_from_file_location("wan.modules.model", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["wan.modules.model"] = module
    spec.loader.exec_module(module)
    return module


def golden_args(doc, fixture):
    """The command line of a golden script that reads the official code: --out (default
    tests/fixtures/FIXTURE) and --wan (a Wan2.1 checkout or its git directory). Returns the
    parsed arguments and the output directory, made absolute and created."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures", fixture))
    ap.add_argument("--wan", required=True, help="Wan2.1 checkout or its git directory")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    return args, out
