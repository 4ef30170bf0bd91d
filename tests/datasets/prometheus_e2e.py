"""opsrl's Prometheus path end to end, with real processes (run by CTest, see CMakeLists.txt).

--mode server      `opsrl simulate --serve-metrics`: 200 with the text format on /metrics, 404,
                   405, HEAD, concurrent scrapes all answered whole, clean exit on SIGTERM and at
                   the end of --duration.
--mode prometheus  a real Prometheus server scrapes a paced `opsrl simulate --serve-metrics`
                   every second; its /api/v1/query_range answers are imported with
                   `opsrl dataset import-prometheus`; the answers and the dataset's features
                   are checked against the simulator's own record (--metrics-out CSV of the same
                   run). Exit 77 (skipped) only when the prometheus binary is absent.

Every wait has a deadline and every process started here is killed on the way out.
"""
import argparse
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request

SKIP = 77
PROCS = []


def log(msg):
    print(msg, flush=True)


def fail(msg):
    raise AssertionError(msg)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, out_path, err_path):
    p = subprocess.Popen(cmd, stdout=open(out_path, "w"), stderr=open(err_path, "w"), start_new_session=True)
    PROCS.append(p)
    return p


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def http(url, method="GET", timeout=3.0):
    """(status, headers, body) of one request; urllib raises on 4xx/5xx, which is caught."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def wait_for(what, fn, deadline_s, interval=0.2):
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        try:
            v = fn()
            if v:
                return v
        except (OSError, ValueError, KeyError) as e:
            last = e
        time.sleep(interval)
    fail(f"timed out after {deadline_s} s waiting for {what} (last error: {last})")


def served_port(err_path, proc):
    def port():
        if proc.poll() is not None:
            fail(f"opsrl simulate exited early ({proc.returncode}): {open(err_path).read()}")
        m = re.search(r"serving metrics on http://[^:]+:(\d+)/metrics", open(err_path).read())
        return int(m.group(1)) if m else None
    return wait_for("the metrics server's address on stderr", port, 20)


# ---------------------------------------------------------------------------------------------
def server_mode(a):
    d = a.workdir
    sim = start([a.opsrl, "simulate", "--scenario", "small", "--duration", "2h", "--pace", "60", "--quiet",
                 "--serve-metrics", "127.0.0.1:0"], f"{d}/sim.out", f"{d}/sim.err")
    port = served_port(f"{d}/sim.err", sim)
    base = f"http://127.0.0.1:{port}"
    status, headers, body = wait_for("a 200 on /metrics", lambda: (lambda r: r if r[0] == 200 else None)(http(base + "/metrics")), 10)
    if headers.get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8":
        fail(f"Content-Type {headers.get('Content-Type')!r}")
    text = body.decode()
    for needle in ("# HELP opsrl_node_cpu_utilisation ", "# TYPE opsrl_service_restarts_total counter",
                   'opsrl_service_latency_p99_seconds{service="frontend"} ', 'opsrl_replica_ready{service="api",replica="api-0"} ',
                   "opsrl_sim_time_seconds "):
        if needle not in text:
            fail(f"/metrics lacks {needle!r}:\n{text[:2000]}")
    if http(base + "/")[0] != 404 or http(base + "/metrics/x")[0] != 404:
        fail("other paths must be 404")
    if http(base + "/metrics", "POST")[0] != 405:
        fail("POST /metrics must be 405")
    s, h, b = http(base + "/metrics", "HEAD")
    if s != 200 or b:
        fail(f"HEAD: {s}, {len(b)} bytes of body")
    results = []

    def scrape():
        s, h, b = http(base + "/metrics", timeout=5)
        results.append((s, int(h.get("Content-Length", -1)), len(b), b.decode().endswith("\n")))
    threads = [threading.Thread(target=scrape) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    bad = [r for r in results if not (r[0] == 200 and r[1] == r[2] and r[3])]
    if len(results) != 16 or bad:
        fail(f"concurrent scrapes: {len(results)} answered, bad: {bad}")
    log(f"server: 200/404/405/HEAD as specified; 16 concurrent scrapes answered whole ({results[0][2]} bytes each)")
    t0 = time.monotonic()
    sim.send_signal(signal.SIGTERM)
    rc = sim.wait(timeout=5)
    err = open(f"{d}/sim.err").read()
    if rc != 0 or "stopped by SIGTERM" not in err or "Summary:" not in open(f"{d}/sim.out").read():
        fail(f"SIGTERM: exit {rc}, stderr:\n{err}")
    log(f"SIGTERM: clean exit 0 in {time.monotonic() - t0:.2f} s, summary printed")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        fail("the port still accepts connections after exit")
    except OSError:
        pass
    # The end of --duration ends the run (and the server) by itself: 2 min at 60x = 2 s.
    t0 = time.monotonic()
    done = subprocess.run([a.opsrl, "simulate", "--scenario", "small", "--duration", "2m", "--pace", "60", "--quiet",
                           "--serve-metrics", "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
    took = time.monotonic() - t0
    if done.returncode != 0 or "metrics server stopped" not in done.stderr:
        fail(f"paced 2 min run: exit {done.returncode}\n{done.stderr}")
    if took < 2.0:
        fail(f"2 simulated minutes at pace 60 took {took:.2f} s of wall time (expected >= 2 s)")
    log(f"--duration 2m --pace 60: exited by itself after {took:.2f} s wall")


# ---------------------------------------------------------------------------------------------
def prometheus_mode(a):
    prom = a.prometheus if a.prometheus and os.path.exists(a.prometheus) else shutil.which("prometheus")
    if not prom:
        log("SKIP: the prometheus binary is not installed (Debian package `prometheus`; scripts/setup installs it)")
        return SKIP
    d = a.workdir
    t_begin = time.monotonic()
    sim_port, prom_port = free_port(), free_port()
    os.makedirs(f"{d}/tsdb", exist_ok=True)
    with open(f"{d}/prometheus.yml", "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1m\n"
                "scrape_configs:\n  - job_name: opsrl\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{sim_port}']\n")
    start([prom, f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/tsdb",
           f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"], f"{d}/prometheus.out", f"{d}/prometheus.err")
    api = f"http://127.0.0.1:{prom_port}"
    wait_for("Prometheus to be ready", lambda: http(api + "/-/ready")[0] == 200, 20)
    log(f"prometheus ready on 127.0.0.1:{prom_port} after {time.monotonic() - t_begin:.1f} s "
        f"({subprocess.run([prom, '--version'], capture_output=True, text=True).stdout.splitlines()[0]})")

    # Prometheus hands new targets to its scrape loops every 5 s: wait until ours is being
    # scraped (and failing, nothing listens yet), so that the run is seen from its start.
    def scraping():
        targets = json.loads(http(api + "/api/v1/targets")[2])["data"]["activeTargets"]
        return any(t["scrapeUrl"].startswith(f"http://127.0.0.1:{sim_port}/") and not t["lastScrape"].startswith("0001")
                   for t in targets)
    wait_for("Prometheus to scrape the (not yet started) target", scraping, 20)
    log(f"prometheus scraping 127.0.0.1:{sim_port} every 1 s after {time.monotonic() - t_begin:.1f} s")

    # 10 simulated minutes at 30x: 20 s of wall time, a simulated scrape every 0.5 s wall.
    wall0 = time.time()
    sim = start([a.opsrl, "simulate", "--scenario", "default", "--seed", "7", "--duration", "10m", "--pace", "30",
                 "--inject", "bad_deploy@2m:checkout", "--quiet", "--metrics-out", f"{d}/sim.csv",
                 "--serve-metrics", f"127.0.0.1:{sim_port}"], f"{d}/sim.out", f"{d}/sim.err")

    def scraped():
        r = json.loads(http(api + "/api/v1/query?query=opsrl_sim_time_seconds")[2])
        return r["data"]["result"]
    wait_for("the first samples in Prometheus", scraped, 20)
    log(f"data arrived in Prometheus {time.time() - wall0:.1f} s after the simulator started")
    rc = sim.wait(timeout=45)
    if rc != 0:
        fail(f"opsrl simulate exited {rc}:\n{open(f'{d}/sim.err').read()}")
    time.sleep(1.5)
    wall1 = time.time()
    files = []
    for i, q in enumerate(['{__name__=~"opsrl_(node|slo|sim|alert).*"}', '{__name__=~"opsrl_(service|replica).*"}']):
        url = api + "/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": q, "start": f"{wall0 - 2:.3f}", "end": f"{wall1:.3f}", "step": "0.5"})
        status, _, body = http(url, timeout=10)
        if status != 200:
            fail(f"query_range {q}: HTTP {status}: {body[:300]}")
        path = f"{d}/query_range_{i}.json"
        with open(path, "wb") as f:
            f.write(body)
        files.append(path)
    sizes = [os.path.getsize(p) for p in files]

    labels = f"{d}/labels.toml"
    with open(labels, "w") as f:
        f.write('clock = "opsrl_sim_time_seconds"\n\n[[incidents]]\nstart = "1m"\nend = "9m"\nonset = "2m"\n'
                'root = "checkout"\nfault = "bad_deploy"\n')
    h5 = f"{d}/prometheus.h5"
    t0 = time.monotonic()
    imp = subprocess.run([a.opsrl, "dataset", "import-prometheus", "--query-range", files[0], "--query-range", files[1],
                          "--labels", labels, "--scenario", "default", "--out", h5], capture_output=True, text=True, timeout=60)
    import_s = time.monotonic() - t0
    if imp.returncode != 0:
        fail(f"import-prometheus failed ({imp.returncode}):\n{imp.stdout}{imp.stderr}")
    log(imp.stdout.rstrip())
    chk = subprocess.run([a.opsrl, "dataset", "check", h5], capture_output=True, text=True, timeout=60)
    if chk.returncode != 0 or ": ok:" not in chk.stdout:
        fail(f"dataset check:\n{chk.stdout}{chk.stderr}")

    compare(d, files, h5)
    log(f"figures: query_range answers {sizes[0]} + {sizes[1]} bytes; import {import_s:.2f} s; "
        f"dataset {os.path.getsize(h5)} bytes; whole test {time.monotonic() - t_begin:.1f} s")
    return 0


def sim_name(prom_name):
    """opsrl_service_latency_p99_seconds -> (service_latency_p99_ms, 1000): the exposition's rule, undone."""
    n = prom_name[len("opsrl_"):]
    if n.endswith("_seconds") and not n.endswith(("_deploy_age_seconds", "_uptime_seconds")):
        return n[: -len("_seconds")] + "_ms", 1000.0
    return n, 1.0


def close(a, b, rel, abs_):
    return abs(a - b) <= abs_ + rel * abs(b)


def compare(d, files, h5):
    import h5py  # Debian's python3-h5py (scripts/setup)

    record = {}
    order = {"node": [], "service": [], "replica": []}
    alerts = set()
    with open(f"{d}/sim.csv") as f:
        for row in csv.DictReader(f):
            t = float(row["time_s"])
            if row["metric"].startswith("alert_"):
                alerts.add((t, row["metric"][6:], row["entity"]))
                continue
            record[(t, row["metric"], row["entity"])] = float(row["value"])
            if t == 0:
                for kind, first in (("node", "node_ready"), ("service", "service_request_rate"), ("replica", "replica_present")):
                    if row["metric"] == first:
                        order[kind].append(row["entity"])
    scrapes = sorted({k[0] for k in record})

    # 1. Every sample Prometheus answered equals the record at the simulated time it carries.
    series = []
    for p in files:
        r = json.load(open(p))
        if r["status"] != "success" or r["data"]["resultType"] != "matrix":
            fail(f"{p}: {r.get('status')} {r.get('data', {}).get('resultType')}")
        series += r["data"]["result"]
    clock = {}
    for s in series:
        if s["metric"]["__name__"] == "opsrl_sim_time_seconds":
            clock = {ts: float(v) for ts, v in s["values"]}
    if not clock:
        fail("no opsrl_sim_time_seconds series in the answers")
    seen = sorted(set(clock.values()))
    compared = mismatched = alert_samples = 0
    for s in series:
        m = s["metric"]
        name = m["__name__"]
        if name in ("opsrl_sim_time_seconds", "opsrl_slo_ok", "opsrl_replica_info"):
            continue
        if name == "opsrl_alert_firing":
            for ts, v in s["values"]:
                entity = m.get("replica") or m.get("service") or m.get("node")
                alert_samples += 1
                if (clock.get(ts), m["alertname"], entity) not in alerts:
                    fail(f"alert {m['alertname']} {entity} at t={clock[ts]} is not in the record")
            continue
        metric, scale = sim_name(name)
        entity = m.get("replica") or m.get("service") or m.get("node")
        for ts, v in s["values"]:
            if ts not in clock:
                fail(f"{name} {entity} has a sample at {ts}, where opsrl_sim_time_seconds has none")
            want = record.get((clock[ts], metric, entity))
            if want is None:
                fail(f"{name} {entity} at t={clock[ts]}: not in the record")
            compared += 1
            if not close(float(v) * scale, want, 1e-5, 1e-9):  # the CSV keeps 6 significant digits
                mismatched += 1
                if mismatched <= 5:
                    log(f"MISMATCH {name} {entity} t={clock[ts]}: served {float(v) * scale} vs record {want}")
    if mismatched:
        fail(f"{mismatched} of {compared} samples differ from the record")
    if len(seen) < 10:
        fail(f"Prometheus kept only {len(seen)} distinct simulated scrapes")
    log(f"query_range vs record: {compared} samples of {len(series)} series equal to the record (rel 1e-5) at "
        f"{len(seen)} of {len(scrapes)} simulated scrapes; {alert_samples} alert samples all in the record")

    # 2. The dataset's features are the record's values at the snapshot each step holds.
    with h5py.File(h5, "r") as f:
        spec = json.loads(f.attrs["env_spec"])
        slo_ms = tomllib.loads(f.attrs["scenario_toml"])["slo"]["p99_latency_ms"]
        ep = f["episode_0"]
        feats = ep["observations/features"][()]
        times = ep["infos/time_s"][()]
        truth = ep["infos/ground_truth"]
        fault_names = list(truth["fault_type"].attrs["names"])
        ftype, root, onset = int(truth["fault_type"][0]), int(truth["root_token"][0]), float(truth["onset_s"][0])
    H = spec["history"]
    N, S = len(order["node"]), len(order["service"])
    newest = lambda m: 4 + m * H + (H - 1)  # docs/observation.md: column 4 + m*H + (H-1-age)
    checks = [  # (token of entity i, kind, CSV metric, column, scale)
        (lambda i: 1 + i, "node", "node_cpu_utilisation", newest(0), 1.0),
        (lambda i: 1 + i, "node", "node_memory_utilisation", newest(1), 1.0),
        (lambda i: 1 + N + i, "service", "service_error_rate", newest(1), 1.0),
        (lambda i: 1 + N + i, "service", "service_latency_p99_ms", newest(2), 1.0 / slo_ms),
        (lambda i: 1 + N + S + i, "replica", "replica_memory_utilisation", newest(1), 1.0),
        (lambda i: 1 + N + S + i, "replica", "replica_latency_p99_ms", newest(3), 1.0 / slo_ms),
    ]
    start_s = 60.0
    values = 0
    for k in range(feats.shape[0]):
        t = start_s + times[k]
        held = max([c for c in seen if c <= t + 1e-6] or seen[:1])  # before the first snapshot: the first
        for token, kind, metric, col, scale in checks:
            for i, entity in enumerate(order[kind]):
                want = record[(held, metric, entity)] * scale
                got = float(feats[k, token(i), col])
                values += 1
                if not close(got, want, 2e-5, 1e-6):
                    fail(f"row {k} (t={t}, snapshot {held}) {metric} {entity}: dataset {got} vs record {want}")
    if fault_names[ftype] != "bad_deploy" or root != 1 + N + order["service"].index("checkout") or abs(onset - 60) > 1e-9:
        fail(f"ground truth: {fault_names[ftype]} token {root} onset {onset}")
    log(f"dataset vs record: {feats.shape[0]} rows x {values // feats.shape[0]} values equal to the record at the held "
        f"snapshot (rel 2e-5); ground truth bad_deploy at checkout's token {root}, onset 60 s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["server", "prometheus"], required=True)
    ap.add_argument("--opsrl", required=True)
    ap.add_argument("--prometheus", default="")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    try:
        rc = server_mode(a) if a.mode == "server" else prometheus_mode(a)
    except AssertionError as e:
        log(f"FAILED: {e}")
        for name in ("sim.err", "prometheus.err"):
            p = os.path.join(a.workdir, name)
            if os.path.exists(p):
                log(f"--- {name}:\n{open(p).read()[-3000:]}")
        rc = 1
    finally:
        stop_all()
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
