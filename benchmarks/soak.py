"""Soak: two runs training at once in one server while three browser sessions watch them, for minutes.

    python -m benchmarks.soak [--minutes 6] [--interval 20]

A real ``streamlit run dashboard.py`` server (runs folder in a temporary directory) and headless
Chromium (/usr/bin/chromium). Session 1 starts an open-ended run A, session 2 an open-ended run B, and
session 3 opens run A too (``?run=``), so A is watched twice and B once. Every ``interval`` seconds it
prints the server's resident memory and thread count, Chromium's total resident memory, and each run's
steps/s over the interval. At the end it compares the server's memory over the second half of the soak
with the first: a store, snapshot list or page cache that grew with the run would show as a steady climb.
The CPU columns (in cores: 1.0 = one core busy over the interval, the server with its training threads,
and every Chromium process together) tell a browser that takes more of the machine over time from a
server that slows by itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.dashboard import CHROMIUM_ARGS, Server, open_with_open_ended_steps

VIEWPORT = {"width": 1400, "height": 1800}


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS (KiB) and Threads of a process, from /proc."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads"):
                fields[key] = int(value.split()[0])
    return fields


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: fields 14 and 15 of the line


def chromium_pids() -> list[int]:
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().startswith("chromium"):
                    pids.append(int(pid))
        except OSError:
            continue  # a process that ended between the listing and the read
    return pids


def chromium_cpu_seconds() -> float:
    total = 0.0
    for pid in chromium_pids():
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def chromium_rss_mib() -> float:
    """Resident memory of every Chromium process together (renderers, GPU, browser), in MiB."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if not f.read().startswith("chromium"):
                    continue
            total += proc_status(int(pid)).get("VmRSS", 0)
        except OSError:
            continue  # a process that ended between the listing and the read
    return total / 1024


def rows(path: Path) -> int:
    with open(path, "rb") as f:
        return max(0, sum(1 for _ in f) - 1)


URL_RUN = "() => new URLSearchParams(location.search).get('run')"
NEW_RUN = f"(before) => {{ const run = ({URL_RUN})(); return run && run !== before }}"


def start_open_ended_run(page, url: str, before: str | None = None) -> str:
    """Start an open-ended run from a fresh page; returns its id (the page names it in ?run=)."""
    open_with_open_ended_steps(page, url)
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_function(NEW_RUN, arg=before, timeout=60_000)
    return page.evaluate(URL_RUN)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=6.0, help="how long to soak (default: %(default)s)")
    parser.add_argument(
        "--interval", type=float, default=20.0, help="seconds between samples (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    runs = Path(tempfile.mkdtemp()) / "runs"
    server = Server(runs)
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
    try:
        first, second, third = (browser.new_page(viewport=VIEWPORT) for _ in range(3))
        run_a = start_open_ended_run(first, server.url)
        run_b = start_open_ended_run(second, server.url, before=run_a)
        third.goto(f"{server.url}/?run={run_a}")
        third.get_by_text("Status:").first.wait_for(timeout=60_000)
        metrics = {name: runs / run_id / "metrics.csv" for name, run_id in (("A", run_a), ("B", run_b))}

        print(f"server pid {server.proc.pid}; run A {run_a} (2 tabs), run B {run_b} (1 tab)")
        header = (
            ("t (s)", 6),
            ("server RSS MiB", 15),
            ("threads", 8),
            ("chromium MiB", 13),
            ("server CPU", 11),
            ("chromium CPU", 13),
        )
        print(" ".join(f"{name:>{width}}" for name, width in header), f"{'A steps/s':>10} {'B steps/s':>10}")
        samples = []
        start = time.monotonic()
        last = {name: (rows(path), start) for name, path in metrics.items()}
        # CPU in cores over each interval (1.0 = one core busy), the server's and all of Chromium's
        cpu_last = (cpu_seconds(server.proc.pid), chromium_cpu_seconds(), start)
        while time.monotonic() - start < args.minutes * 60:
            time.sleep(args.interval)  # a sampling period, not a wait for an event
            now = time.monotonic()
            status = proc_status(server.proc.pid)
            rates = {}
            for name, path in metrics.items():
                count = rows(path)
                rates[name] = (count - last[name][0]) / (now - last[name][1])
                last[name] = (count, now)
            cpu_now = (cpu_seconds(server.proc.pid), chromium_cpu_seconds(), now)
            span = cpu_now[2] - cpu_last[2]
            cores = ((cpu_now[0] - cpu_last[0]) / span, (cpu_now[1] - cpu_last[1]) / span)
            cpu_last = cpu_now
            rss, threads = status["VmRSS"] / 1024, status["Threads"]
            sample = (now - start, rss, threads, chromium_rss_mib(), rates, cores)
            samples.append(sample)
            print(
                f"{sample[0]:6.0f} {sample[1]:15.1f} {sample[2]:8d} {sample[3]:13.0f} "
                f"{cores[0]:11.2f} {max(cores[1], 0.0):13.2f} {rates['A']:10.1f} {rates['B']:10.1f}",
                flush=True,
            )
        half = len(samples) // 2
        first_half, second_half = samples[:half], samples[half:]
        rise_first = first_half[-1][1] - first_half[0][1]
        rise_second = second_half[-1][1] - second_half[0][1]
        print(
            f"server RSS: {samples[0][1]:.0f} -> {samples[-1][1]:.0f} MiB; rise over the first half "
            f"{rise_first:+.1f} MiB, over the second half {rise_second:+.1f} MiB"
        )
        print(f"threads: {sorted({s[2] for s in samples})}")
        third = max(1, len(samples) // 3)
        for index, name in ((0, "server"), (1, "chromium")):
            early = statistics.median(s[5][index] for s in samples[:third])
            late = statistics.median(s[5][index] for s in samples[-third:])
            print(f"{name} CPU (cores): median {early:.2f} over the first third, {late:.2f} over the last")
        for name in ("A", "B"):
            rates = [s[4][name] for s in samples]
            print(
                f"run {name}: steps/s median {statistics.median(rates):.1f}, first {rates[0]:.1f}, "
                f"last {rates[-1]:.1f}"
            )
    finally:
        browser.close()
        pw.stop()
        server.close()


if __name__ == "__main__":
    main()
