import Foundation

extension LoadReport {
    /// `report.svg`: latency percentiles (log scale) and throughput per second, with every fault
    /// drawn as a vertical line and its span shaded, so what a `kill -9` did is visible at a glance.
    public var svg: String {
        let width = 1000.0
        let left = 70.0
        let right = 20.0
        let plotWidth = width - left - right
        let panelHeight = 240.0
        let latencyTop = 50.0
        let throughputTop = latencyTop + panelHeight + 60
        let height = throughputTop + panelHeight + 60
        let seconds = Swift.max(1, (timeline.last?.second ?? 0) + 1)
        func x(_ second: Double) -> Double { left + plotWidth * second / Double(seconds) }
        func fmt(_ v: Double) -> String { String(format: "%.1f", v) }

        var out = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(left)\" y=\"22\" font-size=\"16\" font-weight=\"bold\">\(escape(scenario)): \(verdict) — p50 \(LatencySummary.text(latencyMs.p50)) ms, p99 \(LatencySummary.text(latencyMs.p99)) ms, max \(LatencySummary.text(latencyMs.max)) ms; publish \(Int(publishRate))/s</text>",
        ]

        // Latency panel, log scale from the decade of the lowest latency (1 ms, 0.1 ms or 0.01 ms:
        // latencies have two decimals) up.
        let maxLatency = Swift.max(10, timeline.map(\.max).max() ?? 10)
        let lowest = timeline.flatMap { [$0.p50, $0.p99, $0.max] }.filter { $0 > 0 }.min() ?? 1
        let low = Swift.min(0, Swift.max(-2, log10(lowest).rounded(.down)))
        let high = Swift.max(1, log10(maxLatency).rounded(.up))
        func yLatency(_ ms: Double) -> Double {
            latencyTop + panelHeight - panelHeight * (log10(Swift.max(pow(10, low), ms)) - low) / (high - low)
        }
        out.append(frame(x: left, y: latencyTop, width: plotWidth, height: panelHeight, title: "end-to-end latency per second, ms (log scale)"))
        for d in Int(low)...Int(high) {
            let value = pow(10, Double(d))
            let y = yLatency(value)
            let label = d < 0 ? String(format: "%.\(-d)f", value) : "\(Int(value))"
            out.append("<line x1=\"\(fmt(left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(left + plotWidth))\" y2=\"\(fmt(y))\" stroke=\"#ddd\"/>")
            out.append("<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">\(label)</text>")
        }
        // Seconds without applies break the lines instead of being bridged.
        var runs: [[TimelineBucket]] = []
        for bucket in timeline where bucket.max > 0 {
            if let last = runs.last?.last, last.second == bucket.second - 1 {
                runs[runs.count - 1].append(bucket)
            } else {
                runs.append([bucket])
            }
        }
        for run in runs {
            out.append(polyline(run.map { (x(Double($0.second) + 0.5), yLatency($0.max)) }, color: "#bbb", label: "max"))
            out.append(polyline(run.map { (x(Double($0.second) + 0.5), yLatency($0.p99)) }, color: "#d62728", label: "p99"))
            out.append(polyline(run.map { (x(Double($0.second) + 0.5), yLatency($0.p50)) }, color: "#1f77b4", label: "p50"))
        }
        out.append(legend(x: left + plotWidth - 200, y: latencyTop + 16, items: [("p50", "#1f77b4"), ("p99", "#d62728"), ("max", "#bbb")]))

        // Throughput panel.
        let maxRate = Swift.max(10, timeline.map { Double(Swift.max($0.writes, $0.applied)) }.max() ?? 10) * 1.1
        func yRate(_ rate: Double) -> Double { throughputTop + panelHeight - panelHeight * rate / maxRate }
        out.append(frame(x: left, y: throughputTop, width: plotWidth, height: panelHeight, title: "throughput per second: hub writes accepted, entries applied (all replicas)"))
        for i in 0...4 {
            let value = maxRate * Double(i) / 4
            let y = yRate(value)
            out.append("<line x1=\"\(fmt(left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(left + plotWidth))\" y2=\"\(fmt(y))\" stroke=\"#ddd\"/>")
            out.append("<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">\(Int(value))</text>")
        }
        out.append(polyline(timeline.map { (x(Double($0.second) + 0.5), yRate(Double($0.writes))) }, color: "#2ca02c", label: "writes"))
        out.append(polyline(timeline.map { (x(Double($0.second) + 0.5), yRate(Double($0.applied))) }, color: "#9467bd", label: "applied"))
        out.append(legend(x: left + plotWidth - 200, y: throughputTop + 16, items: [("writes/s", "#2ca02c"), ("applied/s", "#9467bd")]))

        // Time axis.
        let step = Swift.max(1, seconds / 10)
        for s in stride(from: 0, through: seconds, by: step) {
            let xs = x(Double(s))
            out.append("<text x=\"\(fmt(xs))\" y=\"\(fmt(throughputTop + panelHeight + 16))\" text-anchor=\"middle\">\(s)s</text>")
            out.append("<text x=\"\(fmt(xs))\" y=\"\(fmt(latencyTop + panelHeight + 16))\" text-anchor=\"middle\">\(s)s</text>")
        }

        // Faults: a shaded span, a line at the start, a label.
        for (i, fault) in faults.enumerated() {
            let x0 = x(fault.at)
            let x1 = Swift.max(x0 + 1, x(fault.at + fault.seconds))
            for top in [latencyTop, throughputTop] {
                out.append("<rect x=\"\(fmt(x0))\" y=\"\(fmt(top))\" width=\"\(fmt(x1 - x0))\" height=\"\(fmt(panelHeight))\" fill=\"#ff7f0e\" fill-opacity=\"0.12\"/>")
                out.append("<line x1=\"\(fmt(x0))\" y1=\"\(fmt(top))\" x2=\"\(fmt(x0))\" y2=\"\(fmt(top + panelHeight))\" stroke=\"#ff7f0e\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>")
            }
            let labelY = latencyTop + 12 + Double(i % 4) * 13
            out.append("<text x=\"\(fmt(x0 + 3))\" y=\"\(fmt(labelY))\" fill=\"#c05000\">\(escape(fault.kind))</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    private func frame(x: Double, y: Double, width: Double, height: Double, title: String) -> String {
        """
        <text x="\(x)" y="\(y - 8)" font-weight="bold">\(escape(title))</text>
        <rect x="\(x)" y="\(y)" width="\(width)" height="\(height)" fill="none" stroke="#888"/>
        """
    }

    private func polyline(_ points: [(Double, Double)], color: String, label: String) -> String {
        guard !points.isEmpty else { return "" }
        let list = points.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")
        return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\" points=\"\(list)\"><title>\(label)</title></polyline>"
    }

    private func legend(x: Double, y: Double, items: [(String, String)]) -> String {
        items.enumerated().map { i, item in
            let xi = x + Double(i) * 70
            return "<line x1=\"\(xi)\" y1=\"\(y - 4)\" x2=\"\(xi + 18)\" y2=\"\(y - 4)\" stroke=\"\(item.1)\" stroke-width=\"2\"/><text x=\"\(xi + 22)\" y=\"\(y)\">\(item.0)</text>"
        }.joined(separator: "\n")
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
