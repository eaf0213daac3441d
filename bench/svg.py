#!/usr/bin/python3
"""Turn bench/run's raw results into a table of medians and ratios and one
hand-written SVG chart per benchmark (no plotting library).

    svg.py RESULTS.csv IMG_DIR [SCALING.csv]   -> table on stdout, IMG_DIR/*.svg
    svg.py --markdown RESULTS.csv              -> the same table in Markdown

RESULTS.csv rows: bench,impl,value (one row per repetition; "TODO" as value
marks a peer or program that was missing). SCALING.csv is bench/scaling --csv.
"""
import csv
import math
import statistics
import sys
from html import escape

# bench id -> (title, unit, lower_is_better)
BENCHES = {
    "switch_raw": ("Raw context switch (one jump)", "ns", True),
    "switch_task": ("Task switch (one yield through the scheduler)", "ns", True),
    "spawn_join": ("Spawn + join, one task at a time", "ns", True),
    "idle_100k": ("Idle memory, 100,000 parked tasks", "bytes/task", True),
    "idle_1m": ("Idle memory, 1,000,000 parked tasks", "bytes/task", True),
    "chan_pingpong": ("Unbuffered channel ping-pong", "ns/round trip", True),
    "echo": ("TCP echo, 64-byte messages, 100 connections", "msgs/s", False),
    "http_hello": ("HTTP/1.1 hello, wrk -t1 -c50 keep-alive", "req/s", False),
    "crawl": ("Crawl of the local demo site", "pages/s", False),
}
# bench/run's "cores": one bench id per loop count k, drawn as one chart
CORES = {
    "cores_http": ("HTTP/1.1 hello on k loops / workers, wrk -t2 -c100", "req/s", False),
    "cores_http_cpu": ("Server CPU time per hello request, k loops / workers", "µs/request", True),
    "cores_crawl": ("Crawl of the zero-latency demo site, --workers k", "pages/s", False),
    "cores_crawl_cpu": ("Crawler CPU time per page, --workers k", "µs/page", True),
}


def cores_key(bench):
    """("cores_http", 2) for "cores_http_2", else None."""
    head, _, k = bench.rpartition("_")
    return (head, int(k)) if head in CORES and k.isdigit() else None


for _b in [f"{h}_{k}" for h in CORES for k in range(1, 65)]:
    _h, _k = cores_key(_b)
    BENCHES[_b] = (f"{CORES[_h][0]} (k = {_k})", CORES[_h][1], CORES[_h][2])
TULIP_COLOUR = "#c2185b"
PEER_COLOUR = "#607d8b"


def load(path):
    data = {}
    with open(path) as f:
        for row in csv.reader(f):
            if len(row) != 3 or row[0].startswith("#"):
                continue
            bench, impl, value = row
            data.setdefault(bench, {}).setdefault(impl, []).append(value)
    out = {}
    for bench, impls in data.items():
        out[bench] = {}
        for impl, values in impls.items():
            nums = []
            for v in values:
                try:
                    nums.append(float(v))
                except ValueError:  # "TODO", or a program that printed nothing
                    pass
            out[bench][impl] = (statistics.median(nums), len(nums)) if nums else (None, 0)
    return out


def fmt(v):
    if v is None:
        return "TODO"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}" if v < 10 else f"{v:.1f}"


def ratio_text(bench, impl, v, base):
    """How tulip compares with impl, phrased so that > 1 favours tulip."""
    if impl.startswith("tulip") or v is None or base is None or base == 0 or v == 0:
        return ""
    lower = BENCHES.get(bench, ("", "", True))[2]
    r = v / base if lower else base / v
    return f"tulip {r:.2f}x" if r >= 1 else f"tulip {r:.2f}x (peer ahead)"


def tulip_value(impls):
    for impl, (v, _) in impls.items():
        if impl.startswith("tulip") and v is not None:
            return v
    return None


def ordered(data):
    return [b for b in BENCHES if b in data] + [b for b in data if b not in BENCHES]


def table(data, markdown=False):
    lines = []
    if markdown:
        lines.append("| benchmark | implementation | median | unit | tulip vs it |")
        lines.append("|---|---|---:|---|---|")
    for bench in ordered(data):
        title, unit, _ = BENCHES.get(bench, (bench, "", True))
        impls = data[bench]
        base = tulip_value(impls)
        if not markdown:
            lines.append(f"{title} [{unit}]")
        for impl, (v, n) in impls.items():
            r = ratio_text(bench, impl, v, base)
            if markdown:
                lines.append(f"| {title} | {impl} | {fmt(v)} | {unit} | {r} |")
            else:
                lines.append(f"  {impl:<28} {fmt(v):>12}  {r}" + (f"  (median of {n})" if n > 1 else ""))
    return "\n".join(lines)


def bar_chart(bench, impls, path):
    title, unit, lower = BENCHES.get(bench, (bench, "", True))
    rows = [(impl, v) for impl, (v, _) in impls.items()]
    vals = [v for _, v in rows if v]
    if not vals:
        return
    lo, hi = min(vals), max(vals)
    use_log = hi / lo > 30
    left, width, bar_h, gap, top = 190, 460, 22, 8, 56
    height = top + len(rows) * (bar_h + gap) + 40

    if use_log:
        lmin = math.floor(math.log10(lo))
        lmax = math.ceil(math.log10(hi))
        if lmax == lmin:
            lmax += 1

        def scale(v):
            return width * (math.log10(v) - lmin) / (lmax - lmin)
        ticks = [10 ** e for e in range(lmin, lmax + 1)]
    else:
        step = 10 ** math.floor(math.log10(hi))
        top_v = math.ceil(hi / step) * step

        def scale(v):
            return width * v / top_v
        ticks = [i * step for i in range(int(top_v / step) + 1)]

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 130}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="20" font-size="15" font-weight="bold">{escape(title)}</text>',
           f'<text x="10" y="38" fill="#555">{escape(unit)}, median; '
           f'{"lower" if lower else "higher"} is better{"; log scale" if use_log else ""}</text>']
    axis_y = height - 30
    for t in ticks:
        x = left + scale(t)
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#555">{fmt(t)}</text>')
    for i, (impl, v) in enumerate(rows):
        y = top + i * (bar_h + gap)
        colour = TULIP_COLOUR if impl.startswith("tulip") else PEER_COLOUR
        out.append(f'<text x="{left - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">{escape(impl)}</text>')
        if v is None:
            out.append(f'<text x="{left + 4}" y="{y + bar_h * 0.7:.1f}" fill="#b00">TODO: not measured</text>')
            continue
        w = max(scale(v), 1.0)
        out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
        out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h * 0.7:.1f}">{fmt(v)}</text>')
    out.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + width}" y2="{axis_y}" stroke="#333"/>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def scaling_chart(path_csv, path_svg):
    with open(path_csv) as f:
        rows = [r for r in csv.DictReader(f)]
    if not rows:
        return
    ns = [float(r["n"]) for r in rows]
    series = [("spawn_join_ns", "spawn + join, ns per task"),
              ("rss_bytes_per_task", "resident bytes per parked task"),
              ("yield_ns", "ns per yield, N tasks ready")]
    pw, ph, pad = 300, 220, 90
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{len(series) * (pw + pad) + 20}" '
           f'height="{ph + 110}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="15" font-weight="bold">tulip: cost vs number of tasks '
           '(log-log; x = tasks)</text>']
    for k, (key, label) in enumerate(series):
        ox, oy = 20 + k * (pw + pad) + 60, 50
        pts = [(n, float(r[key])) for n, r in zip(ns, rows) if float(r[key]) > 0]
        if not pts:
            continue
        ymin = 10 ** math.floor(math.log10(min(v for _, v in pts)))
        ymax = 10 ** math.ceil(math.log10(max(v for _, v in pts)))
        if ymax <= ymin:
            ymax = ymin * 10
        xmax = max(ns)

        def sx(n):
            return ox + pw * math.log10(n) / max(math.log10(xmax), 1)

        def sy(v):
            return oy + ph - ph * (math.log10(v) - math.log10(ymin)) / (math.log10(ymax) - math.log10(ymin))
        out.append(f'<text x="{ox}" y="{oy - 8}" font-weight="bold">{escape(label)}</text>')
        e = math.log10(ymin)
        while e <= math.log10(ymax) + 1e-9:
            y = sy(10 ** e)
            out.append(f'<line x1="{ox}" y1="{y:.1f}" x2="{ox + pw}" y2="{y:.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{ox - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{fmt(10 ** e)}</text>')
            e += 1
        for n in ns:
            x = sx(n)
            out.append(f'<line x1="{x:.1f}" y1="{oy}" x2="{x:.1f}" y2="{oy + ph}" stroke="#eee"/>')
            out.append(f'<text x="{x:.1f}" y="{oy + ph + 14}" text-anchor="middle" fill="#555">'
                       f'{"1e%d" % round(math.log10(n)) if n >= 1000 else int(n)}</text>')
        path = " ".join(f"{'M' if i == 0 else 'L'}{sx(n):.1f},{sy(v):.1f}" for i, (n, v) in enumerate(pts))
        out.append(f'<path d="{path}" fill="none" stroke="{TULIP_COLOUR}" stroke-width="2"/>')
        for n, v in pts:
            out.append(f'<circle cx="{sx(n):.1f}" cy="{sy(v):.1f}" r="3" fill="{TULIP_COLOUR}"/>')
            out.append(f'<text x="{sx(n) + 4:.1f}" y="{sy(v) - 6:.1f}" font-size="10">{fmt(v)}</text>')
        out.append(f'<rect x="{ox}" y="{oy}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append("</svg>")
    with open(path_svg, "w") as f:
        f.write("\n".join(out) + "\n")


def cores_chart(data, path):
    """Throughput (and CPU per page) against loops: one panel per series
    kind, one line per implementation."""
    panels = {}
    for bench, impls in data.items():
        key = cores_key(bench)
        if not key:
            continue
        for impl, (v, _) in impls.items():
            if v is not None:
                name = impl.replace(f" --workers {key[1]}", "")
                panels.setdefault(key[0], {}).setdefault(name, []).append((key[1], v))
    if not panels:
        return
    colours = ["#c2185b", "#f06292", "#607d8b", "#00897b", "#ff8f00"]
    pw, ph, pad = 300, 220, 110
    kinds = [k for k in CORES if k in panels]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{len(kinds) * (pw + pad) + 20}" '
           f'height="{ph + 170}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="15" font-weight="bold">tulip on several cores: '
           'figures against loops (x = loops, worker processes or GOMAXPROCS)</text>']
    for p, kind in enumerate(kinds):
        title, unit, lower = CORES[kind]
        series = panels[kind]
        ox, oy = 20 + p * (pw + pad) + 60, 60
        ks = sorted({k for pts in series.values() for k, _ in pts})
        vmax = max(v for pts in series.values() for _, v in pts)
        step = 10 ** math.floor(math.log10(vmax))
        top = math.ceil(vmax / step) * step

        def sx(k):
            return ox + (pw * (k - ks[0]) / (ks[-1] - ks[0]) if len(ks) > 1 else pw / 2)

        def sy(v):
            return oy + ph - ph * v / top
        out.append(f'<text x="{ox}" y="{oy - 22}" font-weight="bold">{escape(title)}</text>')
        out.append(f'<text x="{ox}" y="{oy - 8}" fill="#555">{escape(unit)}, median; '
                   f'{"lower" if lower else "higher"} is better</text>')
        for i in range(int(top / step) + 1):
            y = sy(i * step)
            out.append(f'<line x1="{ox}" y1="{y:.1f}" x2="{ox + pw}" y2="{y:.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{ox - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{fmt(i * step)}</text>')
        for k in ks:
            out.append(f'<text x="{sx(k):.1f}" y="{oy + ph + 14}" text-anchor="middle" fill="#555">{k}</text>')
        for j, (name, pts) in enumerate(sorted(series.items(), key=lambda s: not s[0].startswith("tulip"))):
            pts.sort()
            c = colours[j % len(colours)]
            d = " ".join(f"{'M' if i == 0 else 'L'}{sx(k):.1f},{sy(v):.1f}" for i, (k, v) in enumerate(pts))
            out.append(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="2"/>')
            for k, v in pts:
                out.append(f'<circle cx="{sx(k):.1f}" cy="{sy(v):.1f}" r="3" fill="{c}"/>')
                out.append(f'<text x="{sx(k) + 4:.1f}" y="{sy(v) - 6:.1f}" font-size="10">{fmt(v)}</text>')
            out.append(f'<text x="{ox}" y="{oy + ph + 34 + 14 * j}" fill="{c}">— {escape(name)}</text>')
        out.append(f'<rect x="{ox}" y="{oy}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main(argv):
    if len(argv) >= 2 and argv[0] == "--markdown":
        print(table(load(argv[1]), markdown=True))
        return 0
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    data = load(argv[0])
    print(table(data))
    for bench in ordered(data):
        if not cores_key(bench):
            bar_chart(bench, data[bench], f"{argv[1]}/{bench}.svg")
    cores_chart(data, f"{argv[1]}/cores.svg")
    if len(argv) == 3:
        scaling_chart(argv[2], f"{argv[1]}/scaling.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
