#!/usr/bin/env python3
"""Headless-Chromium check of limitlab report.html files (called by tests/html-check.sh).

Per file, with plain chromium flags and the Python standard library only:
  1. load the page with --dump-dom --enable-logging=stderr --log-net-log: every console
     message fails (the report has no script, so any message is an error or a CSP violation;
     chromium logs every level as INFO:CONSOLE; step 2 checks with a canary message that
     capture works), every network request made for the page
     fails, and the dumped DOM must hold every <svg> of the file, each with a <title>, and
     no element that loads anything (src/href/url() other than #fragments);
  2. load a copy with a measuring <script> appended (and the page's no-script CSP removed):
     its --dump-dom carries each chart's box and the drawn length of its lines;
  3. screenshot the original at its full height (--screenshot) and decode the PNG (zlib):
     the page must not be blank, and inside each chart's box there must be pixels of the
     chart's own line colours (a chart whose lines did not render shows only grey axes).
Prints one line per check and "N passed, N failed"; exits 1 if anything failed.
"""
import argparse
import html
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

WIDTH = 1400
# Chromium's background services (updates, sync, accounts) would otherwise show up in the net log.
QUIET = [
    "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--force-device-scale-factor=1",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--disable-features=Translate,OptimizationHints,MediaRouter,SpellCheck,AutofillServerCommunication",
]

CANARY = "__html_check_canary__"
MEASURE = """<script>
(function () {
  console.log('""" + CANARY + """');
  function measure() {
    var de = document.documentElement, out = {height: Math.ceil(Math.max(de.scrollHeight, document.body.scrollHeight)),
      width: de.scrollWidth, charts: []};
    document.querySelectorAll('svg').forEach(function (svg, i) {
      var r = svg.getBoundingClientRect(), lines = Array.prototype.slice.call(svg.querySelectorAll('path.ln'));
      var colours = [], drawn = 0;
      lines.forEach(function (p) {
        var cs = getComputedStyle(p);
        if (p.getTotalLength() > 0 && cs.display !== 'none' && cs.visibility !== 'hidden' && cs.stroke !== 'none') {
          drawn += 1;
          colours.push([cs.stroke, parseFloat(cs.strokeOpacity || '1') * parseFloat(cs.opacity || '1')]);
        }
      });
      var t = svg.querySelector('title');
      out.charts.push({id: svg.getAttribute('aria-labelledby') || ('svg#' + i), title: t ? t.textContent : '',
        x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height,
        lines: lines.length, drawn: drawn, colours: colours, nodata: !!svg.querySelector('.nodata')});
    });
    var pre = document.createElement('pre');
    pre.id = '__html_check__'; pre.hidden = true; pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  if (document.readyState === 'complete') measure(); else window.addEventListener('load', measure);
})();
</script>"""


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


def chromium(binary, profile, args, url, timeout=120):
    cmd = [binary, *QUIET, f"--user-data-dir={profile}", *args, url]
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


class DOMScan(html.parser.HTMLParser):
    """Counts SVGs (and their titles) and collects anything that would load a resource."""
    LOADING_ATTRS = {"src", "href", "xlink:href", "srcset", "poster", "data", "action", "formaction", "background"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.svgs = 0
        self.titled = 0
        self.stack = []
        self.loads = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.svgs += 1
        if tag == "title" and self.stack and self.stack[-1] == "svg":
            self.titled += 1
        if tag in ("script", "iframe", "object", "embed", "img", "link", "video", "audio", "source"):
            if tag == "script":
                self.scripts += 1
            self.loads.append(f"<{tag}>")
        for k, v in attrs:
            v = v or ""
            if k in self.LOADING_ATTRS and not v.startswith("#"):
                self.loads.append(f"<{tag} {k}={v!r}>")
            for m in re.findall(r"url\(\s*['\"]?([^)'\"]*)", v):
                if not m.startswith("#"):
                    self.loads.append(f"<{tag} {k}: url({m})>")
        if tag not in ("meta", "br", "hr", "input", "path", "rect", "line", "circle", "stop", "col", "wbr"):
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass


def network_requests(netlog_path):
    """URLs the page itself requested (background services have other isolation keys)."""
    try:
        with open(netlog_path) as f:
            log = json.load(f)
    except (OSError, ValueError) as e:
        return None, f"unreadable net log: {e}"
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for e in log.get("events", []):
        if names.get(e.get("type")) != "URL_REQUEST_START_JOB":
            continue
        p = e.get("params", {})
        if str(p.get("network_isolation_key", "")).startswith("file://") or p.get("initiator") == "null":
            urls.append(p.get("url", "?"))
    return urls, ""


def read_png(path):
    """Decodes an 8-bit RGB/RGBA PNG into rows of RGB bytes."""
    with open(path, "rb") as f:
        data = f.read()
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
    low7 = int.from_bytes(b"\x7f" * stride, "big")
    high = int.from_bytes(b"\x80" * stride, "big")

    def add(a, b):
        # Bytewise (a + b) mod 256 on whole rows at once: add the low 7 bits (no carry can
        # leave a byte), then fix each top bit with XOR.
        x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
        return (((x & low7) + (y & low7)) ^ ((x ^ y) & high)).to_bytes(stride, "big")

    rows, prev = [], bytes(stride)
    for r in range(height):
        start = r * (stride + 1)
        kind, line = raw[start], raw[start + 1:start + 1 + stride]
        if kind == 0:
            cur = bytes(line)
        elif kind == 2:
            cur = add(line, prev)
        else:
            cur = bytearray(line)
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


def check_file(path, args, res):
    name = os.path.basename(os.path.dirname(os.path.abspath(path))) + "/" + os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except (OSError, UnicodeDecodeError) as e:
        res.check(f"{name}: readable UTF-8", False, str(e))
        return
    expected_svgs = len(re.findall(r"<svg[\s>]", source))
    res.check(f"{name}: has charts", expected_svgs > 0, f"{expected_svgs} <svg> in the file")

    work = tempfile.mkdtemp(prefix="html-check-")
    try:
        url = "file://" + os.path.abspath(path)
        profile = os.path.join(work, "profile")

        # 1. Console, network, DOM.
        netlog = os.path.join(work, "net.json")
        rc, dom, log = chromium(args.chromium, profile, [
            "--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}", "--virtual-time-budget=3000",
            f"--window-size={WIDTH},3000", "--dump-dom"], url)
        res.check(f"{name}: chromium loads the page", rc == 0 and "<html" in dom, f"exit {rc}")
        console = [l.split("CONSOLE", 1)[1] for l in log.splitlines() if ":CONSOLE" in l]
        res.check(f"{name}: no console messages", not console, "; ".join(console)[:600])
        urls, why = network_requests(netlog)
        res.check(f"{name}: no network requests", urls == [], why or ", ".join(urls)[:600])
        scan = DOMScan()
        scan.feed(dom)
        res.check(f"{name}: every <svg> is in the DOM", scan.svgs == expected_svgs,
                  f"{scan.svgs} in the DOM, {expected_svgs} in the file")
        res.check(f"{name}: every <svg> has a <title>", scan.titled == scan.svgs, f"{scan.titled} of {scan.svgs}")
        res.check(f"{name}: nothing loads or links outside the page", not scan.loads and scan.scripts == 0,
                  ", ".join(scan.loads)[:600])

        # 2. Layout, measured by a script in a copy (the report itself has none).
        probe = os.path.join(work, "probe.html")
        copy = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", source)
        copy = copy.replace("</body>", MEASURE + "</body>") if "</body>" in copy else copy + MEASURE
        with open(probe, "w", encoding="utf-8") as f:
            f.write(copy)
        # A short window, so the document's scroll height is its content, not the viewport.
        rc, probed, probe_log = chromium(args.chromium, profile, [
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000", f"--window-size={WIDTH},400",
            "--dump-dom"], "file://" + probe)
        # The probe logs a message on purpose: if it is missing, this chromium does not print
        # console messages, and "no console messages" above proved nothing.
        captured = any(":CONSOLE" in line and CANARY in line for line in probe_log.splitlines())
        res.check(f"{name}: console capture works", captured,
                  "" if captured else "the probe's console.log did not show up in chromium's log")
        m = re.search(r'<pre id="__html_check__"[^>]*>(.*?)</pre>', probed, re.S)
        if not res.check(f"{name}: layout measured", rc == 0 and m is not None, f"exit {rc}"):
            return
        layout = json.loads(html.unescape(m.group(1)))
        res.check(f"{name}: no horizontal overflow at {WIDTH}px", layout["width"] <= WIDTH,
                  f"page is {layout['width']}px wide")

        # 3. Screenshot of the original page at its full height (plus room for the part of the
        # window headless chromium keeps for itself).
        height = max(600, min(16000, int(layout["height"]) + 200))
        shot = os.path.join(args.screenshots or work, os.path.splitext(os.path.basename(path))[0] + ".png")
        if args.screenshots:
            os.makedirs(args.screenshots, exist_ok=True)
        rc, _, _ = chromium(args.chromium, profile, [
            "--virtual-time-budget=3000", f"--window-size={WIDTH},{height}", f"--screenshot={shot}"], url)
        try:
            width, h, rows = read_png(shot)
        except (OSError, ValueError, zlib.error) as e:
            res.check(f"{name}: screenshot", False, f"exit {rc}: {e}")
            return
        white = sum(r.count(255) for r in rows)
        ink = 1 - white / float(width * h * 3)
        sample = {rows[y][x * 3:x * 3 + 3] for y in range(0, h, 7) for x in range(0, width, 7)}
        res.check(f"{name}: screenshot is not blank", ink > 0.02 and len(sample) > 50,
                  f"{width}x{h}, {ink:.1%} non-white, {len(sample)} colours sampled")

        for chart in layout["charts"]:
            label = f"{name}: chart {chart['id'].split()[0].removesuffix('-t')}"
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
                    # Lines are drawn with some transparency over white.
                    colours.add(tuple(round(alpha * c + (1 - alpha) * 255) for c in rgb))
                    colours.add(rgb)
            # A line as pale as the background is not visible, whatever its length.
            colours = {c for c in colours if max(255 - v for v in c) > 60}
            pixels = count_near(rows, box, sorted(colours)) if colours else 0
            res.check(f"{label} shows its line colours on screen", pixels >= 40,
                      f"{pixels} pixels of {len(colours)} visible colours in {box[2] - box[0]}x{box[3] - box[1]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="report.html files")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM") or shutil.which("chromium") or "")
    ap.add_argument("--screenshots", help="keep the screenshots in this directory")
    args = ap.parse_args()
    if not args.chromium or not shutil.which(args.chromium):
        print("html-check: chromium not found (apt-get install chromium, or set CHROMIUM)", file=sys.stderr)
        return 2
    res = Results()
    for path in args.files:
        check_file(path, args, res)
    print(f"{res.passed} passed, {res.failed} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
