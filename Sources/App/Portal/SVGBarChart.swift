import Foundation

/// A horizontal bar chart as inline SVG, drawn on the server: no script, no inline styles (the page's
/// CSP forbids them), colours from the stylesheet's classes, and a title and description for screen
/// readers. Every label is escaped here, because the page inserts the SVG unescaped.
struct SVGBarChart {
    struct Bar {
        var label: String
        var value: Double
        var display: String
        /// A stylesheet class for the bar: `counted`, `excluded`, `value`.
        var kind: String
    }

    /// Unique on its page: the SVG's title element is found by it.
    var id: String
    var title: String
    var bars: [Bar]

    private static let width = 640.0
    private static let labelWidth = 200.0
    private static let valueWidth = 110.0
    private static let rowHeight = 28.0

    var svg: String {
        let height = max(1, Double(bars.count)) * Self.rowHeight + 8
        let plot = Self.width - Self.labelWidth - Self.valueWidth
        let largest = bars.map(\.value).max().map { max($0, .leastNonzeroMagnitude) } ?? 1
        var svg = """
            <svg class="chart" role="img" aria-labelledby="\(id)" viewBox="0 0 \(Self.width) \(height)" \
            width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">\
            <title id="\(id)">\(Self.escape(title))</title>
            """
        for (row, bar) in bars.enumerated() {
            let y = Double(row) * Self.rowHeight + 4
            let length = max(0, bar.value) / largest * plot
            svg += """
                <text class="chart-label" x="\(Self.labelWidth - 8)" y="\(y + 17)" text-anchor="end">\
                \(Self.escape(bar.label))</text>\
                <rect class="bar-\(Self.escape(bar.kind))" x="\(Self.labelWidth)" y="\(y + 4)" \
                width="\(Self.format(length))" height="\(Self.rowHeight - 10)" rx="3"/>\
                <text class="chart-value" x="\(Self.format(Self.labelWidth + length + 6))" y="\(y + 17)">\
                \(Self.escape(bar.display))</text>
                """
        }
        return svg + "</svg>"
    }

    private static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "&": escaped += "&amp;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
