import Foundation

/// What report.html and sweep.html share: the chart CSS, the strategy legend, and the small
/// inline script that makes the server-drawn SVG charts interactive. The charts themselves are
/// complete without the script (print, no-script readers); the script adds:
/// - a click (or Enter/Space) on a legend entry hides or shows that strategy in every chart;
/// - charts marked `data-fit` re-fit their time axis to the strategies still shown, and a drag
///   across one shows the dragged range in all of them (double-click: fit again);
/// - hovering a chart shows every visible series' value at the pointer.
///
/// The page's Content-Security-Policy allows exactly this script by its SHA-256 hash
/// (CSP Level 2 hash sources, https://www.w3.org/TR/CSP2/#script-src-hash-usage), so nothing
/// else can run and nothing can be loaded.
enum ChartKit {
    /// In a CDATA section (a comment to JavaScript) so the page stays well-formed XML.
    static let script = """
        //<![CDATA[
        (function () {
          'use strict';
          var NS = 'http://www.w3.org/2000/svg', hidden = {}, tip = null;
          function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
          // One axis of a chart: data-x="lo hi from to [log]" maps data lo..hi to pixels from..to.
          function axis(svg, w) {
            var a = (svg.getAttribute('data-' + w) || '0 1 0 1').split(' ');
            return {lo: +a[0], hi: +a[1], from: +a[2], to: +a[3], log: a[4] === 'log', unit: svg.getAttribute('data-' + w + 'u') || ''};
          }
          function frac(s, v) { return s.log ? (Math.log10(v) - Math.log10(s.lo)) / (Math.log10(s.hi) - Math.log10(s.lo)) : (v - s.lo) / (s.hi - s.lo); }
          function toPx(s, v) { return s.from + frac(s, v) * (s.to - s.from); }
          function toData(s, px) {
            var t = (px - s.from) / (s.to - s.from);
            return s.log ? Math.pow(10, Math.log10(s.lo) + t * (Math.log10(s.hi) - Math.log10(s.lo))) : s.lo + t * (s.hi - s.lo);
          }
          // The 1-2-2.5-5 steps of the server's axes (Ticks.niceStep), so a re-fitted axis looks the same.
          function niceStep(span, target) {
            var raw = span / Math.max(1, target), m = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / m;
            return (f > 5 ? 10 : f > 2.5 ? 5 : f > 2 ? 2.5 : f > 1 ? 2 : 1) * m;
          }
          function decimals(step) {
            var e = Math.floor(Math.log10(step) + 1e-9), m = step / Math.pow(10, e);
            return Math.max(0, -e + (Math.abs(m - 2.5) > 1e-6 ? 0 : 1));
          }
          function num(v, d) { return v.toLocaleString('en-US', {minimumFractionDigits: d, maximumFractionDigits: d}); }
          // Three significant figures, grouped: what a tooltip shows.
          function fmt(v) {
            var a = Math.abs(v);
            return num(v, a >= 100 || a === 0 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(a))));
          }
          function make(tag, attrs) {
            var e = document.createElementNS(NS, tag);
            Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
            return e;
          }

          // Legend: hide or show a strategy everywhere.
          function toggle(key) {
            hidden[key] = !hidden[key];
            all('[data-s="' + key + '"]').forEach(function (e) {
              e.classList.toggle('off', hidden[key]);
              if (e.hasAttribute('aria-pressed')) e.setAttribute('aria-pressed', String(!hidden[key]));
            });
            all('svg.plot[data-fit]').forEach(refit);
          }
          function legendEntry(ev) { return ev.target.closest ? ev.target.closest('.legend [data-s]') : null; }
          document.addEventListener('click', function (ev) {
            var li = legendEntry(ev);
            if (li) toggle(li.getAttribute('data-s'));
          });
          document.addEventListener('keydown', function (ev) {
            var li = legendEntry(ev);
            if (li && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); toggle(li.getAttribute('data-s')); }
          });

          // Time axis: the range the user dragged across, else from 0 to the end of the series
          // still shown, with ticks on the server's steps. The lines are stretched by a
          // transform rather than redrawn.
          var range = null;
          function refit(svg) {
            if (!svg.origX) svg.origX = axis(svg, 'x');
            var x = svg.origX, y = axis(svg, 'y'), target = +svg.getAttribute('data-xt') || 5, end = 0;
            all('path.ln', svg).forEach(function (p) {
              if (!p.classList.contains('off')) end = Math.max(end, +p.getAttribute('data-x1') || 0);
            });
            var lo = range ? range[0] : x.lo, hi = range ? range[1] : end > x.lo ? Math.min(x.hi, end) : x.hi;
            var k = (x.hi - x.lo) / (hi - lo), e = x.from + (x.lo - lo) / (hi - lo) * (x.to - x.from) - x.from * k;
            var data = svg.querySelector('g.data');
            data.setAttribute('transform', 'matrix(' + k + ' 0 0 1 ' + e + ' 0)');
            data.scaleX = k;
            data.shiftX = e;
            svg.setAttribute('data-x', [lo, hi, x.from, x.to].join(' '));
            all('.xg,.xt', svg).forEach(function (el) { el.parentNode.removeChild(el); });
            var s = axis(svg, 'x'), step = niceStep(hi - lo, target), d = decimals(step), first = Math.ceil(lo / step - 1e-9);
            var grid = svg.querySelector('g.grid'), ticks = svg.querySelector('g.ticks');
            for (var i = first; i * step <= hi + step * 1e-6; i++) {
              var v = i * step, px = toPx(s, v).toFixed(1);
              grid.appendChild(make('path', {'class': 'xg', d: 'M' + px + ' ' + y.to + 'V' + y.from}));
              var t = make('text', {'class': 'xt', x: px, y: y.from + 14, 'text-anchor': 'middle'});
              t.textContent = num(v, d) + s.unit;
              ticks.appendChild(t);
            }
          }

          // Tooltip: each visible line's value at the pointer, read back from its path.
          function vertices(p) {
            if (!p.pts) {
              var n = (p.getAttribute('d') || '').match(/-?[0-9.]+/g) || [];
              p.pts = [];
              for (var i = 0; i + 1 < n.length; i += 2) p.pts.push([+n[i], +n[i + 1]]);
            }
            return p.pts;
          }
          function yAt(pts, px, hold) {
            if (!pts.length || px < pts[0][0]) return null;
            if (px > pts[pts.length - 1][0]) return hold ? pts[pts.length - 1][1] : null;
            var lo = 0, hi = pts.length - 1;
            while (hi - lo > 1) { var m = (lo + hi) >> 1; if (px >= pts[m][0]) lo = m; else hi = m; }
            var a = pts[lo], b = pts[hi];
            return b[0] === a[0] ? a[1] : a[1] + (b[1] - a[1]) * (px - a[0]) / (b[0] - a[0]);
          }
          function hide(svg) {
            if (tip) tip.hidden = true;
            var h = svg.querySelector('.hover');
            if (h) h.setAttribute('visibility', 'hidden');
          }
          function svgPoint(svg, ev) {
            var pt = svg.createSVGPoint(), ctm = svg.getScreenCTM();
            pt.x = ev.clientX; pt.y = ev.clientY;
            return ctm ? pt.matrixTransform(ctm.inverse()) : null;
          }
          function hover(ev) {
            var svg = ev.currentTarget, pt = svgPoint(svg, ev);
            if (!pt || drag) return;
            var x = axis(svg, 'x'), y = axis(svg, 'y');
            if (pt.x < x.from || pt.x > x.to || pt.y < y.to || pt.y > y.from) { hide(svg); return; }
            var data = svg.querySelector('g.data'), k = (data && data.scaleX) || 1;
            var raw = (pt.x - ((data && data.shiftX) || 0)) / k, rows = [];
            all('path.ln', svg).forEach(function (p) {
              if (p.classList.contains('off')) return;
              var py = yAt(vertices(p), raw, svg.hasAttribute('data-hold'));
              if (py === null) return;
              var title = p.querySelector('title');
              rows.push({name: title ? title.textContent : '', colour: getComputedStyle(p).stroke, v: toData(y, py)});
            });
            if (!rows.length) { hide(svg); return; }
            var h = svg.querySelector('.hover');
            if (!h) { h = make('path', {'class': 'hover'}); svg.appendChild(h); }
            h.setAttribute('d', 'M' + pt.x.toFixed(1) + ' ' + y.to + 'V' + y.from);
            h.setAttribute('visibility', 'visible');
            if (!tip) { tip = document.createElement('div'); tip.className = 'tip'; tip.setAttribute('role', 'status'); document.body.appendChild(tip); }
            tip.textContent = '';
            var head = document.createElement('div');
            head.className = 'tip-x';
            head.textContent = (svg.getAttribute('data-xn') || '') + ' ' + fmt(toData(x, pt.x)) + x.unit;
            tip.appendChild(head);
            rows.forEach(function (r) {
              var row = document.createElement('div'), sw = document.createElement('i'), b = document.createElement('b');
              sw.style.borderColor = r.colour;
              b.textContent = fmt(r.v) + y.unit;
              row.appendChild(sw); row.appendChild(document.createTextNode(r.name + ' ')); row.appendChild(b);
              tip.appendChild(row);
            });
            tip.hidden = false;
            var left = ev.clientX + 16, top = ev.clientY + 12;
            if (left + tip.offsetWidth > window.innerWidth - 8) left = ev.clientX - 16 - tip.offsetWidth;
            if (top + tip.offsetHeight > window.innerHeight - 8) top = Math.max(8, window.innerHeight - 8 - tip.offsetHeight);
            tip.style.left = left + 'px';
            tip.style.top = top + 'px';
          }
          all('svg.plot').forEach(function (svg) {
            svg.addEventListener('mousemove', hover);
            svg.addEventListener('mouseleave', function () { hide(svg); });
          });

          // Drag across a time chart: every time chart shows that range; double-click: fit again.
          var drag = null;
          all('svg.plot[data-fit]').forEach(function (svg) {
            svg.addEventListener('mousedown', function (ev) {
              var x = axis(svg, 'x'), y = axis(svg, 'y'), pt = svgPoint(svg, ev);
              if (ev.button !== 0 || !pt || pt.x < x.from || pt.x > x.to) return;
              ev.preventDefault();
              hide(svg);
              drag = {svg: svg, from: pt.x, to: pt.x, box: make('rect', {'class': 'brush', x: pt.x, y: y.to, width: 0, height: y.from - y.to})};
              svg.appendChild(drag.box);
            });
            svg.addEventListener('dblclick', function () { range = null; all('svg.plot[data-fit]').forEach(refit); });
          });
          document.addEventListener('mousemove', function (ev) {
            if (!drag) return;
            var x = axis(drag.svg, 'x'), pt = svgPoint(drag.svg, ev);
            if (!pt) return;
            drag.to = Math.max(x.from, Math.min(x.to, pt.x));
            drag.box.setAttribute('x', Math.min(drag.from, drag.to));
            drag.box.setAttribute('width', Math.abs(drag.to - drag.from));
          });
          document.addEventListener('mouseup', function () {
            if (!drag) return;
            var d = drag, x = axis(d.svg, 'x');
            drag = null;
            d.box.parentNode.removeChild(d.box);
            if (Math.abs(d.to - d.from) < 4) return;
            range = [toData(x, Math.min(d.from, d.to)), toData(x, Math.max(d.from, d.to))];
            all('svg.plot[data-fit]').forEach(refit);
          });
          document.documentElement.classList.add('js');
        })();
        //]]>
        """

    /// `'sha256-…'`: the CSP source that allows `script` and nothing else.
    static let scriptHash: String = {
        "'sha256-" + Data(SHA256.digest(Array(script.utf8))).base64EncodedString() + "'"
    }()

    /// No network at all; inline styles; only this page's own script.
    static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; script-src \(scriptHash)"

    static var scriptElement: String { "<script>\(script)</script>" }

    /// The legend of strategies, clickable once the script runs. `entries`: label and strategy index.
    static func legend(_ entries: [(label: String, key: Int)], extra: String = "", hint: Bool = false,
                       fitHint: Bool = false, sticky: Bool = false) -> String {
        var h = "<ul class=\"legend\(sticky ? " sticky" : "")\" id=\"\(sticky ? "legend" : "")\">"
        for e in entries {
            h += "<li data-s=\"\(e.key)\" tabindex=\"0\" role=\"button\" aria-pressed=\"true\" title=\"click to hide or show in every chart\">"
            h += "<i class=\"sw \(HTMLReport.strategyClass(e.key))\"></i>\(HTMLText.escape(e.label))</li>"
        }
        h += extra
        if hint {
            h += "<li class=\"hint\">click a strategy to hide or show it in every chart; hover a chart for values"
            h += (fitHint ? "; drag across a time chart to zoom every time chart, double-click to fit again" : "") + "</li>"
        }
        return h + "</ul>"
    }

    /// Styles of charts, legends and the tooltip, shared by both pages.
    static let css: String = {
        var c = """
        .charts{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:18px}
        .charts.three{grid-template-columns:repeat(3,minmax(0,1fr))}
        .charts.small{gap:10px}
        figure{margin:0;padding:12px 14px 10px;border:1px solid #d1d9e0;border-radius:8px;min-width:0}
        figure.sm{padding:8px 10px 6px}
        figure.sm.off{display:none}
        figcaption{font-weight:650;margin-bottom:2px;overflow-wrap:anywhere}
        figcaption .sub{margin-top:1px}
        .legend{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:2px 14px;font-size:12px;color:#59636e}
        .legend li{overflow-wrap:anywhere}
        .legend li.hint{display:none;color:#818b98;font-style:italic}
        .js .legend li.hint{display:block}
        .js .legend li[data-s]{cursor:pointer;user-select:none;border-radius:4px;padding:0 3px}
        .js .legend li[data-s]:hover{background:#f0f3f6}
        .legend li.off{opacity:.45;text-decoration:line-through}
        .legend li:focus-visible{outline:2px solid #0969da}
        .legend.sticky{position:sticky;top:0;z-index:2;background:#fff;padding:6px 0;margin:0 0 12px;border-bottom:1px solid #d1d9e0;font-size:13px}
        .sw{display:inline-block;width:16px;height:0;border-top:3px solid var(--c);border-radius:2px;vertical-align:middle;margin-right:7px}
        svg.plot{display:block;width:100%;height:auto;margin-top:6px;overflow:visible}
        .plot text{font-size:11px;fill:#59636e}
        .plot .axis-title{fill:#1f2328;font-weight:600}
        .plot .grid path{stroke:#e6eaef;stroke-width:1}
        .plot .grid path.minor{stroke:#f2f4f6}
        .plot .frame{fill:none;stroke:#8c959f;stroke-width:1}
        .plot path.ln{fill:none;stroke:var(--c);stroke-width:1.8;stroke-opacity:.88;stroke-linejoin:round;stroke-linecap:round;vector-effect:non-scaling-stroke}
        .plot .mk{fill:var(--c);stroke:#fff;stroke-width:1}
        .plot .knee{fill:none;stroke:var(--c);stroke-width:1.2;stroke-dasharray:4 3}
        .plot .knee-dot{fill:#fff;stroke:var(--c);stroke-width:2}
        .plot .off{display:none}
        .plot .hover{stroke:#59636e;stroke-width:1;stroke-dasharray:2 2;pointer-events:none}
        .plot .brush{fill:rgba(9,105,218,.12);stroke:#0969da;stroke-width:1;pointer-events:none}
        .js svg.plot[data-fit]{cursor:crosshair;user-select:none}
        .plot .refline{fill:none;stroke:#8c959f;stroke-width:1;stroke-dasharray:5 4}
        .plot .refline.zero{stroke:#1f2328;stroke-dasharray:none;stroke-width:1.2}
        .plot .refline.slo{stroke:#cf4a2f}
        .plot .reflabel{font-size:10.5px;fill:#59636e;paint-order:stroke;stroke:#fff;stroke-width:3px}
        .plot .below{fill:#fdf0ee}
        .plot .below-label{fill:#c4432b;font-size:10.5px;font-weight:600}
        .plot .nodata{font-size:13px;fill:#818b98}
        .offered{--c:#8c959f}
        .plot path.ln.offered{stroke-dasharray:5 3;stroke-width:1.4}
        .sw.offered{border-top-style:dashed}
        .sw.limit{--c:#8c959f;border-top:1px dashed #8c959f}
        .sw.slo{--c:#cf4a2f;border-top:1px dashed #cf4a2f}
        .plot path.ln.d1{stroke-dasharray:7 3}.plot path.ln.d2{stroke-dasharray:2 3}
        .sw.d1,.sw.d2{border-top-style:dashed}
        .plot path.ln.dim-input{stroke-dasharray:7 3}.plot path.ln.dim-output{stroke-dasharray:1.5 3}
        .plot path.ln.g1{stroke-dasharray:7 3}.plot path.ln.g2{stroke-dasharray:1.5 3}.plot path.ln.g3{stroke-dasharray:10 3 2 3}
        .plot path.ln.g4{stroke-dasharray:4 4}.plot path.ln.g5{stroke-dasharray:12 5}
        .sw.g1,.sw.g3,.sw.g4,.sw.g5{border-top-style:dashed}.sw.g2{border-top-style:dotted}
        .legend.gauges{font-size:11.5px;margin-top:4px}
        .sw.dim-requests{--c:#59636e}.sw.dim-input{--c:#59636e;border-top-style:dashed}.sw.dim-output{--c:#59636e;border-top-style:dotted}
        .tip{position:fixed;z-index:10;pointer-events:none;background:#fff;border:1px solid #8c959f;border-radius:6px;padding:6px 9px;font-size:12px;line-height:1.45;box-shadow:0 2px 8px rgba(31,35,40,.15);max-width:340px;font-variant-numeric:tabular-nums}
        .tip .tip-x{font-weight:650;margin-bottom:2px}
        .tip i{display:inline-block;width:12px;border-top:3px solid;vertical-align:middle;margin-right:6px}
        .tip b{font-weight:600}
        @media (max-width:900px){.charts,.charts.three{grid-template-columns:minmax(0,1fr)}}
        @media print{.legend.sticky{position:static}figure{break-inside:avoid}}

        """
        for (i, colour) in HTMLReport.palette.enumerated() { c += ".s\(i){--c:\(colour)}" }
        return c + "\n"
    }()
}
