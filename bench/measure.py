"""Run a command and measure it the way the benchmarks report: wall time and peak memory over the
whole process tree (driver JVM, Python workers, ...): the sum of resident set sizes, and the sum of
proportional set sizes with the processes that held it at its peak."""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _tree(root: int) -> list[int]:
    """root and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


_PAGE = os.sysconf("SC_PAGE_SIZE")
PSS_EVERY = 10
"""Polls (of 0.5 s) between PSS readings, besides every new RSS high. Reading a process's PSS makes the
kernel walk its page tables: every 0.5 s over a 10 GiB JVM that cost ~30% of a core, on a 2-core
machine, so it is read every 5 s and whenever the RSS sum passes its high by 2% (where the peak is)."""


def _rss(pid: int) -> int:
    """Resident set size of one process in bytes, from statm (cheap: no page walk)."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> tuple[int, str]:
    """(PSS in bytes, short command) of one process. PSS splits pages shared between processes
    (PySpark's forked Python workers share their daemon's) among them, so a tree's PSS sum counts
    each page once; the RSS sum counts shared pages once per process."""
    pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                    break
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            args = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return 0, ""
    name = os.path.basename(args[0]) if args else "?"
    if name.startswith("python") and len(args) > 1:
        name += " " + (args[2] if args[1] == "-m" and len(args) > 2 else os.path.basename(args[1]))
    return pss, name


def _tree_pss(pids: list[int]) -> tuple[int, dict[str, float]]:
    """(PSS sum, PSS GiB per command) over the processes."""
    pss = 0
    by: dict[str, float] = {}
    for pid in pids:
        p, name = _pss(pid)
        pss += p
        by[name] = round(by.get(name, 0) + p / 2 ** 30, 2)
    return pss, by


def run_measured(cmd: list[str], env: dict | None = None) -> dict:
    """Run cmd; return wall seconds, peak memory of the process tree (the sum of resident set sizes,
    as every earlier figure in BENCHMARKS.md, sampled every 0.5 s; and the sum of proportional set
    sizes with, at its peak, which processes held it, sampled as PSS_EVERY says), exit code and stdout."""
    started = time.time()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, text=True)
    peak = {"rss": 0, "pss": 0, "by": {}}
    stop = threading.Event()

    def poll() -> None:
        n = 0
        while not stop.is_set():
            pids = _tree(proc.pid)
            rss = sum(_rss(p) for p in pids)
            if rss > peak["rss"] * 1.02 or n % PSS_EVERY == 0:
                pss, by = _tree_pss(pids)
                if pss > peak["pss"]:
                    peak.update(pss=pss, by=by)
            peak["rss"] = max(peak["rss"], rss)
            n += 1
            time.sleep(0.5)

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    out, _ = proc.communicate()
    stop.set()
    t.join()
    return {"wall_seconds": round(time.time() - started, 1), "peak_memory_gib": round(peak["rss"] / 2 ** 30, 2),
            "peak_pss_gib": round(peak["pss"] / 2 ** 30, 2), "peak_pss_by_process": peak["by"],
            "returncode": proc.returncode, "stdout": out}


def bench_args(description: str, extra: list[tuple[str, dict]] = ()):
    """The options every population benchmark shares (plus `extra`: (flag, argparse keywords));
    returns (args, lake folder, dtsen command)."""
    import argparse
    import sys
    import tempfile

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--cycle", default="2026H1")
    ap.add_argument("--lake", default=None, help="scratch lake (default: a temp folder, removed afterwards)")
    for flag, kw in extra:
        ap.add_argument(flag, **kw)
    args = ap.parse_args()
    lake = args.lake or tempfile.mkdtemp(prefix="dtsen-bench-")
    return args, lake, str(Path(sys.executable).parent / "dtsen")


def save(name: str, figures: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return path


def json_document(stdout: str) -> dict:
    """The first JSON document a command printed (log lines may follow it)."""
    return json.JSONDecoder().raw_decode(stdout[stdout.index("{"):])[0]
