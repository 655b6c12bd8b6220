import Foundation

/// Axis ticks: "nice" steps (1, 2, 2.5, 5 × 10ⁿ) on linear axes, decades on log axes.
enum Ticks {
    /// A step near `span / target` from the 1-2-2.5-5 sequence.
    static func niceStep(span: Double, target: Int) -> Double {
        guard span > 0, span.isFinite else { return 1 }
        let raw = span / Double(Swift.max(1, target))
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let f = raw / magnitude
        // The tolerance keeps 0.6 / 3 (= 0.19999…98 × 10ⁿ after the division) a 2, not a 2.5.
        let e = 1e-9
        let nice: Double = f <= 1 + e ? 1 : f <= 2 + e ? 2 : f <= 2.5 + e ? 2.5 : f <= 5 + e ? 5 : 10
        return nice * magnitude
    }

    /// A domain covering [lo, hi] that starts and ends on ticks, and its ticks.
    static func linear(_ lo: Double, _ hi: Double, target: Int = 5) -> (lo: Double, hi: Double, step: Double, ticks: [Double]) {
        var lo = lo.isFinite ? lo : 0, hi = hi.isFinite ? hi : 1
        if hi < lo { swap(&lo, &hi) }
        if hi - lo <= Swift.max(abs(lo), abs(hi)) * 1e-9 {
            // A flat series still needs a visible band around it (not crossing zero if it didn't).
            // "Flat" includes a rounding error apart: a step of 1e-14 would mean 1e16 ticks.
            hi = lo
            let pad = lo == 0 ? 1 : abs(lo) * 0.5
            hi += pad
            lo = lo >= 0 ? Swift.max(0, lo - pad) : lo - pad
        }
        let step = niceStep(span: hi - lo, target: target)
        // Tolerance: a value a rounding error past a tick should not add a whole empty step.
        let first = ((lo / step) + 1e-9).rounded(.down), last = ((hi / step) - 1e-9).rounded(.up)
        // Rounded to the step's decimals so labels and comparisons see 0.6, not 0.6000000000000001.
        let unit = pow(10, Double(decimals(step: step)))
        func value(_ k: Double) -> Double {
            let v = (k * step * unit).rounded() / unit
            return v == 0 ? 0 : v  // no -0
        }
        let ticks = stride(from: first, through: last, by: 1).map(value)
        return (value(first), value(last), step, ticks)
    }

    /// Whole decades covering [lo, hi] (lo > 0); major ticks at each decade, minor at 2…9 × 10ⁿ.
    static func log(_ lo: Double, _ hi: Double) -> (lo: Double, hi: Double, major: [Double], minor: [Double]) {
        let a = Int((log10(lo) + 1e-9).rounded(.down)), b = Swift.max(a + 1, Int((log10(hi) - 1e-9).rounded(.up)))
        var major: [Double] = [], minor: [Double] = []
        for e in a...b {
            let d = pow(10, Double(e))
            major.append(d)
            if e < b { for m in 2...9 { minor.append(Double(m) * d) } }
        }
        return (major[0], major[major.count - 1], major, minor)
    }

    /// Decimal places that show `step` exactly (2.5 needs one more than 2 or 5).
    static func decimals(step: Double) -> Int {
        guard step > 0, step.isFinite else { return 0 }
        let e = Int((log10(step) + 1e-9).rounded(.down))
        let mantissa = step / pow(10, Double(e))
        return Swift.max(0, -e + (abs(mantissa - 2.5) < 1e-6 ? 1 : 0))
    }
}

/// A generic SVG line chart: x/y axes (linear or log), gridlines, tick labels with units,
/// reference lines, an optional shaded region below zero, and one `<path>` per series.
/// The output is well-formed XML so the page stays XHTML-compatible; colours come from CSS
/// classes of the page (`s0`…`s7`, `offered`) so every chart uses the same strategy colours.
/// The one chart code of report.html and sweep.html: `ChartKit.script` reads the scales from
/// the `data-x`/`data-y` attributes and the strategy of each line from `data-s`.
struct LineChart {
    struct Series {
        var label: String
        /// CSS classes giving the stroke colour (and dash), e.g. `s0` or `offered`.
        var style: String
        var points: [(x: Double, y: Double)]
        /// The strategy's index: the legend hides every element with this `data-s`.
        var key: Int? = nil
        /// An x to highlight on this series (a sweep's knee): a dashed line and a ring.
        var mark: Double? = nil
    }

    struct Axis {
        var title: String
        /// Appended to every tick label (`" s"`, `"%"`, `" min"`); empty for plain counts.
        var unit: String
        /// Forces the domain (otherwise the data's extent, widened to nice ticks).
        var fixed: ClosedRange<Double>?
        /// Values the domain must include besides the data (0 for counts, 100 % for capacity).
        var include: [Double] = []
        var log = false
        /// A time axis the page's script re-fits to the series still shown.
        var fit = false
        /// What the tooltip calls a value on this axis (default: the title).
        var short: String? = nil
    }

    enum Orientation { case horizontal, vertical }

    struct Reference {
        var orientation: Orientation
        var value: Double
        var label: String
        /// CSS classes of the line (`limit`, `zero`, `slo`).
        var style: String
        /// Whether the axis grows to show the line; if not, a line outside the data is left out.
        var extendsDomain = true
    }

    /// Unique within the page: prefixes the `<title>`, `<desc>` and clip-path ids.
    var id: String
    var title: String
    var summary: String
    var x: Axis
    var y: Axis
    var series: [Series]
    var references: [Reference] = []
    /// Label of the shaded region below y = 0 (e.g. "debt"); nil: no shading.
    var belowZero: String?
    /// Shown instead of lines when no series has a drawable point.
    var emptyMessage = "no data"
    var width: Double = 560
    var height: Double = 270
    /// A dot at every point (sweeps: few points, each a separate simulation).
    var markers = false
    /// A series keeps its last value after its last point (a CDF stays at 100%): for the tooltip.
    var holdsLast = false

    private let left = 54.0, right = 14.0, top = 14.0, bottom = 36.0

    /// A mapping from data to pixels along one axis.
    struct Scale {
        var lo: Double, hi: Double, log: Bool
        var from: Double, to: Double
        var major: [Double], minor: [Double]
        var decimals: Int

        func callAsFunction(_ v: Double) -> Double {
            let t = log ? (log10(v) - log10(lo)) / (log10(hi) - log10(lo)) : (v - lo) / (hi - lo)
            return from + t * (to - from)
        }
        func contains(_ v: Double) -> Bool { v >= lo - (hi - lo) * 1e-9 && v <= hi + (hi - lo) * 1e-9 }
    }

    static func scale(_ axis: Axis, values: [Double], from: Double, to: Double, target: Int) -> Scale {
        var data = values.filter { $0.isFinite && (!axis.log || $0 > 0) }
        data += axis.include.filter { $0.isFinite && (!axis.log || $0 > 0) }
        if let fixed = axis.fixed, fixed.upperBound > fixed.lowerBound {
            let t = Ticks.linear(fixed.lowerBound, fixed.upperBound, target: target)
            return Scale(lo: fixed.lowerBound, hi: fixed.upperBound, log: false, from: from, to: to,
                         major: t.ticks.filter { fixed.contains($0) }, minor: [], decimals: Ticks.decimals(step: t.step))
        }
        let lo = data.min() ?? 0, hi = data.max() ?? 1
        if axis.fit && !axis.log && hi > lo {
            // Ends where the data ends, not at the next tick: a run of 15.1 minutes should not
            // get an axis to 20 (the script re-fits the same way).
            let t = Ticks.linear(lo, hi, target: target)
            return Scale(lo: lo, hi: hi, log: false, from: from, to: to, major: t.ticks.filter { $0 >= lo && $0 <= hi * (1 + 1e-9) },
                         minor: [], decimals: Ticks.decimals(step: t.step))
        }
        if axis.log && lo > 0 {
            let t = Ticks.log(lo, hi)
            return Scale(lo: t.lo, hi: t.hi, log: true, from: from, to: to, major: t.major, minor: t.minor, decimals: 0)
        }
        let t = Ticks.linear(lo, hi, target: target)
        return Scale(lo: t.lo, hi: t.hi, log: false, from: from, to: to, major: t.ticks, minor: [],
                     decimals: Ticks.decimals(step: t.step))
    }

    func svg() -> String {
        let plotL = left, plotR = width - right, plotT = top, plotB = height - bottom
        let xTarget = Swift.max(3, Int(width / 90))
        let xs = Self.scale(x, values: series.flatMap { $0.points.map(\.x) }
                                + references.filter { $0.orientation == .vertical && $0.extendsDomain }.map(\.value),
                            from: plotL, to: plotR, target: xTarget)
        let ys = Self.scale(y, values: series.flatMap { $0.points.map(\.y) }
                                + references.filter { $0.orientation == .horizontal && $0.extendsDomain }.map(\.value),
                            from: plotB, to: plotT, target: Swift.max(3, Int(height / 55)))
        var o = "<svg class=\"plot\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" "
        o += "aria-labelledby=\"\(id)-t \(id)-d\" id=\"\(id)\""
        // The scales, for the script's tooltip and axis re-fit: data lo hi → pixels from to.
        func scaleAttr(_ s: Scale) -> String {
            "\(HTMLFormat.exact(s.lo)) \(HTMLFormat.exact(s.hi)) \(n(s.from)) \(n(s.to))\(s.log ? " log" : "")"
        }
        o += " data-x=\"\(scaleAttr(xs))\" data-y=\"\(scaleAttr(ys))\" data-xu=\"\(HTMLText.escape(x.unit))\""
        o += " data-yu=\"\(HTMLText.escape(y.unit))\" data-xn=\"\(HTMLText.escape(x.short ?? x.title))\""
        if x.fit && !xs.log { o += " data-fit=\"\" data-xt=\"\(xTarget)\"" }
        if holdsLast { o += " data-hold=\"\"" }
        o += ">"
        o += "<title id=\"\(id)-t\">\(HTMLText.escape(title))</title><desc id=\"\(id)-d\">\(HTMLText.escape(summary))</desc>"
        o += "<defs><clipPath id=\"\(id)-clip\"><rect x=\"\(n(plotL))\" y=\"\(n(plotT - 1))\" width=\"\(n(plotR - plotL))\" "
        o += "height=\"\(n(plotB - plotT + 2))\"/></clipPath></defs>"

        if let label = belowZero, ys.lo < 0 && ys.hi > 0 {
            let z = ys(0)
            o += "<rect class=\"below\" x=\"\(n(plotL))\" y=\"\(n(z))\" width=\"\(n(plotR - plotL))\" height=\"\(n(plotB - z))\"/>"
            if plotB - z > 16 {
                o += "<text class=\"below-label\" x=\"\(n(plotL + 6))\" y=\"\(n(plotB - 6))\">\(HTMLText.escape(label))</text>"
            }
        }

        // Gridlines and tick labels.
        o += "<g class=\"grid\">"
        for v in xs.minor where xs.contains(v) { o += vline(xs(v), plotT, plotB, minor: true) }
        for v in ys.minor where ys.contains(v) { o += hline(ys(v), plotL, plotR, minor: true) }
        for v in xs.major where xs.contains(v) { o += vline(xs(v), plotT, plotB, minor: false) }
        for v in ys.major where ys.contains(v) { o += hline(ys(v), plotL, plotR, minor: false) }
        o += "</g><g class=\"ticks\">"
        for v in xs.major where xs.contains(v) {
            o += "<text class=\"xt\" x=\"\(n(xs(v)))\" y=\"\(n(plotB + 14))\" text-anchor=\"middle\">"
            o += "\(HTMLText.escape(label(v, xs) + x.unit))</text>"
        }
        for v in ys.major where ys.contains(v) {
            o += "<text x=\"\(n(plotL - 6))\" y=\"\(n(ys(v) + 3.5))\" text-anchor=\"end\">\(HTMLText.escape(label(v, ys) + y.unit))</text>"
        }
        o += "</g>"
        o += "<text class=\"axis-title\" x=\"\(n((plotL + plotR) / 2))\" y=\"\(n(height - 4))\" text-anchor=\"middle\">"
        o += "\(HTMLText.escape(x.title))</text>"
        o += "<text class=\"axis-title\" x=\"\(n(plotL))\" y=\"\(n(plotT - 4))\">\(HTMLText.escape(y.title))</text>"
        o += "<path class=\"frame\" d=\"M\(n(plotL)) \(n(plotT))V\(n(plotB))H\(n(plotR))\"/>"

        // Reference lines under the data, labels at their ends.
        for r in references {
            switch r.orientation {
            case .horizontal where ys.contains(r.value):
                let py = ys(r.value)
                o += "<path class=\"refline \(r.style)\" d=\"M\(n(plotL)) \(n(py))H\(n(plotR))\"/>"
                if !r.label.isEmpty {
                    o += "<text class=\"reflabel\" x=\"\(n(plotR - 4))\" y=\"\(n(py - 4))\" text-anchor=\"end\">\(HTMLText.escape(r.label))</text>"
                }
            case .vertical where xs.contains(r.value):
                let px = xs(r.value)
                o += "<path class=\"refline \(r.style)\" d=\"M\(n(px)) \(n(plotT))V\(n(plotB))\"/>"
                if !r.label.isEmpty {
                    // Near the right edge the label goes left of the line, or it would be cut off.
                    let flip = px > plotL + (plotR - plotL) * 0.8
                    o += "<text class=\"reflabel\" x=\"\(n(flip ? px - 4 : px + 4))\" y=\"\(n(plotT + 11))\"\(flip ? " text-anchor=\"end\"" : "")>"
                    o += "\(HTMLText.escape(r.label))</text>"
                }
            default: break
            }
        }

        var drawn = 0
        o += "<g clip-path=\"url(#\(id)-clip)\"><g class=\"data\">"
        // Coinciding series (strategies that behave the same) would hide all but the last
        // colour: later copies are dashed so that each colour shows in turn along the line.
        let pixels = series.map { pixelPoints($0.points, xs, ys) }
        let paths = pixels.map(pathData)
        let copies = Self.coinciding(pixels, keys: series.map(\.key), plotWidth: plotR - plotL)
        for (i, s) in series.enumerated() {
            let d = paths[i]
            guard !d.isEmpty else { continue }
            drawn += 1
            let key = s.key.map { " data-s=\"\($0)\"" } ?? ""
            let end = s.points.map(\.x).filter(\.isFinite).max() ?? 0
            o += "<path class=\"ln \(s.style)\"\(key) data-x1=\"\(HTMLFormat.exact(end))\""
            if let group = copies[i], let j = group.firstIndex(of: i), j > 0 {
                let period = 6 * group.count
                o += " style=\"stroke-dasharray:6 \(period - 6);stroke-dashoffset:\((period - 6 * (j - 1)) % period)\""
            }
            o += " d=\"\(d)\"><title>\(HTMLText.escape(s.label))</title></path>"
            if markers {
                for p in s.points where p.x.isFinite && p.y.isFinite && xs.contains(p.x) && ys.contains(p.y) {
                    o += "<circle class=\"mk \(s.style)\"\(key) cx=\"\(n(xs(p.x)))\" cy=\"\(n(ys(p.y)))\" r=\"3\"/>"
                }
            }
            if let m = s.mark, xs.contains(m) {
                o += "<path class=\"knee \(s.style)\"\(key) d=\"M\(n(xs(m))) \(n(plotT))V\(n(plotB))\"/>"
                if let p = s.points.first(where: { $0.x == m }), ys.contains(p.y) {
                    o += "<circle class=\"knee-dot \(s.style)\"\(key) cx=\"\(n(xs(m)))\" cy=\"\(n(ys(p.y)))\" r=\"5\"/>"
                }
            }
        }
        o += "</g></g>"
        if drawn == 0 {
            o += "<text class=\"nodata\" x=\"\(n((plotL + plotR) / 2))\" y=\"\(n((plotT + plotB) / 2))\" text-anchor=\"middle\">"
            o += "\(HTMLText.escape(emptyMessage))</text>"
        }
        o += "</svg>"
        return o
    }

    private func vline(_ px: Double, _ t: Double, _ b: Double, minor: Bool) -> String {
        "<path class=\"\(minor ? "minor xg" : "xg")\" d=\"M\(n(px)) \(n(t))V\(n(b))\"/>"
    }
    private func hline(_ py: Double, _ l: Double, _ r: Double, minor: Bool) -> String {
        "<path\(minor ? " class=\"minor\"" : "") d=\"M\(n(l)) \(n(py))H\(n(r))\"/>"
    }

    private func label(_ v: Double, _ s: Scale) -> String {
        if s.log { return v >= 1 ? HTMLFormat.grouped(Int(v.rounded())) : HTMLFormat.trimmed(v, 6) }
        return HTMLFormat.fixedGrouped(v, s.decimals)
    }

    /// For each strategy's series that coincides with other strategies' on screen, its group
    /// (indices in drawing order): their x ranges match within 2% of the plot, and at 90% of 48
    /// positions across them the lines are within 1.5 px.
    static func coinciding(_ pixels: [[(Int, Int)]], keys: [Int?], plotWidth: Double) -> [Int: [Int]] {
        func y(_ pts: [(Int, Int)], at x: Double) -> Double? {
            guard let first = pts.first, let last = pts.last, x >= Double(first.0), x <= Double(last.0) else { return nil }
            var lo = 0, hi = pts.count - 1
            while hi - lo > 1 { let m = (lo + hi) / 2; if Double(pts[m].0) <= x { lo = m } else { hi = m } }
            let a = pts[lo], b = pts[hi]
            return a.0 == b.0 ? Double(a.1) : Double(a.1) + Double(b.1 - a.1) * (x - Double(a.0)) / Double(b.0 - a.0)
        }
        func same(_ a: [(Int, Int)], _ b: [(Int, Int)]) -> Bool {
            guard let a0 = a.first?.0, let a1 = a.last?.0, let b0 = b.first?.0, let b1 = b.last?.0 else { return false }
            let slack = plotWidth * 10 * 0.02  // tenths of a pixel
            guard abs(Double(a0 - b0)) <= slack, abs(Double(a1 - b1)) <= slack else { return false }
            let lo = Double(Swift.max(a0, b0)), hi = Double(Swift.min(a1, b1))
            guard hi > lo else { return false }
            var close = 0, n = 0
            for k in 0..<48 {
                let x = lo + (hi - lo) * Double(k) / 47
                guard let ya = y(a, at: x), let yb = y(b, at: x) else { continue }
                n += 1
                if abs(ya - yb) <= 15 { close += 1 }
            }
            return n > 0 && Double(close) >= 0.9 * Double(n)
        }
        var group = Array(pixels.indices)  // union-find parent
        func root(_ i: Int) -> Int { var i = i; while group[i] != i { i = group[i] }; return i }
        for i in pixels.indices where pixels[i].count > 1 && keys[i] != nil {
            for j in pixels.indices.prefix(i) where pixels[j].count > 1 && keys[j] != nil && keys[j] != keys[i]
                && root(j) != root(i) && same(pixels[j], pixels[i]) {
                group[root(i)] = root(j)
            }
        }
        var members: [Int: [Int]] = [:]
        for i in pixels.indices where pixels[i].count > 1 { members[root(i), default: []].append(i) }
        var out: [Int: [Int]] = [:]
        for m in members.values where m.count > 1 { for i in m { out[i] = m } }
        return out
    }

    /// Points in tenths of a pixel, without repeats.
    private func pixelPoints(_ points: [(x: Double, y: Double)], _ xs: Scale, _ ys: Scale) -> [(Int, Int)] {
        var pts: [(Int, Int)] = []
        pts.reserveCapacity(points.count)
        for p in points where p.x.isFinite && p.y.isFinite && (!xs.log || p.x > 0) && (!ys.log || p.y > 0) {
            let q = (Int((xs(p.x) * 10).rounded()), Int((ys(p.y) * 10).rounded()))
            if let last = pts.last, last == q { continue }
            pts.append(q)
        }
        return pts
    }

    /// Path data in tenths of a pixel. Interior points of horizontal runs are dropped: flat
    /// stretches (a full bucket, zero 429s) would otherwise dominate the file size.
    private func pathData(_ points: [(Int, Int)]) -> String {
        var pts = points
        guard !pts.isEmpty else { return "" }
        if pts.count == 1 { pts.append((pts[0].0 + 10, pts[0].1)) }  // a lone point as a short tick
        var kept: [(Int, Int)] = [pts[0]]
        for i in 1..<pts.count {
            if i + 1 < pts.count && pts[i - 1].1 == pts[i].1 && pts[i + 1].1 == pts[i].1 { continue }
            kept.append(pts[i])
        }
        var d = "M" + tenths(kept[0].0) + " " + tenths(kept[0].1) + "L"
        for (i, p) in kept.dropFirst().enumerated() {
            if i > 0 { d += " " }
            d += tenths(p.0) + " " + tenths(p.1)
        }
        return d
    }

    private func tenths(_ v: Int) -> String {
        let sign = v < 0 ? "-" : "", a = abs(v)
        return a % 10 == 0 ? sign + String(a / 10) : sign + String(a / 10) + "." + String(a % 10)
    }

    private func n(_ v: Double) -> String { tenths(Int((v * 10).rounded())) }
}
