"""faultlib.py - the checking half of the fault tests (tests/fault/*.sh drive the launches).

Reads a run directory the way the tests need it: events.jsonl split into the launches that
common.sh's `launch` recorded (NAME.launches: one "TAG FIRST_LINE" per launch), the denoise
units of manifest.json, and the checkpoints in ckpt/ with whether each verifies according to
`shotfarm inspect` (the implementation's own verifier, the same one a resume trusts).

The subtle part: what a resume *should* pick is computed from the ckpt/ listing taken right
after a death (snapshot), never from the events of the launch that died, so the expectation is
independent of what the coordinator managed to log before it was killed.

    python3 faultlib.py plan SEED                    the kill plan of test_fault_kill.sh
    python3 faultlib.py snapshot RUNDIR SHOTFARM     ckpt/ + latents/ state as JSON
    python3 faultlib.py remaining SNAPSHOT.json      denoising steps still to run
    python3 faultlib.py resumes RUNDIR LAUNCHES SNAPSHOT...   checks each launch after a death
    python3 faultlib.py interrupted RUNDIR LAUNCHES TAG SNAPSHOT   checks a signalled launch
"""
import json
import os
import random
import re
import subprocess
import sys

CKPT_RE = re.compile(r"^(?P<stem>.+)\.step(?P<step>\d+)\.h5$")


def events(rundir):
    """All events of RUNDIR/events.jsonl; a line that does not parse is an error."""
    out = []
    with open(os.path.join(rundir, "events.jsonl")) as f:
        for no, line in enumerate(f, 1):
            try:
                out.append(json.loads(line))
            except ValueError as e:
                raise SystemExit("events.jsonl:%d does not parse (%s): %r" % (no, e, line[:200]))
    return out


def launches(rundir, launches_file):
    """[(tag, [events of that launch])] in launch order."""
    ev = events(rundir)
    marks = []
    with open(launches_file) as f:
        for line in f:
            tag, first = line.split()
            marks.append((tag, int(first)))
    out = []
    for i, (tag, first) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else len(ev)
        out.append((tag, ev[first:end]))
    return out


def denoise_units(rundir):
    """[(name, stem, steps)] of the manifest's denoise units."""
    with open(os.path.join(rundir, "manifest.json")) as f:
        m = json.load(f)
    return [(u["name"], os.path.basename(u["output"])[:-len(".h5")], u["steps"])
            for u in m["units"] if u["kind"] == "denoise"]


def verifies(shotfarm, path):
    """True when `shotfarm inspect PATH` exits 0 and says "verified: yes (...)"."""
    r = subprocess.run([shotfarm, "inspect", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    return r.returncode == 0 and re.search(r"^verified:\s+yes\b", r.stdout, re.M) is not None


def snapshot(rundir, shotfarm):
    """Per denoise unit: its checkpoint files (step, name, verified, has a sidecar), whether
    its final latent is published, and the resume point a relaunch must take."""
    ckdir = os.path.join(rundir, "ckpt")
    files = sorted(os.listdir(ckdir)) if os.path.isdir(ckdir) else []
    snap = {"units": [], "ckpt_listing": files}
    for name, stem, steps in denoise_units(rundir):
        latent = os.path.join(rundir, "latents", stem + ".h5")
        ck = []
        for fn in files:
            m = CKPT_RE.match(fn)
            if m and m.group("stem") == stem:
                p = os.path.join(ckdir, fn)
                ck.append({"step": int(m.group("step")), "file": fn,
                           "sidecar": os.path.exists(p + ".sha256"),
                           "verified": verifies(shotfarm, p)})
        ck.sort(key=lambda c: c["step"])
        done = os.path.exists(latent) and verifies(shotfarm, latent)
        valid = [c for c in ck if c["verified"]]
        expect = None
        if not done:
            expect = {"step": valid[-1]["step"], "checkpoint": valid[-1]["file"]} if valid \
                else {"step": 0, "checkpoint": None}
        snap["units"].append({"unit": name, "stem": stem, "steps": steps, "done": done,
                              "ckpts": ck, "expect": expect})
    return snap


def remaining(snap):
    return sum(0 if u["done"] else u["steps"] - u["expect"]["step"] for u in snap["units"])


def plan(seed):
    """Five kill moments: at least 3 mid-denoise ("step": kill -9 a rank after R step events of
    the launch) and at least 1 inside a checkpoint write ("ckpt": SF_FAULT_KILL_CKPT), in a
    seeded order; R is picked by the driver from r and the steps still to run."""
    rng = random.Random(seed)
    kinds = ["step", "step", "step", "ckpt", rng.choice(["step", "ckpt"])]
    rng.shuffle(kinds)
    return [(k, rng.randrange(1000), rng.randrange(2)) for k in kinds]


def check_resumes(rundir, launches_file, snapshot_files):
    """Launch i+1 follows death i (snapshot i): every unit unfinished at the death that starts
    in launch i+1 must start at the snapshot's step with its checkpoint; every finished unit
    must not run its denoising again. Returns (problems, number of resumes from k > 0)."""
    runs = launches(rundir, launches_file)
    problems, resumed = [], 0
    for i, sf in enumerate(snapshot_files):
        with open(sf) as f:
            snap = json.load(f)
        if i + 1 >= len(runs):
            problems.append("no launch after death %d" % (i + 1))
            continue
        tag, ev = runs[i + 1]
        for u in snap["units"]:
            starts = [e for e in ev if e.get("event") == "started" and e.get("unit") == u["unit"]]
            steps = [e.get("step") for e in ev if e.get("event") == "step" and e.get("unit") == u["unit"]]
            if u["done"]:
                if starts or steps:
                    problems.append("%s: %s finished before death %d but ran again (started %s, "
                                    "steps %s)" % (tag, u["unit"], i + 1, starts, steps))
                continue
            if not starts:
                continue  # not reached before this launch died; the next snapshot covers it
            s, want = starts[0], u["expect"]
            got_ck = s.get("checkpoint")
            got_ck = os.path.basename(got_ck) if got_ck else None
            if s.get("step") != want["step"] or got_ck != want["checkpoint"]:
                problems.append(
                    "%s: %s started at step %s from %s; after death %d ckpt/ held %s, so the "
                    "newest valid checkpoint was %s (step %d)" % (
                        tag, u["unit"], s.get("step"), s.get("checkpoint"), i + 1,
                        ["%s%s" % (c["file"], "" if c["verified"] else " (does not verify)")
                         for c in u["ckpts"]], want["checkpoint"], want["step"]))
            elif want["step"] > 0:
                resumed += 1
            redo = [k for k in steps if k is not None and k <= want["step"]]
            if redo:
                problems.append("%s: %s resumed from step %d but recomputed steps %s" % (
                    tag, u["unit"], want["step"], redo))
    return problems, resumed


def check_interrupted(rundir, launches_file, tag, snapshot_file):
    """Launch TAG was stopped by a signal: it ends with run_end status 75, and every denoise
    unit it left unfinished has an `interrupted` event whose step and checkpoint are the newest
    verified checkpoint of the snapshot taken after it. Returns the problems."""
    ev = dict(launches(rundir, launches_file))[tag]
    with open(snapshot_file) as f:
        snap = json.load(f)
    problems = []
    ends = [e.get("status") for e in ev if e.get("event") == "run_end"]
    if ends != [75]:
        problems.append("launch %s: run_end statuses %s, want [75]" % (tag, ends))
    stopped = {e.get("unit"): e for e in ev if e.get("event") == "interrupted"}
    if not stopped:
        problems.append("launch %s: no interrupted events" % tag)
    for u in snap["units"]:
        ran = any(e.get("event") == "started" and e.get("unit") == u["unit"] for e in ev)
        e = stopped.get(u["unit"])
        if u["done"] or not ran:
            if e:
                problems.append("launch %s: %s interrupted but %s" % (
                    tag, u["unit"], "finished" if u["done"] else "never started"))
            continue
        want = u["expect"]
        if not e:
            problems.append("launch %s: %s was running but has no interrupted event" % (tag, u["unit"]))
        elif e.get("step") != want["step"] or os.path.basename(e.get("checkpoint") or "") != \
                (want["checkpoint"] or ""):
            problems.append("launch %s: %s interrupted at step %s with %s; the newest verified "
                            "checkpoint is %s (step %d)" % (tag, u["unit"], e.get("step"),
                                                            e.get("checkpoint"), want["checkpoint"],
                                                            want["step"]))
    return problems


def main(argv):
    cmd = argv[1]
    if cmd == "plan":
        for k, r, rank in plan(int(argv[2])):
            print(k, r, rank)
    elif cmd == "snapshot":
        json.dump(snapshot(argv[2], argv[3]), sys.stdout, indent=1)
    elif cmd == "remaining":
        with open(argv[2]) as f:
            print(remaining(json.load(f)))
    elif cmd == "resumes":
        problems, resumed = check_resumes(argv[2], argv[3], argv[4:])
        for p in problems:
            print("  " + p)
        print("resumed from a checkpoint (k > 0): %d" % resumed)
        return 1 if problems else 0
    elif cmd == "interrupted":
        problems = check_interrupted(argv[2], argv[3], argv[4], argv[5])
        for p in problems:
            print("  " + p)
        return 1 if problems else 0
    else:
        raise SystemExit("faultlib.py: unknown command " + cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
