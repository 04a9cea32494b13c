#!/usr/bin/env python3
"""Run a command, then write the CPU time it used (from wait4's rusage) to a file.

    rusage.py --out FILE --timeout SECONDS -- COMMAND [ARGS...]

Used around wrk so that the load generator's own CPU per request is known (DESIGN §7:
in the pinned layout, wrk's core saturates first). The command's stdout/stderr pass
through. SIGINT/SIGTERM are forwarded to the command (exit 128+signal); after SECONDS it is killed, so a
stuck load generator cannot hang the harness. Exit status is the command's.
"""
import argparse
import math
import os
import signal
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        sys.exit("rusage.py: no command given")

    child = subprocess.Popen(cmd)

    got_signal = []

    def forward(signum, _frame):
        got_signal.append(signum)
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)

    # Block in wait4 (no polling: in the pinned layout this shares wrk's core). An alarm
    # kills the command at the deadline; PEP 475 makes wait4 resume after the handler.
    timed_out = False

    def on_alarm(_signum, _frame):
        nonlocal timed_out
        timed_out = True
        try:
            child.kill()
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, math.ceil(args.timeout)))
    _pid, status, ru = os.wait4(child.pid, 0)
    signal.alarm(0)
    child.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from re-waiting
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(f"utime {ru.ru_utime:.6f}\nstime {ru.ru_stime:.6f}\n"
                f"timed_out {int(timed_out)}\n"
                f"exit {child.returncode}\n")
    if got_signal:  # interrupted: say so by the conventional status, whatever wrk returned
        sys.exit(128 + got_signal[0])
    code = child.returncode
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
