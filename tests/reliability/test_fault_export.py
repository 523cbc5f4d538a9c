"""Fault test of the output folder (issue 14): the folder always holds exactly one complete set.

1. Kill trials: fault_writer (write_output_folder, as the export does) is killed at a random point
   of its write, >= 100 times, by SIGKILL, SIGTERM or SIGINT. After each: the folder holds one
   complete set (the last finished run's, or the killed run's when its swap was done), no .tmp
   file; after SIGTERM/SIGINT the exit status is 143/130 (or 0 when it had finished) and no staging
   folder is left; a staging folder left by SIGKILL is removed by the next run.
2. Full disk: inside a private mount namespace (unshare -rm, else unshare -m as root) a small tmpfs
   holds set A; writing the larger set B fills it at a different point for each size tried. Each
   time: exit 1 naming "No space left", set A intact, no staging folder, no .tmp.
Usage: test_fault_export.py FAULT_WRITER [TRIALS]
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NFILES, BYTES = 24, 48 * 1024


def fnv1a(data):
    h = 2166136261
    for c in data:
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h


def check_set(out, allowed):
    """The set id in `out`, after checking it is one of `allowed` and complete; fails otherwise."""
    if not os.path.exists(out):
        assert None in allowed, f"{out} missing, expected one of {allowed}"
        return None
    with open(os.path.join(out, "params.json"), "rb") as f:
        lines = f.read().decode().splitlines()
    assert lines[0].startswith("set "), lines[0]
    sid = lines[0][4:]
    assert sid in allowed, f"folder holds set {sid}, expected one of {allowed}"
    listed = {"params.json"}
    for line in lines[1:]:
        name, size, csum = line.split()
        with open(os.path.join(out, name), "rb") as f:
            data = f.read()
        assert len(data) == int(size) and fnv1a(data) == int(csum), f"{name} of set {sid} is partial or corrupt"
        listed.add(name)
    present = set()
    for root, _dirs, files in os.walk(out):
        for fn in files:
            present.add(os.path.relpath(os.path.join(root, fn), out))
    assert present == listed, f"files not of set {sid}: {sorted(present - listed)}; missing {sorted(listed - present)}"
    return sid


def staging_left(parent, name, pid=None):
    """Staging folders of `name` in `parent` (of process `pid` only, when given)."""
    prefix = "." + name + ".new-"
    return [f for f in os.listdir(parent)
            if f.startswith(prefix) and (pid is None or f[len(prefix):].split("-")[0] == str(pid))]


def kill_trials(writer, trials):
    work = tempfile.mkdtemp(prefix="mqcalib_fault_", dir=os.environ.get("MQCALIB_BUILD_ROOT"))
    out = os.path.join(work, "out")
    try:
        t0 = time.time()
        assert subprocess.run([writer, out, "s0", str(NFILES), str(BYTES)]).returncode == 0
        full = max(time.time() - t0, 0.02)
        last = "s0"
        rng = random.Random(14)
        counts = {"finished": 0, "killed": 0, "new": 0, "previous": 0, "startup": 0}
        sigs = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]
        for i in range(1, trials + 1):
            sid, sig = f"s{i}", sigs[i % 3]
            p = subprocess.Popen([writer, out, sid, str(NFILES), str(BYTES)], stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.0, 2.0 * full))
            p.send_signal(sig)
            rc = p.wait()
            err = p.stderr.read().decode()
            assert rc in (0, -sig, 128 + signal.SIGTERM, 128 + signal.SIGINT), f"trial {i}: rc {rc} {err}"
            if rc == -sig and sig != signal.SIGKILL:
                # The signal came during process start-up, before main() installed the handlers: the
                # default action ended it before it could write anything (checked below all the same).
                counts["startup"] += 1
                assert not staging_left(work, "out", p.pid), f"trial {i}: staging left by a run killed at start-up"
            elif sig != signal.SIGKILL:
                assert rc in (0, 128 + sig), f"trial {i}: {signal.Signals(sig).name} gave exit {rc}, want {128 + sig}"
                # Its own staging folder is gone (one a SIGKILLed run left may remain until the next run gets that far).
                assert not staging_left(work, "out", p.pid), f"trial {i}: staging left after {signal.Signals(sig).name}"
            counts["finished" if rc == 0 else "killed"] += 1
            got = check_set(out, {last, sid})
            if rc == 0:
                assert got == sid, f"trial {i}: finished but the folder holds {got}"
            counts["new" if got == sid else "previous"] += 1
            last = got
        # A clean run removes what SIGKILL left.
        assert subprocess.run([writer, out, "final", str(NFILES), str(BYTES)]).returncode == 0
        check_set(out, {"final"})
        assert not staging_left(work, "out"), "staging folders of killed runs were not removed"
        print(f"kill trials: {trials} ({counts['killed']} killed, {counts['finished']} finished first; the folder then "
              f"held the new set {counts['new']} times, the previous one {counts['previous']} times; "
              f"{counts['startup']} signals came before the handlers were installed); "
              f"one complete set every time; a write took {full:.3f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def tmpfs_inner(writer):
    """Runs inside a private mount namespace."""
    mnt = tempfile.mkdtemp(prefix="mqcalib_tmpfs_")
    set_a = NFILES // 2 * BYTES
    sizes = range(set_a + 64 * 1024, set_a + (NFILES + 4) * BYTES, BYTES)
    n = 0
    try:
        for size in sizes:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mnt], check=True)
            try:
                out = os.path.join(mnt, "out")
                r = subprocess.run([writer, out, "A", str(NFILES // 2), str(BYTES)], capture_output=True, text=True)
                if r.returncode != 0:
                    continue  # too small even for set A
                r = subprocess.run([writer, out, "B", str(NFILES), str(BYTES)], capture_output=True, text=True)
                if r.returncode == 0:
                    check_set(out, {"B"})
                    continue  # large enough for both
                assert r.returncode == 1, f"size {size}: exit {r.returncode}: {r.stderr}"
                assert "No space left" in r.stderr, f"size {size}: message does not say the disk is full: {r.stderr}"
                check_set(out, {"A"})
                assert not staging_left(mnt, "out"), f"size {size}: staging folder left"
                n += 1
            finally:
                subprocess.run(["umount", mnt], check=True)
    finally:
        os.rmdir(mnt)
    assert n >= 5, f"only {n} sizes filled the disk during the write"
    print(f"full disk: {n} tmpfs sizes filled during the write; set A intact, nothing left each time")


def main():
    writer = os.path.abspath(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2] == "--tmpfs-inner":
        tmpfs_inner(writer)
        return
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 120
    kill_trials(writer, trials)
    me = os.path.abspath(__file__)
    for prefix in (["unshare", "-rm"], ["unshare", "-m"]):
        r = subprocess.run(prefix + [sys.executable, me, writer, "--tmpfs-inner"], capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        if r.returncode == 0:
            return
        if "Operation not permitted" in r.stderr or "unshare failed" in r.stderr:
            continue
        sys.stderr.write(r.stderr)
        sys.exit(1)
    sys.stderr.write("cannot make a private mount namespace here (unshare -rm / -m refused)\n")
    sys.exit(1)


if __name__ == "__main__":
    main()
