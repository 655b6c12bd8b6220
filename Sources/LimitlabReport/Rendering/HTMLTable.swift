/// One table of report.html in the page's table style: an optional row of column groups over
/// the header row, then body rows whose cells may span several rows (a strategy over its
/// models). Cells are right-aligned numbers unless their column holds text.
struct HTMLTable {
    struct Column {
        var header: String
        /// A second line under the header (a unit, what the share is of).
        var note: String? = nil
        /// Consecutive columns of one group share a header above theirs.
        var group: String? = nil
        /// Left-aligned text (names, ids) rather than a number.
        var text = false
    }

    struct Cell {
        /// Already HTML (escaped by the caller).
        var html: String
        /// Plain text shown on hover: the exact values behind a rounded cell.
        var title: String? = nil
        var rowSpan = 1
        /// A row header (`<th scope="row">`): the strategy.
        var rowHeader = false

        static let none = Cell(html: "<span class=\"none\">–</span>")
    }

    var id: String
    var columns: [Column]
    /// Each row lists the cells that start in it: a cell spanning rows is left out of the rows below.
    var rows: [[Cell]]

    /// A left border where a group starts, so the groups read apart.
    static let css = ".grouped .gs{border-left:1px solid var(--line)}\n"

    func html() -> String {
        let esc = HTMLText.escape
        let grouped = columns.contains { $0.group != nil }
        var starts = Set<Int>()
        var h = "<div class=\"scroll\"><table id=\"\(esc(id))\"\(grouped ? " class=\"grouped\"" : "")><thead>"
        if grouped {
            h += "<tr class=\"group\">"
            var k = 0
            while k < columns.count {
                var span = 1
                while k + span < columns.count, let g = columns[k].group, columns[k + span].group == g { span += 1 }
                if let g = columns[k].group {
                    starts.insert(k)
                    h += "<th class=\"g gs\" colspan=\"\(span)\">\(esc(g))</th>"
                } else {
                    h += "<th\(span > 1 ? " colspan=\"\(span)\"" : "")></th>"
                }
                k += span
            }
            h += "</tr>"
        }
        h += "<tr>"
        for (k, c) in columns.enumerated() {
            let cls = [c.text ? "name" : nil, starts.contains(k) ? "gs" : nil].compactMap { $0 }
            h += "<th\(cls.isEmpty ? "" : " class=\"\(cls.joined(separator: " "))\"") scope=\"col\">\(esc(c.header))"
            if let note = c.note { h += "<span class=\"sub\">\(esc(note))</span>" }
            h += "</th>"
        }
        h += "</tr></thead><tbody>"
        // Which columns the cells of each row fall in, given the spans from the rows above.
        var covered = [Int](repeating: 0, count: columns.count)
        for row in rows {
            h += "<tr>"
            var k = 0
            for cell in row {
                while k < columns.count && covered[k] > 0 { k += 1 }
                let col = k < columns.count ? columns[k] : Column(header: "")
                let tag = cell.rowHeader ? "th" : "td"
                var attrs = cell.rowHeader ? " scope=\"row\"" : ""
                let cls = [col.text && !cell.rowHeader ? "name" : nil, starts.contains(k) ? "gs" : nil].compactMap { $0 }
                if !cls.isEmpty { attrs += " class=\"\(cls.joined(separator: " "))\"" }
                if cell.rowSpan > 1 { attrs += " rowspan=\"\(cell.rowSpan)\"" }
                if let t = cell.title { attrs += " title=\"\(esc(t))\"" }
                h += "<\(tag)\(attrs)>\(cell.html)</\(tag)>"
                if k < columns.count { covered[k] = cell.rowSpan }
                k += 1
            }
            h += "</tr>"
            for i in covered.indices where covered[i] > 0 { covered[i] -= 1 }
        }
        return h + "</tbody></table></div>"
    }
}
