#!/usr/bin/env python3
"""Headless-Chromium check of limitlab report.html and sweep.html files (called by tests/html-check.sh).

Drives Debian's chromium with Playwright for Python (PyPI `playwright`, launched with
executable_path, so no browser download). Per file, at a 1,280-px-wide viewport:
  1. static: the page has charts, loads nothing (no src/href/url() other than #fragments), and
     its only script is inline and allowed by the sha256 hash in its Content-Security-Policy;
  2. load: no console message, no page error, no request but the file itself (a CSP
     violation is a console error); every <svg> is in the DOM with a <title>;
  3. layout: no horizontal page overflow and no table wider than its container (clipped or
     scrolled) at 1,280 px;
  4. render: a full-page screenshot that is not blank, and inside each chart's box pixels of
     the chart's own line colours (a chart whose lines did not render shows only grey axes);
  3b. replications: with several seeds in report.json, the strategy table shows each figure's
     across-seed mean and 95% interval, and compare's differences are marked n.s. exactly where
     their interval includes 0;
  3c. sections: "Batch offload" (report.json has summary.deferral) and "Models" (summary.models
     or summary.trim) render one row per strategy (× model) with report.json's numbers, and
     neither the tables nor any of their cells clip at 1,280 px, and a legend click keeps their
     rows (as every table's);
  5. interaction: a click on one strategy's legend entry hides that strategy's series in every
     chart (and nothing else), time axes re-fit to the series still shown, a second click
     shows it again; hovering a chart shows a tooltip with values; the limiter-state charts
     (when the report has them) draw their gauges, list them, and the legend toggles them.
Prints one line per check and "N passed, N failed"; exits 1 if anything failed.
"""
import argparse
import base64
import hashlib
import html.parser
import os
import re
import shutil
import struct
import sys
import tempfile
import zlib

WIDTH = 1280


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}" + (f" ({detail})" if detail else ""))
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))
        return ok


class Scan(html.parser.HTMLParser):
    """Collects anything that would load a resource, and the inline scripts' text."""
    LOADING_ATTRS = {"src", "href", "xlink:href", "srcset", "poster", "data", "action", "formaction", "background"}

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.loads = []
        self.scripts = []
        self.csp = None
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = a.get("content")
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
            if "src" in a:
                self.loads.append(f"<script src={a['src']!r}>")
        elif tag in ("iframe", "object", "embed", "img", "link", "video", "audio", "source", "base"):
            self.loads.append(f"<{tag}>")
        for k, v in attrs:
            v = v or ""
            if k in self.LOADING_ATTRS and not v.startswith("#"):
                self.loads.append(f"<{tag} {k}={v!r}>")
            for m in re.findall(r"url\(\s*['\"]?([^)'\"]*)", v):
                if not m.startswith("#"):
                    self.loads.append(f"<{tag} {k}: url({m})>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def read_png(data):
    """Decodes an 8-bit RGB/RGBA PNG into rows of RGB bytes."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, []
    width = height = depth = ctype = interlace = 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {ctype}, interlace {interlace}")
    bpp = 3 if ctype == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    rows, prev = [], bytes(stride)
    for r in range(height):
        start = r * (stride + 1)
        kind, line = raw[start], raw[start + 1:start + 1 + stride]
        cur = bytearray(line)
        if kind == 2:
            cur = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind != 0:
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + prev[i]) >> 1
                elif kind == 4:
                    b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                else:
                    raise ValueError(f"bad filter {kind}")
                cur[i] = (cur[i] + pred) & 255
        cur = bytes(cur)
        rows.append(cur if bpp == 3 else bytes(v for i, v in enumerate(cur) if i % 4 != 3))
        prev = cur
    return width, height, rows


def parse_rgb(css):
    m = re.match(r"rgba?\(\s*(\d+),\s*(\d+),\s*(\d+)", css or "")
    return tuple(int(v) for v in m.groups()) if m else None


def count_near(rows, box, colours, tolerance=48):
    """Pixels in box within `tolerance` (per channel) of one of the colours."""
    x0, y0, x1, y1 = box
    n = 0
    for y in range(y0, y1):
        seg = rows[y][x0 * 3:x1 * 3]
        if seg.count(255) == len(seg):
            continue
        for i in range(0, len(seg), 3):
            r, g, b = seg[i], seg[i + 1], seg[i + 2]
            if r == g == b == 255:
                continue
            for cr, cg, cb in colours:
                if abs(r - cr) <= tolerance and abs(g - cg) <= tolerance and abs(b - cb) <= tolerance:
                    n += 1
                    break
    return n


# Per chart: its box, its lines (drawn length, colour) and, per strategy key, how many of its
# elements are rendered (getClientRects is empty under display:none, also an ancestor's).
MEASURE = """() => {
  const out = {width: document.documentElement.scrollWidth, charts: [], tables: []};
  document.querySelectorAll('svg.plot, svg').forEach((svg, i) => {
    if (out.charts.some(c => c.el === i)) return;
    const r = svg.getBoundingClientRect(), lines = [...svg.querySelectorAll('path.ln')];
    const colours = [], keys = {};
    let drawn = 0;
    lines.forEach(p => {
      const cs = getComputedStyle(p);
      if (p.getClientRects().length && p.getTotalLength() > 0 && cs.stroke !== 'none') {
        drawn += 1;
        colours.push([cs.stroke, parseFloat(cs.strokeOpacity || '1') * parseFloat(cs.opacity || '1')]);
      }
    });
    svg.querySelectorAll('[data-s]').forEach(e => {
      const k = e.getAttribute('data-s');
      keys[k] = keys[k] || [0, 0];
      keys[k][0] += 1;
      if (e.getClientRects().length) keys[k][1] += 1;
    });
    const t = svg.querySelector('title'), x = (svg.getAttribute('data-x') || '').split(' ').map(Number);
    const ends = lines.filter(p => p.getClientRects().length).map(p => +p.getAttribute('data-x1') || 0);
    out.charts.push({el: i, id: svg.id || ('svg#' + i), title: t ? t.textContent : '',
      x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height,
      visible: !!svg.getClientRects().length, lines: lines.length, drawn, colours, keys,
      nodata: !!svg.querySelector('.nodata'), fit: svg.hasAttribute('data-fit'), xlo: x[0], xhi: x[1],
      end: ends.length ? Math.max(...ends) : null});
  });
  document.querySelectorAll('table').forEach((t, i) => {
    const box = t.parentElement;
    out.tables.push({id: t.id || ('table#' + i), table: Math.ceil(t.getBoundingClientRect().width),
      container: box.clientWidth, scroll: box.scrollWidth});
  });
  return out;
}"""


def check_replication(page, path, name, res):
    import json
    report_json = os.path.join(os.path.dirname(os.path.abspath(path)), "report.json")
    if os.path.basename(path) != "report.html" or not os.path.exists(report_json):
        return
    with open(report_json, encoding="utf-8") as f:
        report = json.load(f)
    rep = report.get("replication")
    if not rep or len(rep.get("seeds", [])) < 2:
        return
    cells = page.evaluate("""() => [...document.querySelectorAll('#compare tbody tr')].map(tr => ({
        strategy: tr.querySelector('th').innerText.split('\\n')[0].trim(),
        rep: Object.fromEntries([...tr.querySelectorAll('.rep')].filter(s => s.getClientRects().length)
            .map(s => [s.getAttribute('data-rep'), s.innerText]))}))""")
    fields = {"success": ("success_rate", 100), "slo": ("slo_attainment", 100), "p99": ("latency_p99_s", 1),
              "goodput": ("goodput_requests_per_min", 1)}
    bad = []
    for row in cells:
        summary = next((x for x in rep["summary"] if x["strategy"] == row["strategy"]), None)
        if summary is None:
            bad.append(f"{row['strategy']}: not in replication.summary")
            continue
        for key, (field, scale) in fields.items():
            v = summary.get(field)
            if v is None:
                continue
            text = row["rep"].get(key)
            # "x̄ 93.2% [77.1%–100.0%]": mean, low, high, each within its printed rounding.
            nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text or "")]
            want = [v["mean"] * scale, max(v["low"], 0) * scale, v["high"] * scale]
            if key == "p99" and text and " ms" in text:
                nums = [n / 1000 if n > 50 else n for n in nums]
            if len(nums) != 3 or any(abs(a - b) > 0.051 * max(1, abs(b)) for a, b in zip(nums, want)):
                bad.append(f"{row['strategy']} {key}: shows {text!r}, report.json {want}")
    res.check(f"{name}: the strategy table shows each figure's across-seed mean and 95% interval",
              cells and not bad, "; ".join(bad[:4]) or f"{len(cells)} strategies × {len(fields)} figures")
    comparison = report.get("comparison") or {}
    if comparison.get("seeds"):
        rows = page.evaluate("""() => [...document.querySelectorAll('#significance tbody tr')].filter(r => r.getClientRects().length)
            .map(r => [...r.querySelectorAll('td')].map(td => td.innerText))""")
        want = []
        for r in comparison["ranking"]:
            d = r.get("vs_leader")
            if d is None:
                want.append([False, False, False])
            else:
                want.append([not (d[k]["low"] > 0 or d[k]["high"] < 0)
                             for k in ("slo_attainment", "goodput_requests_per_min", "latency_p99_s")])
        got = [["n.s." in c for c in row[1:4]] for row in rows]
        res.check(f"{name}: compare's differences say n.s. exactly where their interval includes 0",
                  len(rows) == len(want) and got == want, f"{got} vs {want}")


SECTION_LAYOUT = """id => {
  const t = document.getElementById(id);
  if (!t) return null;
  const box = t.parentElement, r = t.getBoundingClientRect(), b = box.getBoundingClientRect();
  const clipped = [...t.querySelectorAll('td, th')].filter(c => c.scrollWidth > c.clientWidth + 1)
    .map(c => c.innerText.replace(/\\s+/g, ' ').slice(0, 40));
  return {w: r.width, h: r.height, right: b.right + window.scrollX, container: box.clientWidth, scroll: box.scrollWidth,
          clipped, rows: [...t.querySelectorAll('tbody tr')].filter(tr => tr.getClientRects().length)
            .map(tr => [...tr.querySelectorAll('th, td')].map(c => c.innerText.replace(/\\s+/g, ' ').trim()))};
}"""


def check_sections(page, path, name, res):
    """3c. The batch-offload and models sections: there exactly when report.json has their data,
    one row per strategy (× model) with its numbers, nothing clipped at 1,280 px."""
    import json
    report_json = os.path.join(os.path.dirname(os.path.abspath(path)), "report.json")
    if os.path.basename(path) != "report.html" or not os.path.exists(report_json):
        return
    with open(report_json, encoding="utf-8") as f:
        runs = json.load(f).get("runs", [])

    def grouped(n):
        return f"{n:,}"

    def usd(v):
        return "$" + (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}" if abs(v) >= 0.1 or v == 0 else f"{v:.4f}")

    def fits(label, t):
        res.check(f"{name}: {label} renders", t is not None and t["h"] > 0 and t["rows"], "missing or empty" if t is None else f"{t['h']:.0f}px high")
        if t is None:
            return
        res.check(f"{name}: {label} does not clip at {WIDTH}px",
                  t["w"] <= t["container"] + 1 and t["scroll"] <= t["container"] + 1 and t["right"] <= WIDTH and not t["clipped"],
                  f"table {t['w']:.0f}px in {t['container']}px, right edge {t['right']:.0f}px, clipped cells {t['clipped'][:3]}")

    deferral = [(r["strategy"], r["summary"]["deferral"]) for r in runs if r["summary"].get("deferral")]
    t = page.evaluate(SECTION_LAYOUT, "batch-table")
    if not deferral:
        res.check(f"{name}: no batch-offload section without deferrable requests", t is None)
    else:
        fits("batch-offload table", t)
        if t is not None:
            bad = []
            for (strategy, d), row in zip(deferral, t["rows"]):
                # strategy, urgent succeeded, SLO, p50/p99, deferrable succeeded, SLO, via batch, ...
                if not row[0].endswith(strategy):
                    bad.append(f"row {row[0]!r} for {strategy}")
                    continue
                if not row[1].startswith(grouped(d["urgent"]["requests"]["succeeded"])):
                    bad.append(f"{strategy}: urgent succeeded {row[1]!r}")
                if not row[6].startswith(grouped(d["via_batch"])):
                    bad.append(f"{strategy}: via batch {row[6]!r} vs {d['via_batch']}")
                if d.get("saved_usd") is not None and not row[11].startswith(usd(d["saved_usd"])):
                    bad.append(f"{strategy}: saved {row[11]!r} vs {usd(d['saved_usd'])}")
            res.check(f"{name}: batch-offload table shows report.json's deferral figures",
                      len(t["rows"]) == len(deferral) and not bad, "; ".join(bad[:4]) or f"{len(deferral)} strategies")

    # Like every other table, these keep all their rows when the legend hides a strategy in the charts.
    present = [tid for tid in ("batch-table", "models-table") if page.query_selector("#" + tid)]
    entry = page.query_selector("#legend li[data-s]")
    if present and entry:
        def visible_rows():
            return [page.evaluate(SECTION_LAYOUT, tid)["rows"] for tid in present]
        before = visible_rows()
        entry.click()
        during = visible_rows()
        entry.click()
        res.check(f"{name}: a legend click leaves the rows of {', '.join(present)} in place",
                  during == before and visible_rows() == before)

    with_models = [(r["strategy"], r["summary"]["models"], r["summary"].get("trim")) for r in runs if r["summary"].get("models")]
    t = page.evaluate(SECTION_LAYOUT, "models-table")
    if not with_models:
        res.check(f"{name}: no models table without models:", t is None)
        return
    fits("models table", t)
    if t is None:
        return
    want = [(s, k, m, trim) for s, ms, trim in with_models for k, m in enumerate(ms)]
    bad = []
    for (strategy, k, m, trim), row in zip(want, t["rows"]):
        cells = row[1:] if k == 0 else row
        if k == 0 and not row[0].endswith(strategy):
            bad.append(f"row {row[0]!r} for {strategy}")
            continue
        if cells[0] != m["model"] or not cells[1].startswith(grouped(m["attempts"])) or cells[2] != grouped(m["succeeded"]) \
                or not cells[3].startswith(grouped(m["status_429"])) or cells[4] != grouped(m["status_529"]):
            bad.append(f"{strategy} {m['model']}: {cells[:5]}")
        if k == 0 and trim and not cells[6].startswith(grouped(trim["tokens_trimmed"])):
            bad.append(f"{strategy}: trimmed {cells[6]!r} vs {trim['tokens_trimmed']}")
    res.check(f"{name}: models table shows report.json's per-model figures and trimmed tokens",
              len(t["rows"]) == len(want) and not bad, "; ".join(bad[:4]) or f"{len(want)} strategy × model rows")


def check_file(path, args, res, pw):
    name = os.path.basename(os.path.dirname(os.path.abspath(path))) + "/" + os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except (OSError, UnicodeDecodeError) as e:
        res.check(f"{name}: readable UTF-8", False, str(e))
        return
    expected_svgs = len(re.findall(r"<svg[\s>]", source))
    res.check(f"{name}: has charts", expected_svgs > 0, f"{expected_svgs} <svg> in the file")

    # 1. Static: nothing that loads; the one inline script is the one the CSP's hash allows.
    scan = Scan()
    scan.feed(source)
    res.check(f"{name}: nothing loads or links outside the page", not scan.loads, ", ".join(scan.loads)[:600])
    hashes = re.findall(r"'sha256-([A-Za-z0-9+/=]+)'", scan.csp or "")
    digests = [base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() for s in scan.scripts]
    csp_ok = (scan.csp is not None and "default-src 'none'" in scan.csp and "unsafe-eval" not in scan.csp
              and not re.search(r"script-src[^;]*'unsafe-inline'", scan.csp))
    res.check(f"{name}: strict CSP allows exactly its own script by hash",
              csp_ok and len(scan.scripts) == 1 and digests == hashes,
              f"{len(scan.scripts)} script(s), CSP {scan.csp!r:.120}")

    browser = pw.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
    try:
        page = browser.new_page(viewport={"width": WIDTH, "height": 900}, device_scale_factor=1)
        console, errors, requests = [], [], []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: errors.append(str(e)))
        url = "file://" + os.path.abspath(path)
        page.on("request", lambda r: requests.append(r.url) if r.url != url else None)

        # 2. Load.
        page.goto(url, wait_until="load")
        page.wait_for_timeout(200)
        res.check(f"{name}: no console messages", not console, "; ".join(console)[:600])
        res.check(f"{name}: no script errors", not errors, "; ".join(errors)[:600])
        res.check(f"{name}: no network requests", not requests, ", ".join(requests)[:600])
        res.check(f"{name}: the script ran", page.evaluate("document.documentElement.classList.contains('js')"))
        svgs = page.evaluate("[...document.querySelectorAll('svg')].map(s => !!s.querySelector(':scope > title'))")
        res.check(f"{name}: every <svg> is in the DOM", len(svgs) == expected_svgs, f"{len(svgs)} of {expected_svgs}")
        res.check(f"{name}: every <svg> has a <title>", all(svgs), f"{sum(svgs)} of {len(svgs)}")

        # 3. Layout at 1,280 px.
        layout = page.evaluate(MEASURE)
        res.check(f"{name}: no horizontal overflow at {WIDTH}px", layout["width"] <= WIDTH, f"page is {layout['width']}px wide")
        for t in layout["tables"]:
            res.check(f"{name}: table {t['id']} fits at {WIDTH}px",
                      t["table"] <= t["container"] + 1 and t["scroll"] <= t["container"] + 1,
                      f"table {t['table']}px in a {t['container']}px container")

        # 3b. Replications: with several seeds in report.json, the strategy table shows each listed
        # figure's across-seed mean and 95% interval, and compare's differences say "n.s." exactly
        # where their interval includes 0.
        check_replication(page, path, name, res)
        check_sections(page, path, name, res)

        # 4. Render.
        # The folder and the page: every checked report is report.html, so the name alone would
        # make each page's screenshots overwrite the previous one's.
        stem = os.path.basename(os.path.dirname(os.path.abspath(path))) + "-" + os.path.splitext(os.path.basename(path))[0]
        png = page.screenshot(full_page=True)
        if args.screenshots:
            os.makedirs(args.screenshots, exist_ok=True)
            with open(os.path.join(args.screenshots, stem + ".png"), "wb") as f:
                f.write(png)
        width, h, rows = read_png(png)
        white = sum(r.count(255) for r in rows)
        ink = 1 - white / float(width * h * 3)
        sample = {rows[y][x * 3:x * 3 + 3] for y in range(0, h, 7) for x in range(0, width, 7)}
        res.check(f"{name}: screenshot is not blank", ink > 0.02 and len(sample) > 50,
                  f"{width}x{h}, {ink:.1%} non-white, {len(sample)} colours sampled")
        for chart in layout["charts"]:
            label = f"{name}: chart {chart['id']}"
            box = (max(0, int(chart["x"])), max(0, int(chart["y"])),
                   min(width, int(chart["x"] + chart["w"])), min(h, int(chart["y"] + chart["h"])))
            if not res.check(f"{label} has a visible box", chart["w"] >= 150 and chart["h"] >= 80 and box[3] > box[1],
                             f"{chart['w']:.0f}x{chart['h']:.0f} at y={chart['y']:.0f}"):
                continue
            if chart["nodata"] and chart["lines"] == 0:
                res.check(f"{label} says it has no data", True, "no series to draw")
                continue
            res.check(f"{label} draws its lines", chart["lines"] > 0 and chart["drawn"] == chart["lines"],
                      f"{chart['drawn']} of {chart['lines']} with length")
            colours = set()
            for css, alpha in chart["colours"]:
                rgb = parse_rgb(css)
                if rgb:
                    colours.add(tuple(round(alpha * c + (1 - alpha) * 255) for c in rgb))
                    colours.add(rgb)
            # A line as pale as the background is not visible, whatever its length.
            colours = {c for c in colours if max(255 - v for v in c) > 60}
            pixels = count_near(rows, box, sorted(colours)) if colours else 0
            res.check(f"{label} shows its line colours on screen", pixels >= 40,
                      f"{pixels} pixels of {len(colours)} visible colours in {box[2] - box[0]}x{box[3] - box[1]}")

        # 5a. Legend: hide one strategy everywhere, then show it again.
        keys = page.evaluate("[...document.querySelectorAll('#legend li[data-s]')].map(li => li.getAttribute('data-s'))")
        if res.check(f"{name}: a clickable strategy legend", len(keys) >= 2, f"{len(keys)} entries"):
            # The strategy whose data ends last: hiding it is what re-fits time axes.
            def end_of(k):
                return page.evaluate("k => Math.max(0, ...[...document.querySelectorAll(`path.ln[data-s=\"${k}\"]`)]"
                                     ".map(p => +p.getAttribute('data-x1') || 0))", k)
            key = max(keys, key=lambda k: (end_of(k), -int(k)))
            with_key = [c for c in layout["charts"] if key in c["keys"]]
            page.click(f"#legend li[data-s=\"{key}\"]")
            after = page.evaluate(MEASURE)
            shown = [c["id"] for c in after["charts"] if c["keys"].get(key, [0, 0])[1] > 0]
            res.check(f"{name}: legend click hides strategy {key} in every chart", with_key and not shown,
                      f"{len(with_key)} charts had it; still shown in {shown[:5]}")
            others = [c["id"] for c, b in zip(after["charts"], layout["charts"])
                      if any(v[1] < b["keys"].get(k, [0, 0])[1] for k, v in c["keys"].items() if k != key)]
            res.check(f"{name}: the other strategies stay visible", not others, f"changed in {others[:5]}")
            pressed = page.get_attribute(f"#legend li[data-s=\"{key}\"]", "aria-pressed")
            res.check(f"{name}: the legend entry shows it is off", pressed == "false", f"aria-pressed={pressed}")
            loose = [f"{c['id']}: 0–{c['xhi']:g} for data to {c['end']:g}" for c in after["charts"]
                     if c["fit"] and c["visible"] and c["end"] and not (c["end"] <= c["xhi"] <= c["xlo"] + 2 * (c["end"] - c["xlo"]) + 1e-9)]
            fits = [c for c in after["charts"] if c["fit"] and c["visible"] and c["end"]]
            res.check(f"{name}: time axes fit the series still shown", not loose,
                      f"{len(fits)} time charts" if not loose else "; ".join(loose[:4]))
            if args.screenshots:
                page.screenshot(path=os.path.join(args.screenshots, stem + "-hidden.png"), full_page=True)
            page.click(f"#legend li[data-s=\"{key}\"]")
            back = page.evaluate(MEASURE)
            restored = all(c["keys"].get(key, [0, 0])[1] == b["keys"].get(key, [0, 0])[1]
                           and c["xhi"] == b["xhi"] or not b["keys"] for c, b in zip(back["charts"], layout["charts"]))
            res.check(f"{name}: a second click shows it again, axes as before", restored)
            # The legend works from the keyboard too.
            entry = f"#legend li[data-s=\"{key}\"]"
            page.focus(entry)
            page.keyboard.press("Enter")
            off = page.get_attribute(entry, "aria-pressed")
            page.keyboard.press(" ")
            on = page.get_attribute(entry, "aria-pressed")
            res.check(f"{name}: Enter and Space on a legend entry toggle it", (off, on) == ("false", "true"), f"{off}, {on}")

        # 5d. Limiter state: each strategy's chart of its state gauges draws its lines, has a
        # legend of the gauges, and the strategy legend hides and shows it like the others.
        limiter = [c for c in layout["charts"] if c["id"].startswith("c-limiter-")]
        if page.query_selector("#limiter-state") is not None:
            res.check(f"{name}: limiter-state charts draw their gauges",
                      bool(limiter) and all(c["lines"] > 0 and c["drawn"] == c["lines"] for c in limiter),
                      ", ".join(f"{c['id']}: {c['drawn']}/{c['lines']}" for c in limiter) or "no c-limiter-* chart")
            gauge_legends = page.evaluate("[...document.querySelectorAll('svg[id^=\"c-limiter-\"]')].map(s => "
                                          "s.closest('figure').querySelectorAll('ul.gauges li').length)")
            res.check(f"{name}: each limiter-state chart has a legend of its gauges",
                      bool(gauge_legends) and all(n > 0 for n in gauge_legends), f"{gauge_legends}")
            if limiter and keys:
                chart = limiter[0]
                k = chart["id"].rsplit("-", 1)[1]
                entry = f"#legend li[data-s=\"{k}\"]"
                def shown_lines():
                    return next(c for c in page.evaluate(MEASURE)["charts"] if c["id"] == chart["id"])["keys"].get(k, [0, 0])[1]
                before = shown_lines()
                page.click(entry)
                hidden = shown_lines()
                page.click(entry)
                again = shown_lines()
                res.check(f"{name}: the legend hides {chart['id']} and shows it again", before > 0 and hidden == 0 and again == before,
                          f"{before} shown, {hidden} after a click, {again} after another")

        # 5b. Zoom: a drag across one time chart sets every time chart to that range; a
        # double-click fits them to their data again.
        fitted = [c for c in layout["charts"] if c["fit"] and c["visible"]]
        if fitted:
            first = fitted[0]["id"]
            ends = page.evaluate("""id => {
                const svg = document.getElementById(id), x = svg.getAttribute('data-x').split(' ').map(Number);
                svg.scrollIntoView({block: 'center'});
                const r = svg.getBoundingClientRect(), k = r.width / svg.viewBox.baseVal.width,
                      y = svg.getAttribute('data-y').split(' ').map(Number), mid = r.top + (y[2] + y[3]) / 2 * k;
                const at = f => r.left + (x[2] + f * (x[3] - x[2])) * k;
                return {a: at(0.3), b: at(0.6), y: mid, lo: x[0] + 0.3 * (x[1] - x[0]), hi: x[0] + 0.6 * (x[1] - x[0])};
            }""", first)
            page.mouse.move(ends["a"], ends["y"])
            page.mouse.down()
            page.mouse.move(ends["b"], ends["y"], steps=5)
            page.mouse.up()
            zoomed = page.evaluate(MEASURE)
            span = ends["hi"] - ends["lo"]
            off = [f"{c['id']}: {c['xlo']:g}–{c['xhi']:g}" for c in zoomed["charts"] if c["fit"] and c["visible"]
                   and not (abs(c["xlo"] - ends["lo"]) < 0.02 * span and abs(c["xhi"] - ends["hi"]) < 0.02 * span)]
            res.check(f"{name}: dragging across {first} zooms every time chart to that range", not off,
                      f"{len(fitted)} charts to {ends['lo']:.3g}–{ends['hi']:.3g}" if not off else "; ".join(off[:4]))
            ticks = page.evaluate("""id => [...document.getElementById(id).querySelectorAll('text.xt')].map(t => t.textContent)""", first)
            res.check(f"{name}: the zoomed axis has its own ticks", len(ticks) >= 2, ", ".join(ticks))
            if args.screenshots:
                page.screenshot(path=os.path.join(args.screenshots, stem + "-zoom.png"))
            page.dblclick(f"#{first}")
            back = page.evaluate(MEASURE)
            same = all(abs(c["xhi"] - b["xhi"]) < 1e-9 and abs(c["xlo"] - b["xlo"]) < 1e-9
                       for c, b in zip(back["charts"], layout["charts"]) if b["fit"])
            res.check(f"{name}: a double-click fits the time axes to the data again", same)

        # 5c. Tooltip: hover the middle of the first chart with lines.
        target = next((c for c in layout["charts"] if c["lines"] > 0 and c["drawn"] > 0), None)
        if target:
            box = page.evaluate("""id => {
                const svg = document.getElementById(id), x = svg.getAttribute('data-x').split(' ').map(Number),
                      y = svg.getAttribute('data-y').split(' ').map(Number), m = svg.getScreenCTM();
                svg.scrollIntoView({block: 'center'});
                const r = svg.getBoundingClientRect(), k = r.width / svg.viewBox.baseVal.width;
                return {x: r.left + (x[2] + x[3]) / 2 * k, y: r.top + (y[2] + y[3]) / 2 * k};
            }""", target["id"])
            page.mouse.move(box["x"], box["y"])
            page.wait_for_timeout(100)
            tip = page.evaluate("""() => { const t = document.querySelector('.tip');
                return t && !t.hidden && t.getClientRects().length ? t.innerText : null; }""")
            res.check(f"{name}: hovering chart {target['id']} shows a tooltip with values",
                      bool(tip) and re.search(r"\d", tip or "") is not None and len((tip or "").splitlines()) >= 2,
                      (tip or "no tooltip").replace("\n", " | ")[:200])
            if args.screenshots:
                page.screenshot(path=os.path.join(args.screenshots, stem + "-hover.png"))
            page.mouse.move(2, 2)
            page.wait_for_timeout(50)
            gone = page.evaluate("() => { const t = document.querySelector('.tip'); return !t || t.hidden; }")
            res.check(f"{name}: the tooltip goes away off the chart", gone)
    finally:
        browser.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="report.html or sweep.html files")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM") or shutil.which("chromium") or "")
    ap.add_argument("--screenshots", help="keep screenshots (full page, legend entry hidden, tooltip) in this directory")
    args = ap.parse_args()
    if not args.chromium or not shutil.which(args.chromium):
        print("html-check: chromium not found (apt-get install chromium, or set CHROMIUM)", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("html-check: Playwright for Python not found (python3 -m pip install playwright)", file=sys.stderr)
        return 2
    res = Results()
    with sync_playwright() as pw:
        for path in args.files:
            check_file(path, args, res, pw)
    print(f"{res.passed} passed, {res.failed} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
