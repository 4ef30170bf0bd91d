#!/usr/bin/env python3
"""Generates sim/scenarios/large.toml, and checks the sizing of any scenario file.

    scripts/gen_large_scenario.py                  # rewrite sim/scenarios/large.toml
    scripts/gen_large_scenario.py -o out.toml      # write elsewhere ("-" for stdout)
    scripts/gen_large_scenario.py --check sim/scenarios/*.toml

The large scenario is 72 nodes in three zones and 40 services in five call layers
(frontend -> api -> domain -> cache / database). The call graph is drawn from a fixed seed with
our own small random generator, so the output is the same on every machine and Python version;
the generated file is committed, and this script only needs rerunning when it changes.

Services are sized like the hand-written scenarios: the external traffic is pushed through the
call graph to get each service's arrival rate, and replicas and CPU per request are chosen so
that a replica runs at 0.38-0.50 CPU utilisation at base traffic, and below 0.75 at the diurnal
peak. --check recomputes those numbers from any scenario file (Python 3.11+, tomllib).
"""

import argparse
import math
import pathlib
import sys

SEED = 20240611
BASE_RPS = 3000.0
DIURNAL_AMPLITUDE = 0.35
ZONES = ["zone-a", "zone-b", "zone-c"]
NODES_PER_ZONE = 24
NODE_CORES = 16
NODE_MEMORY_GIB = 64

# Call layers, in call order: a service only calls services of later layers, or later
# services of its own layer (domain services call one another), so there is never a cycle.
FRONTENDS = [("web", 0.6), ("mobile-bff", 0.3), ("partner-api", 0.1)]
APIS = ["search-api", "browse-api", "account-api", "cart-api", "checkout-api", "order-api",
        "review-api", "promo-api", "media-api"]
DOMAINS = ["product", "pricing", "inventory", "search-index", "user-profile", "auth", "session",
           "cart", "order", "payment", "fraud-check", "shipping", "tax", "recommendation",
           "review", "promotion", "notification", "image"]
CACHES = ["product-cache", "session-cache", "pricing-cache", "cart-cache", "search-cache"]
DATABASES = ["catalog-db", "user-db", "order-db", "inventory-db", "review-db"]

# Per layer: tier, CPU per request range (s), cores per replica, memory request and limit (GiB),
# memory baseline, startup (s), timeout (ms), queue limit, cost per replica-hour (USD).
LAYER_SHAPE = {
    "frontend": dict(tier="frontend", cpu=(0.003, 0.005), cores=1.0, mem=(0.5, 1.0), base=0.45,
                     startup=15, timeout=3000, queue=300, cost=0.05),
    "api": dict(tier="backend", cpu=(0.002, 0.006), cores=1.0, mem=(0.5, 1.0), base=0.45,
                startup=20, timeout=2000, queue=200, cost=0.05),
    "domain": dict(tier="backend", cpu=(0.002, 0.012), cores=0.5, mem=(0.5, 1.0), base=0.5,
                   startup=25, timeout=1000, queue=200, cost=0.03),
    "cache": dict(tier="cache", cpu=(0.0004, 0.0009), cores=1.0, mem=(2.0, 4.0), base=0.6,
                  startup=10, timeout=100, queue=500, cost=0.06),
    "database": dict(tier="database", cpu=(0.005, 0.012), cores=2.0, mem=(4.0, 8.0), base=0.65,
                     startup=60, timeout=500, queue=300, cost=0.20),
}
MAX_INITIAL_REPLICAS = 8   # beyond this, a service gets bigger replicas instead of more
MAX_CORES_PER_REPLICA = 4.0
MAX_DB_REPLICAS = 3        # a primary and two read replicas: databases do not scale out far
MAX_DB_CORES = 8.0


class Rng:
    """SplitMix64: tiny, and its sequence never changes with the Python version."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def uniform(self, lo, hi):
        return lo + (hi - lo) * (self.next_u64() >> 11) / float(1 << 53)

    def integer(self, lo, hi):  # inclusive
        return lo + self.next_u64() % (hi - lo + 1)

    def sample(self, items, k):
        pool = list(items)
        out = []
        for _ in range(min(k, len(pool))):
            out.append(pool.pop(self.next_u64() % len(pool)))
        return out


def round_sig(x, digits=3):
    """Rounds to a few significant digits so that the file stays readable."""
    if x == 0:
        return 0.0
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


# --------------------------------------------------------------------------------------------
# The call graph

def build_services(rng):
    services = []  # dicts in call order
    for name, share in FRONTENDS:
        services.append(dict(name=name, layer="frontend", share=share, calls={}))
    for name in APIS:
        services.append(dict(name=name, layer="api", share=0.0, calls={}))
    for name in DOMAINS:
        services.append(dict(name=name, layer="domain", share=0.0, calls={}))
    for name in CACHES:
        services.append(dict(name=name, layer="cache", share=0.0, calls={}))
    for name in DATABASES:
        services.append(dict(name=name, layer="database", share=0.0, calls={}))
    by_layer = {}
    for s in services:
        by_layer.setdefault(s["layer"], []).append(s["name"])

    def call(caller, callee, lo, hi):
        caller["calls"][callee] = round(rng.uniform(lo, hi), 2)

    for s in services:
        if s["layer"] == "frontend":
            for callee in rng.sample(by_layer["api"], rng.integer(3, 5)):
                call(s, callee, 0.2, 1.0)
        elif s["layer"] == "api":
            for callee in rng.sample(by_layer["domain"], rng.integer(2, 4)):
                call(s, callee, 0.2, 0.8)
        elif s["layer"] == "domain":
            later = by_layer["domain"][by_layer["domain"].index(s["name"]) + 1:]
            if later and rng.uniform(0, 1) < 0.4:
                call(s, rng.sample(later, 1)[0], 0.1, 0.5)
            for callee in rng.sample(by_layer["cache"], rng.integer(0, 2)):
                call(s, callee, 1.0, 2.0)
            if rng.uniform(0, 1) < 0.8:
                call(s, rng.sample(by_layer["database"], 1)[0], 0.05, 0.3)

    # Every service must be reachable, or it would sit idle: give each one without a caller a
    # call from a service of the layer above.
    above = {"api": "frontend", "domain": "api", "cache": "domain", "database": "domain"}
    for s in services:
        if s["layer"] == "frontend" or any(s["name"] in c["calls"] for c in services):
            continue
        callers = [c for c in services if c["layer"] == above[s["layer"]]]
        caller = callers[rng.next_u64() % len(callers)]
        lo, hi = {"api": (0.2, 1.0), "domain": (0.2, 0.8), "cache": (1.0, 2.0),
                  "database": (0.05, 0.3)}[s["layer"]]
        call(caller, s["name"], lo, hi)
    return services


def arrival_rates(services, base_rps):
    """Arrival rps at each service: external share plus every caller's rate times its calls.
    `services` must be in an order where callers come first (true for both callers here)."""
    rates = {s["name"]: base_rps * s["share"] for s in services}
    for s in services:
        for callee, per_request in s["calls"].items():
            rates[callee] += rates[s["name"]] * per_request
    return rates


def size_services(rng, services, rates):
    for s in services:
        shape = LAYER_SHAPE[s["layer"]]
        is_db = s["layer"] == "database"
        util = rng.uniform(0.38, 0.50)
        cpu = rng.uniform(*shape["cpu"])
        cores = shape["cores"]
        floor = 1 if is_db else 2
        cap = MAX_DB_REPLICAS if is_db else MAX_INITIAL_REPLICAS
        max_cores = MAX_DB_CORES if is_db else MAX_CORES_PER_REPLICA

        def needed(c):
            return max(floor, round(rates[s["name"]] * cpu / (c * util)))

        # A busy service first gets bigger replicas, then cheaper requests (a faster
        # implementation), rather than an unwieldy replica count.
        replicas = needed(cores)
        while replicas > cap and cores < max_cores:
            cores *= 2
            replicas = needed(cores)
        replicas = min(replicas, cap)
        # Re-derive CPU per request so that the chosen replica count lands on the target.
        s["cpu_seconds_per_request"] = round_sig(util * replicas * cores / rates[s["name"]])
        s["cpu_request"] = cores
        s["replicas"] = replicas
        if is_db:
            s["min_replicas"], s["max_replicas"] = 1, min(replicas + 1, MAX_DB_REPLICAS)
        else:
            s["min_replicas"] = max(1, replicas // 2)
            s["max_replicas"] = replicas + max(2, math.ceil(replicas * 0.75))


# --------------------------------------------------------------------------------------------
# Writing

def fmt_num(x):
    if isinstance(x, int):
        return str(x)
    return f"{x:.1f}" if float(x).is_integer() else repr(round_sig(x, 4))


def render(services, rates):
    slots = sum(s["max_replicas"] for s in services)
    peak_cores = sum(s["max_replicas"] * s["cpu_request"] for s in services)
    capacity = len(ZONES) * NODES_PER_ZONE * NODE_CORES
    out = []
    w = out.append
    w("# large: a platform-sized cluster, for scale tests and for training on bigger graphs.")
    w("# GENERATED by scripts/gen_large_scenario.py -- edit the script, not this file.")
    w("#")
    w(f"# {len(ZONES) * NODES_PER_ZONE} nodes ({NODES_PER_ZONE} per zone in {len(ZONES)} zones, "
      f"{NODE_CORES} cores each) run {len(services)} services in five call layers:")
    w(f"#   frontend ({len(FRONTENDS)}) -> api ({len(APIS)}) -> domain ({len(DOMAINS)}, which "
      "also call one another)")
    w(f"#     -> cache ({len(CACHES)}) and database ({len(DATABASES)})")
    w(f"# At base traffic ({BASE_RPS:g} rps; the diurnal peak is {1 + DIURNAL_AMPLITUDE:g} times "
      "that) every replica runs")
    w("# at 0.38-0.50 CPU utilisation; each service's comment gives its arrival rate. "
      f"{slots} replica slots")
    w(f"# need at most {peak_cores:g} of the {capacity} cores. See docs/scenarios.md for the "
      "file format.")
    w("")
    w('name = "large"')
    w(f'description = "{len(ZONES) * NODES_PER_ZONE} nodes in {len(ZONES)} zones, '
      f'{len(services)} services in 5 layers, ~{BASE_RPS:g} rps"')
    w("")
    w("[slo]\np99_latency_ms = 800\nerror_rate = 0.01")
    w("")
    w('[telemetry]\nscrape_interval = "15s"\nnoise = 0.03')
    w("")
    w(f"[traffic]\nbase_rps = {BASE_RPS:g}\ndiurnal_amplitude = {DIURNAL_AMPLITUDE}")
    w('period = "24h"\nphase = "0s"\nnoise_sigma = 0.05\nnoise_correlation = "5m"')
    w('surges_per_hour = 0.1\nsurge_multiplier = 2.0\nsurge_duration = "20m"')
    for zone in ZONES:
        w("")
        w("[[nodes]]")
        w(f'name = "node-{zone[-1]}"')
        w(f"count = {NODES_PER_ZONE}")
        w(f'zone = "{zone}"')
        w(f"cpu_cores = {NODE_CORES}\nmemory_gib = {NODE_MEMORY_GIB}\ndisk_gib = 200")
        w("disk_baseline = 0.35\ncost_per_hour = 0.80")
    layer = None
    for s in services:
        shape = LAYER_SHAPE[s["layer"]]
        if s["layer"] != layer:
            layer = s["layer"]
            w("")
            w(f"# --- {layer} layer " + "-" * (84 - len(layer)))
        util = rates[s["name"]] / s["replicas"] * s["cpu_seconds_per_request"] / s["cpu_request"]
        w("")
        w(f"# {rates[s['name']]:.0f} rps, utilisation {util:.2f} at base traffic")
        w("[[services]]")
        w(f'name = "{s["name"]}"')
        w(f'tier = "{shape["tier"]}"')
        w(f"cpu_seconds_per_request = {fmt_num(s['cpu_seconds_per_request'])}")
        w(f"cpu_request = {fmt_num(s['cpu_request'])}")
        mem_request = shape["mem"][0] * s["cpu_request"] / shape["cores"]
        w(f"memory_request_gib = {fmt_num(mem_request)}")
        w(f"memory_limit_gib = {fmt_num(2 * mem_request)}")
        w(f"memory_baseline = {shape['base']}")
        w(f"replicas = {s['replicas']}")
        w(f"min_replicas = {s['min_replicas']}")
        w(f"max_replicas = {s['max_replicas']}")
        w(f"startup_seconds = {shape['startup']}")
        w(f"timeout_ms = {shape['timeout']}")
        w(f"queue_limit = {shape['queue']}")
        if s["share"] > 0:
            w(f"traffic_share = {s['share']}")
        w(f"cost_per_replica_hour = {fmt_num(shape['cost'] * s['cpu_request'] / shape['cores'])}")
        if s["calls"]:
            w("calls = [")
            for callee, per_request in s["calls"].items():
                w(f'  {{ service = "{callee}", calls_per_request = {per_request} }},')
            w("]")
    return "\n".join(out) + "\n"


def generate():
    rng = Rng(SEED)
    services = build_services(rng)
    rates = arrival_rates(services, BASE_RPS)
    size_services(rng, services, rates)
    return render(services, rates)


# --------------------------------------------------------------------------------------------
# Checking any scenario file

def check(path):
    import tomllib  # Python 3.11+; only the check needs it

    doc = tomllib.loads(pathlib.Path(path).read_text())
    traffic = doc.get("traffic", {})
    base = traffic.get("base_rps", 100.0)
    peak_factor = 1 + traffic.get("diurnal_amplitude", 0.3)
    specs = doc["services"]
    services = [dict(name=s["name"], share=s.get("traffic_share", 0.0),
                     calls={c["service"]: c.get("calls_per_request", 1.0)
                            for c in s.get("calls", [])}) for s in specs]
    # Callers before callees (Kahn), as the file order need not be.
    callers = {s["name"]: 0 for s in services}
    for s in services:
        for callee in s["calls"]:
            callers[callee] += 1
    ordered, ready = [], [s for s in services if callers[s["name"]] == 0]
    by_name = {s["name"]: s for s in services}
    while ready:
        s = ready.pop(0)
        ordered.append(s)
        for callee in s["calls"]:
            callers[callee] -= 1
            if callers[callee] == 0:
                ready.append(by_name[callee])
    rates = arrival_rates(ordered, base)

    ok = True
    print(f"{path}: base {base:g} rps, peak x{peak_factor:g}")
    print(f"  {'service':<18} {'rps':>8} {'repl':>5} {'util':>6} {'peak':>6}")
    for spec in specs:
        replicas = spec.get("replicas", 2)
        util = (rates[spec["name"]] / replicas * spec.get("cpu_seconds_per_request", 0.01)
                / spec.get("cpu_request", 1.0))
        flag = ""
        if not 0.30 <= util <= 0.60 or util * peak_factor >= 0.75:
            flag, ok = "  <-- outside 0.30-0.60 base or >= 0.75 peak", False
        print(f"  {spec['name']:<18} {rates[spec['name']]:8.1f} {replicas:5d} {util:6.2f} "
              f"{util * peak_factor:6.2f}{flag}")
    nodes = sum(n.get("count", 1) for n in doc["nodes"])
    cores = sum(n.get("count", 1) * n.get("cpu_cores", 8.0) for n in doc["nodes"])
    slots = sum(s.get("max_replicas", 6) for s in specs)
    max_cores = sum(s.get("max_replicas", 6) * s.get("cpu_request", 1.0) for s in specs)
    print(f"  {nodes} nodes, {len(specs)} services, {slots} replica slots needing "
          f"{max_cores:g} of {cores:g} cores")
    if max_cores > cores:
        print("  <-- replica slots do not fit on the nodes")
        ok = False
    return ok


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(root / "sim/scenarios/large.toml"),
                        help="where to write the generated scenario ('-' for stdout)")
    parser.add_argument("--check", nargs="+", metavar="FILE",
                        help="print the per-service utilisation of these scenarios instead")
    args = parser.parse_args()
    if args.check:
        results = [check(path) for path in args.check]
        return 0 if all(results) else 1
    text = generate()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        pathlib.Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
