import Foundation

extension LoadReport {
    /// `report.md`: the headline figures and one row per replica.
    public var markdown: String {
        func f(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }
        let ms = LatencySummary.text
        var lines: [String] = ([
            "# \(scenario): \(verdict)",
            "",
            "\(date) — `\(command)`",
            "",
            setup.keys.sorted().map { "\($0) \(setup[$0] ?? "")" }.joined(separator: " · "),
            "",
            "| measure | value |",
            "|---|---:|",
            "| writes accepted | \(writes) (\(deletes) deletes, \(writeErrors) errors) |",
            "| write rate | \(f(writeRate)) /s over \(f(writeSeconds, 1)) s |",
            "| publish rate | \(f(publishRate)) entries/s (\(published) entries) |",
            "| latency p50 / p90 / p99 / p99.9 / max | \(ms(latencyMs.p50)) / \(ms(latencyMs.p90)) / \(ms(latencyMs.p99)) / \(ms(latencyMs.p999)) / \(ms(latencyMs.max)) ms |",
            "| drain after last write | \(f(drainSeconds, 2)) s |",
            writeAnswerMs.map {
                "| write answer p50 / p90 / p99 / p99.9 / max, from schedule | \(ms($0.p50)) / \(ms($0.p90)) / \(ms($0.p99)) / \(ms($0.p999)) / \(ms($0.max)) ms |"
            },
            writeServiceMs.map {
                "| write answer p50 / p90 / p99 / p99.9 / max, from send | \(ms($0.p50)) / \(ms($0.p90)) / \(ms($0.p99)) / \(ms($0.p999)) / \(ms($0.max)) ms |"
            },
            "| converged | \(converged ? "yes" : "no") (\(differenceCount) differences) |",
            "| dead letters | \(deadLetters) |",
            "| Redis used_memory, peak | \(f(Double(redisMaxMemoryBytes) / 1_048_576, 1)) MiB |",
            "",
            "| replica | workers | applied | apply rate /s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | final lag |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ] as [String?]).compactMap { $0 }
        for r in replicas {
            lines.append(
                "| \(r.region)/\(r.replica) | \(r.workers) | \(r.applied) | \(f(r.applyRate)) | \(ms(r.latencyMs.p50)) | \(ms(r.latencyMs.p90)) | \(ms(r.latencyMs.p99)) | \(ms(r.latencyMs.p999)) | \(ms(r.latencyMs.max)) | \(r.finalLag) |"
            )
        }
        if let r = readLoad {
            lines += [
                "",
                "| point reads during the writes | value |",
                "|---|---:|",
                "| target | \(r.target) |",
                "| offered / answered | \(f(r.offeredRate)) /s from \(r.connections) connections / \(f(r.rate)) /s (\(r.answered) reads, \(r.errors) errors) |",
                "| read latency p50 / p90 / p99 / p99.9 / max | \(ms(r.latencyMs.p50)) / \(ms(r.latencyMs.p90)) / \(ms(r.latencyMs.p99)) / \(ms(r.latencyMs.p999)) / \(ms(r.latencyMs.max)) ms |",
            ]
            if r.errors > 0 { lines.append("| last error | \(r.lastError) |") }
        }
        if !faults.isEmpty {
            lines += ["", "| fault | at s | lasted s | ok | detail |", "|---|---:|---:|---|---|"]
            for fault in faults {
                lines.append("| \(fault.kind) | \(f(fault.at, 1)) | \(f(fault.seconds, 1)) | \(fault.ok ? "yes" : "NO") | \(fault.detail) |")
            }
        }
        if outageReadsAnswered + outageReadsFailed > 0 {
            lines += ["", "Reads during hub outages: \(outageReadsAnswered) answered, \(outageReadsFailed) failed."]
        }
        if poisonInjected > 0 {
            lines += ["", "Poison entries: \(poisonInjected) injected, each dead-lettered once per replica; \(poisonPending) still pending."]
        }
        // CPU per accepted write: what issue 13's targets count (a spoke applies each write of
        // its region once, so its figure is also its CPU per applied entry when every write goes
        // to every region).
        func perWrite(_ seconds: Double) -> String { writes > 0 ? f(seconds * 1_000_000 / Double(writes), 1) : "-" }
        lines += ["", "| process | peak RSS MiB | CPU s | CPU µs per write |", "|---|---:|---:|---:|"]
        for p in processes {
            lines.append("| \(p.name) | \(f(Double(p.maxRssKB) / 1024, 1)) | \(f(p.cpuSeconds, 1)) | \(perWrite(p.cpuSeconds)) |")
        }
        let total = processes.reduce(0) { $0 + $1.cpuSeconds }
        lines.append("| all | | \(f(total, 1)) | \(perWrite(total)) |")
        if !warnings.isEmpty {
            lines += ["", "## Warnings", ""]
            lines += warnings.map { "- \($0)" }
        }
        if !problems.isEmpty || !differences.isEmpty {
            lines += ["", "## Why \(verdict)", ""]
            lines += problems.map { "- \($0)" }
            lines += differences.prefix(20).map { "- \($0)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
