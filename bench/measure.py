"""Run a command and measure it the way the benchmarks report: wall time and peak memory (the sum
of resident set sizes over the whole process tree: driver JVM, Python workers, ...)."""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _tree_rss_bytes(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run_measured(cmd: list[str], env: dict | None = None) -> dict:
    """Run cmd; return wall seconds, peak tree RSS (GiB), exit code and its stdout."""
    started = time.time()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_bytes(proc.pid))
            time.sleep(0.5)

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    out, _ = proc.communicate()
    stop.set()
    t.join()
    return {"wall_seconds": round(time.time() - started, 1), "peak_memory_gib": round(peak / 2 ** 30, 2),
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
