#!/usr/bin/env python3
"""Turn the raw files of one perf/run.sh run into runs.csv and the summary table.

    summarize.py RESULTS_DIR            # prints the summary; run.sh tees it to summary.txt

Per measured run (RESULTS_DIR/runs/<layout>-r<round>-<pos>-<proxy>.*):
  requests, req/s, p99          from wrk's output
  proxy / backend CPU           utime+stime (/proc/PID/stat fields 14+15, clock ticks) of
                                every process of the proxy tree / both backend trees,
                                after - before, over the requests wrk counted
  proxy user / sys              the proxy CPU per request split into utime (field 14: its own
                                code) and stime (field 15: the kernel working for it), in us
  proxy/backend                 the DESIGN §7 figure: proxy CPU per request divided by
                                backend CPU per request in the same run
  cpuN busy                     /proc/stat: 1 - (idle + iowait) / total, over the run
  wrk us/req                    wrk's own CPU (rusage) per request
  other load                    all cores' busy time minus proxy + backends + wrk, in cores:
                                what other tenants of the box (or the kernel) used meanwhile
  proxy us/req (sched)          the same proxy CPU from /proc/PID/task/*/schedstat (ns),
                                a cross-check on the tick-granular figure
  *_runq_wait_s (runs.csv)      schedstat's run-queue wait: time runnable but not running
Summaries are medians over rounds; runs with errors are listed but left out of medians.
"""
import csv
import json
import glob
import os
import re
import statistics
import sys

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}  # wrk latency units -> milliseconds
# A run during which others used more than this many cores is flagged "noisy" (kept in
# the medians, but a quiet-runs-only relative figure is printed as well).
NOISY_CORES = 0.25


def read_kv(path):
    out = {}
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            key, _, value = line.rstrip("\n").partition(" ")
            out[key] = value
    return out


def parse_wrk(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    res = {"requests": None, "rps": None, "p99_ms": None, "errors": 0, "non2xx": 0,
           "wrk_seconds": None}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if m:
        res["requests"] = int(m.group(1))
        scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(3)]
        res["wrk_seconds"] = float(m.group(2)) * scale
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if m:
        res["p99_ms"] = float(m.group(1)) * UNITS[m.group(2)]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        res["errors"] = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        res["non2xx"] = int(m.group(1))
    return res


def parse_sample(path):
    """A /proc snapshot written by run.sh's sample()."""
    s = {"time": None, "cpu": {}, "pids": {}, "ticks": {}, "uticks": {}, "nprocs": {}, "sched": {}, "rss": {}}
    for line in open(path, encoding="utf-8"):
        parts = line.split()
        if not parts:
            continue
        kind = parts[0]
        if kind == "time":
            s["time"] = float(parts[1])
        elif kind.startswith("cpu"):
            vals = [int(x) for x in parts[1:]]
            # user nice system idle iowait irq softirq steal (guest is inside user)
            total = sum(vals[:8])
            idle = vals[3] + vals[4]
            s["cpu"][kind] = (total, idle)
        elif kind == "pids":
            s["pids"].setdefault(parts[1], []).extend(parts[2:])
        elif kind == "stat":
            role = parts[1]
            raw = line.split(" ", 2)[2]
            # comm (field 2) may contain spaces and parentheses: fields resume after the last ')'
            rest = raw[raw.rindex(")") + 2:].split()
            utime, stime = int(rest[11]), int(rest[12])  # fields 14 and 15
            s["ticks"][role] = s["ticks"].get(role, 0) + utime + stime
            s["uticks"][role] = s["uticks"].get(role, 0) + utime
            s["nprocs"][role] = s["nprocs"].get(role, 0) + 1
        elif kind == "sched":
            # schedstat: ns on CPU, ns waiting on a run queue, timeslices
            role, tid, run_ns, wait_ns = parts[1], parts[2], int(parts[3]), int(parts[4])
            s["sched"][(role, tid)] = run_ns
            s.setdefault("wait", {})[(role, tid)] = wait_ns
        elif kind == "rss":
            if len(parts) > 3:
                s["rss"][parts[1]] = s["rss"].get(parts[1], 0) + int(parts[3])
    return s


def sched_delta(before, after, role, field="sched"):
    """ns of run (or run-queue wait) time of ROLE's threads between the samples."""
    total = 0
    for (r, tid), ns in after.get(field, {}).items():
        if r == role:
            total += ns - before.get(field, {}).get((r, tid), 0)  # new threads from 0
    return total


def analyse_run(base, clk_tck):
    meta = read_kv(base + ".meta")
    wrk = parse_wrk(base + ".wrk.txt")
    before = parse_sample(base + ".before")
    after = parse_sample(base + ".after")
    ru = read_kv(base + ".rusage")
    run = {k: meta.get(k) for k in ("layout", "round", "position", "proxy", "backend")}
    run.update({k: wrk[k] for k in ("requests", "rps", "p99_ms", "errors", "non2xx")})
    flags = []
    reqs = wrk["requests"] or 0
    if not reqs:
        flags.append("no-requests")
    if wrk["errors"]:
        flags.append(f"socket-errors={wrk['errors']}")
    if wrk["non2xx"]:
        flags.append(f"non2xx={wrk['non2xx']}")
    for role in ("proxy", "backend"):
        if before["pids"].get(role) != after["pids"].get(role):
            # a process came or went: its CPU time may be missing from the delta
            flags.append(f"{role}-pids-changed")
    run["seconds"] = after["time"] - before["time"]
    for role in ("proxy", "backend"):
        cpu_s = (after["ticks"].get(role, 0) - before["ticks"].get(role, 0)) / clk_tck
        run[f"{role}_cpu_s"] = cpu_s
        run[f"{role}_us_per_req"] = cpu_s * 1e6 / reqs if reqs else None
        user_s = (after["uticks"].get(role, 0) - before["uticks"].get(role, 0)) / clk_tck
        run[f"{role}_user_us_per_req"] = user_s * 1e6 / reqs if reqs else None
        run[f"{role}_sys_us_per_req"] = (cpu_s - user_s) * 1e6 / reqs if reqs else None
        run[f"{role}_sched_us_per_req"] = (
            sched_delta(before, after, role) / 1e3 / reqs if reqs else None)
        # time runnable but not running (another process had the core): contention
        run[f"{role}_runq_wait_s"] = sched_delta(before, after, role, "wait") / 1e9
        # worst-case relative error of the tick figure: up to 1 tick per process
        nprocs = max(after["nprocs"].get(role, 1), 1)
        run[f"{role}_tick_err"] = nprocs / clk_tck / cpu_s if cpu_s > 0 else None
        run[f"{role}_nprocs"] = nprocs
        run[f"{role}_rss_kib"] = after["rss"].get(role)
    if run["proxy_us_per_req"] and run["backend_us_per_req"]:
        run["ratio"] = run["proxy_us_per_req"] / run["backend_us_per_req"]
    else:
        run["ratio"] = None
    # CLK_TCK granularity: each process's tick count is truncated at both samples, so the
    # delta can be off by up to one tick per process (10 ms at 100 Hz). The schedstat
    # figure (ns) has no such error: flag the run when the two disagree by more than 2%.
    for role in ("proxy", "backend"):
        t, ns = run[f"{role}_us_per_req"], run[f"{role}_sched_us_per_req"]
        if t and ns and abs(t - ns) / ns > 0.02:
            flags.append(f"{role}-ticks-vs-schedstat-{100 * (t - ns) / ns:+.1f}%")
    for cpu in sorted(after["cpu"]):
        if cpu == "cpu":
            continue
        t0, i0 = before["cpu"][cpu]
        t1, i1 = after["cpu"][cpu]
        run[f"{cpu}_busy"] = 1 - (i1 - i0) / (t1 - t0) if t1 > t0 else None
    wrk_cpu = float(ru.get("utime", "nan")) + float(ru.get("stime", "nan"))
    run["wrk_us_per_req"] = wrk_cpu * 1e6 / reqs if reqs else None
    # Load that is not ours (other tenants of this shared box, kernel threads, steal):
    # all cores' busy time minus what the proxy, the backends and wrk used, in cores.
    if "cpu" in after["cpu"] and run["seconds"] > 0:
        t0, i0 = before["cpu"]["cpu"]
        t1, i1 = after["cpu"]["cpu"]
        busy_s = ((t1 - t0) - (i1 - i0)) / clk_tck
        ours = run["proxy_cpu_s"] + run["backend_cpu_s"] + wrk_cpu
        run["other_cores"] = (busy_s - ours) / run["seconds"]
    else:
        run["other_cores"] = None
    # pinned layout: every proxy thread must still be allowed on the proxy CPU only
    if meta.get("proxy_cpu", "any") != "any" and os.path.exists(base + ".affinity"):
        for line in open(base + ".affinity", encoding="utf-8"):
            parts = line.split()
            if len(parts) == 3 and parts[2] != meta["proxy_cpu"]:
                flags.append(f"proxy-thread-{parts[1]}-on-cpus-{parts[2]}")
                break
    run["valid"] = not any("-vs-schedstat-" not in f for f in flags)
    run["quiet"] = run["other_cores"] is not None and run["other_cores"] <= NOISY_CORES
    if not run["quiet"]:
        flags.append("noisy")
    run["flags"] = " ".join(flags)
    return run


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    lines = ["  ".join(str(x).rjust(w) if i else str(x).ljust(w)
                       for i, (x, w) in enumerate(zip(r, widths)))
             for r in [headers] + rows]
    return "\n".join(lines)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: summarize.py RESULTS_DIR")
    res = sys.argv[1]
    env = read_kv(os.path.join(res, "env.txt"))
    clk_tck = int(env.get("clk_tck") or os.sysconf("SC_CLK_TCK"))
    bases = [p[:-5] for p in glob.glob(os.path.join(res, "runs", "*.meta"))]
    runs = [analyse_run(b, clk_tck) for b in bases]
    layout_order = env.get("LAYOUTS", "shared pinned").split()
    runs.sort(key=lambda r: (layout_order.index(r["layout"]) if r["layout"] in layout_order
                             else 99, int(r["round"]), int(r["position"])))
    idle = {}
    for path in glob.glob(os.path.join(res, "runs", "idle-*.json")):
        idle[os.path.basename(path)[5:-5]] = json.load(open(path, encoding="utf-8"))
    if not runs and not idle:
        sys.exit(f"summarize.py: no runs in {res}/runs")

    cpus = sorted({k for r in runs for k in r if re.fullmatch(r"cpu\d+_busy", k)},
                  key=lambda k: int(k[3:-5]))
    fields = ["layout", "round", "position", "proxy", "backend", "requests", "seconds", "rps",
              "p99_ms", "proxy_cpu_s", "backend_cpu_s", "proxy_us_per_req",
              "backend_us_per_req", "ratio", "proxy_user_us_per_req", "proxy_sys_us_per_req",
              "proxy_sched_us_per_req",
              "backend_sched_us_per_req", "proxy_runq_wait_s", "backend_runq_wait_s",
              "proxy_tick_err", "backend_tick_err",
              "wrk_us_per_req", *cpus, "other_cores", "proxy_rss_kib",
              "errors", "non2xx", "flags"]
    with open(os.path.join(res, "runs.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in runs:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})

    out = []
    backend = env.get("BACKEND", "?")
    out.append(f"ringway perf  {env.get('date_utc', '')}  kernel {env.get('kernel', '?')}  "
               f"nproc {env.get('nproc', '?')}  CLK_TCK {clk_tck}")
    out.append(f"BACKEND={backend}  DURATION={env.get('DURATION')}s  CONNS={env.get('CONNS')}  "
               f"THREADS={env.get('THREADS')}  ROUNDS={env.get('ROUNDS')}  "
               f"BODY_BYTES={env.get('BODY_BYTES')}  loadavg at start {env.get('loadavg_start', '?').split()[0]}")
    if backend != "ringway":
        out.append(f"NOTE: stand-in backend ({backend}), not `ringway origin`.")
    order = [p for p in env.get("PROXIES", "").split()]

    for layout in ("shared", "pinned"):
        lruns = [r for r in runs if r["layout"] == layout]
        if not lruns:
            continue
        out.append("")
        if layout == "shared":
            out.append("Layout A, shared (no pinning): median over rounds, [min-max] of proxy/backend")
            headers = ["proxy", "runs", "req/s", "p99 ms", "proxy us/req", "user/sys",
                       "backend us/req", "proxy/backend", "[min-max]", "other load"]
        else:
            out.append("Layout B, pinned (proxy on CPU 1; wrk and backends on CPU 0): medians")
            headers = ["proxy", "runs", "req/s", "p99 ms", *[c[:-5] + " busy" for c in cpus],
                       "proxy us/req", "user/sys", "backend us/req", "wrk us/req",
                       "proxy/backend", "other load"]
        rows, ratio_med, per_round, quiet_med = [], {}, {}, {}
        for proxy in order:
            pr = [r for r in lruns if r["proxy"] == proxy and r["valid"]]
            n_all = len([r for r in lruns if r["proxy"] == proxy])
            ratios = [r["ratio"] for r in pr if r["ratio"] is not None]
            ratio_med[proxy] = med(ratios)
            quiet_med[proxy] = med(r["ratio"] for r in pr if r["quiet"])
            per_round[proxy] = {r["round"]: r["ratio"] for r in pr}
            base = [proxy, f"{len(pr)}/{n_all}", fmt(med(r["rps"] for r in pr), ".0f"),
                    fmt(med(r["p99_ms"] for r in pr), ".2f")]
            split = (f'{fmt(med(r["proxy_user_us_per_req"] for r in pr), ".2f")}/'
                     f'{fmt(med(r["proxy_sys_us_per_req"] for r in pr), ".2f")}')
            if layout == "shared":
                rows.append(base + [
                    fmt(med(r["proxy_us_per_req"] for r in pr), ".2f"),
                    split,
                    fmt(med(r["backend_us_per_req"] for r in pr), ".2f"),
                    fmt(ratio_med[proxy], ".2f"),
                    f"[{min(ratios):.2f}-{max(ratios):.2f}]" if ratios else "-",
                    fmt(med(r["other_cores"] for r in pr), ".2f")])
            else:
                busy = [med(r.get(c) for r in pr) for c in cpus]
                rows.append(base + [fmt(b * 100 if b is not None else None, ".0f") + "%"
                                    for b in busy] + [
                    fmt(med(r["proxy_us_per_req"] for r in pr), ".2f"),
                    split,
                    fmt(med(r["backend_us_per_req"] for r in pr), ".2f"),
                    fmt(med(r["wrk_us_per_req"] for r in pr), ".2f"),
                    fmt(ratio_med[proxy], ".2f"),
                    fmt(med(r["other_cores"] for r in pr), ".2f")])
        out.append(table(headers, rows))
        # relative figures: ringway against each peer, else haproxy against nginx
        subject = "ringway" if "ringway" in order else ("haproxy" if "haproxy" in order else None)
        pairs = [(subject, peer) for peer in ("nginx", "haproxy", "ringway-base", "floor")
                 if subject and peer in order and peer != subject]
        # the floor of DESIGN.md §7 against nginx: what a lean monoio proxy reaches here
        if "floor" in order and "nginx" in order:
            pairs.append(("floor", "nginx"))
        for subject, peer in pairs:
            if ratio_med.get(subject) and ratio_med.get(peer):
                rounds = sorted(set(per_round[subject]) & set(per_round[peer]), key=int)
                paired = " ".join(f"{per_round[subject][k] / per_round[peer][k]:.2f}"
                                  for k in rounds
                                  if per_round[subject][k] and per_round[peer][k])
                out.append(f"{subject}/{peer} CPU per request: "
                           f"{ratio_med[subject] / ratio_med[peer]:.2f}"
                           f"  (ratio of median proxy/backend; same-round pairs: {paired})")
                if quiet_med.get(subject) and quiet_med.get(peer):
                    out.append(f"{subject}/{peer} CPU per request, quiet runs only "
                               f"(other load <= {NOISY_CORES} cores): "
                               f"{quiet_med[subject] / quiet_med[peer]:.2f}")

        # What any proxy with the floor's kernel work would measure with no user time at all:
        # the floor's system time alone over the backend's, against nginx's ratio.
        if "floor" in order and "nginx" in order:
            bound = {}
            for r in lruns:
                if (r["proxy"] == "floor" and r["valid"] and r["backend_us_per_req"]
                        and r["proxy_sys_us_per_req"] is not None):
                    bound[r["round"]] = r["proxy_sys_us_per_req"] / r["backend_us_per_req"]
            rounds = sorted(k for k in bound if per_round["nginx"].get(k))
            if rounds:
                paired = [bound[k] / per_round["nginx"][k] for k in rounds]
                out.append("floor system time alone/nginx CPU per request (a proxy with the "
                           f"floor's kernel work and no user time): {med(paired):.2f}"
                           f"  (same-round pairs: {' '.join(f'{x:.2f}' for x in paired)})")

    if idle:
        out.append("")
        out.append("Idle keep-alive clients (perf/idle_conns.py): proxy RSS, all its processes")
        rows = []
        for proxy in order:
            d = idle.get(proxy)
            if d:
                rows.append([proxy, f"{d['idle_open']}/{d['requested']}", d["rss_before_kib"],
                             d["rss_idle_kib"], f"{d['per_conn_kib']:.2f}",
                             d["rss_after_close_kib"], d["failure"] or "ok"])
        out.append(table(["proxy", "idle conns", "RSS before KiB", "RSS idle KiB",
                          "KiB/conn", "after close KiB", "status"], rows))

    if not runs:
        print("\n".join(out))
        return
    out.append("")
    out.append("Per run (all fields in runs.csv):")
    rows = []
    for r in runs:
        rows.append([r["layout"], r["round"], r["proxy"], fmt(r["rps"], ".0f"),
                     fmt(r["p99_ms"], ".2f"), fmt(r["proxy_us_per_req"], ".2f"),
                     fmt(r["proxy_sched_us_per_req"], ".2f"),
                     fmt(r["backend_us_per_req"], ".2f"), fmt(r["ratio"], ".3f"),
                     *[fmt(r.get(c) * 100 if r.get(c) is not None else None, ".0f") for c in cpus],
                     fmt(r["other_cores"], ".2f"), r["flags"] or "ok"])
    out.append(table(["layout", "round", "proxy", "req/s", "p99 ms", "proxy us/req",
                      "(sched)", "backend us/req", "proxy/backend",
                      *[c[:-5] + " %" for c in cpus], "other", "flags"], rows))
    print("\n".join(out))


if __name__ == "__main__":
    main()
