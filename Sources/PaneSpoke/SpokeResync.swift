import Foundation
import Logging
import Metrics
import PaneCore
import PaneRedis

/// The worker's part in resync: every maintenance tick it observes the replica and the stream,
/// lets ``GapDetector`` decide, asks the hub through `pane:{R}:resync` when needed, and
/// publishes the replica's heartbeat (and, now and then, its digest) to `pane:{R}:replicas`.
/// When a snapshot announced for this replica comes down the stream, it applies it chunk by
/// chunk, resuming after a crash.
extension SpokeWorker {
    /// Observes, decides, asks; publishes the heartbeat. Called from `maintain`.
    func checkGaps(loop: Loop, client: RedisClient) throws {
        let view = try store.resyncView()
        let watermark = view.ranges.watermark
        status.setBootstrapping(view.inFlight?.bootstrapping ?? false)
        let now = WallClock.nowMs()
        let heartbeat = ReplicaHeartbeat(
            replica: config.replica.name, consumer: config.consumer, watermark: watermark, highest: view.ranges.highest, timeMs: now,
            resync: view.inFlight.map {
                ResyncProgress(
                    reason: $0.reason, state: $0.epoch == 0 ? "requested" : "applying", requestedAtMs: $0.requestedAtMs, chunksDone: $0.chunksDone,
                    chunks: $0.chunks, bootstrapping: $0.bootstrapping)
            }, resyncsDone: view.resyncsDone)
        let next = StreamEntryCodec.entryID(seq: watermark + 1)
        let replies = try client.run { conn throws(RedisError) in
            try conn.pipeline([
                ["XINFO", "STREAM", RedisArgument(key)],
                ["XINFO", "GROUPS", RedisArgument(key)],
                ["XPENDING", RedisArgument(key), RedisArgument(group), RedisArgument(next), RedisArgument(next), "1"],
                ["HSET", RedisArgument(Keys.replicas(config.region)), RedisArgument(config.replica.name), RedisArgument(StatusJSON.encode(heartbeat))],
            ])
        }
        var stream: GapDetector.StreamView?
        if !replies[0].isError {
            let info = replies[0].fieldMap
            let first = info["first-entry"]?.array?.first?.string.flatMap(Self.seqPart)
            stream = GapDetector.StreamView(
                length: Int(info["length"]?.int ?? 0), firstSeq: first,
                topSeq: info["last-generated-id"]?.string.flatMap(Self.seqPart) ?? 0)
        }
        let groupInfo = replies[1].array?.map(\.fieldMap).first { $0["name"]?.string == group }
        let delivered = groupInfo?["last-delivered-id"]?.string.flatMap(Self.seqPart)
        let observation = GapDetector.Observation(
            nowMs: now, watermark: watermark, databaseEmpty: view.empty, stream: stream, groupLastDelivered: delivered,
            nextPending: !(replies[2].array?.isEmpty ?? true), deletedPending: loop.deletedPending, stale: view.stale,
            inFlight: view.inFlight.map { GapDetector.InFlight(reason: $0.reason, requestedAtMs: $0.requestedAtMs) })
        loop.deletedPending = 0
        guard case .resync(let reason, let buckets, let detail) = loop.detector.decide(observation) else { return }
        let requestID = "\(config.replica.name)-\(now)-\(UInt32.random(in: 0...UInt32.max))"
        let bootstrapping = reason == .bootstrap
        guard
            try store.beginResync(
                requestID: requestID, reason: reason.rawValue, bootstrapping: bootstrapping, nowMs: now, timeoutMs: config.gaps.requestTimeoutMs)
        else { return }
        let request = ResyncRequest(requestID: requestID, replica: config.replica.name, reason: reason.rawValue, buckets: buckets)
        _ = try client.run { conn throws(RedisError) in
            try conn.command(
                ["XADD", RedisArgument(Keys.resyncRequests(config.region)), "MAXLEN", "~", "10000", "*", RedisArgument(ResyncRequest.field), RedisArgument(request.encoded())])
        }
        if bootstrapping { status.setBootstrapping(true) }
        Counter(label: "pane_spoke_resync_requests_total", dimensions: labels + [("reason", reason.rawValue)]).increment()
        logger.warning(
            "gap detected: asked the hub for a resync",
            metadata: [
                "reason": "\(reason.rawValue)", "detail": "\(detail)", "buckets": "\(buckets.map { "\($0.count)" } ?? "all")",
                "watermark": "\(watermark)", "request": "\(requestID)",
            ])
    }

    /// Publishes the replica's digest when this worker's turn has come (one worker per interval).
    /// The digest reads every row, about a second per million: it runs on a thread of its own,
    /// with its own read transaction and Redis connection, so the worker keeps applying.
    func publishDigestIfDue(client: RedisClient) throws {
        guard !digestRunning.load(ordering: .acquiring) else { return }
        let now = WallClock.nowMs()
        guard try store.claimDigestTurn(nowMs: now, intervalMs: Int64(config.digestIntervalMs)) else { return }
        digestRunning.store(true, ordering: .releasing)
        let thread = Thread { [self] in
            nameCurrentThread("pane-digest")
            defer { digestRunning.store(false, ordering: .releasing) }
            let started = Date()
            do {
                let (digest, position) = try store.digest()
                let report = DigestReport(replica: config.replica.name, position: position, timeMs: WallClock.nowMs(), digest: digest.encoded)
                let conn = try RedisConnection(endpoint: config.redis)
                defer { conn.close() }
                _ = try conn.command(
                    ["HSET", RedisArgument(Keys.replicas(config.region)), RedisArgument("\(config.replica.name):digest"), RedisArgument(StatusJSON.encode(report))])
                logger.debug(
                    "published the replica's digest", metadata: ["position": "\(position)", "ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
            } catch {
                logger.warning("could not publish the replica's digest; the next interval tries again", metadata: ["error": "\(error)"])
            }
        }
        thread.start()
    }

    /// Applies a snapshot announced for this replica, from the first chunk not yet applied.
    /// Redis errors propagate (the announcement stays pending and is retried); a snapshot that
    /// is gone or unreadable is given up, and the gap detector asks again.
    func applySnapshot(_ announcement: SnapshotAnnouncement, entrySeq: UInt64, client: RedisClient) throws {
        let started = Date()
        let first = try store.snapshotChunksDone(epoch: announcement.epoch)
        if first > 0 {
            logger.notice("resuming a snapshot", metadata: ["epoch": "\(announcement.epoch)", "chunk": "\(first)", "chunks": "\(announcement.chunks)"])
        } else {
            logger.notice(
                "applying a snapshot",
                metadata: [
                    "epoch": "\(announcement.epoch)", "seq": "\(announcement.seq)", "rows": "\(announcement.rows)",
                    "chunks": "\(announcement.chunks)", "buckets": "\(announcement.buckets.map { "\($0.count)" } ?? "all")",
                    "reason": "\(announcement.reason)",
                ])
        }
        var failed = 0
        var lastLog = Date()
        // The next chunk is requested before the current one is applied, so Redis sends it
        // while SQLite writes.
        func request(_ index: Int) throws {
            var command = RedisCommandBuffer()
            command.append(["LINDEX", RedisArgument(announcement.key), RedisArgument(index)])
            try client.run { conn throws(RedisError) in try conn.send(command) }
        }
        let end = max(first, announcement.chunks)
        if first < end { try request(first) }
        for index in first..<end {
            let reply = try client.run { conn throws(RedisError) in try conn.receive(1, command: "LINDEX")[0] }
            if index + 1 < end { try request(index + 1) }
            let rows: [SnapshotRow]
            do {
                guard let bytes = reply.bytes else { throw SnapshotGone(detail: "chunk \(index) of \(announcement.key) is gone (expired?)") }
                rows = try SnapshotChunkCodec.decode(bytes)
            } catch {
                client.close()  // drops the next chunk's reply, if one was asked for
                logger.error("cannot apply the snapshot; will ask for a new one", metadata: ["epoch": "\(announcement.epoch)", "error": "\(error)"])
                Counter(label: "pane_spoke_snapshots_abandoned_total", dimensions: labels).increment()
                try store.abandonResync()
                try store.apply([], alsoDone: [entrySeq])
                return
            }
            do {
                failed += try store.applySnapshotChunk(rows, announcement: announcement, index: index, requestID: nil).count
            } catch {
                client.close()  // the next chunk's reply is unread; the retry starts on a new connection
                throw error
            }
            if let delay = Self.chunkDelayMs { Thread.sleep(forTimeInterval: Double(delay) / 1000) }
            if Date().timeIntervalSince(lastLog) >= 5 {
                lastLog = Date()
                logger.notice("snapshot progress", metadata: ["epoch": "\(announcement.epoch)", "chunk": "\(index + 1)", "chunks": "\(announcement.chunks)"])
            }
        }
        let finish = try store.finishSnapshot(announcement, entrySeq: entrySeq, rows: announcement.rows)
        status.setBootstrapping(false)
        Counter(label: "pane_spoke_snapshots_applied_total", dimensions: labels).increment()
        Counter(label: "pane_spoke_snapshot_rows_total", dimensions: labels).increment(by: announcement.rows)
        logger.notice(
            "snapshot applied",
            metadata: [
                "epoch": "\(announcement.epoch)", "rows": "\(announcement.rows)", "removed": "\(finish.removed)", "healed": "\(finish.healed)",
                "failedRows": "\(failed)", "watermark": "\(finish.watermark)", "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))",
            ])
        if announcement.buckets == nil { try skipGroupAhead(to: announcement.seq, client: client) }
    }

    /// After a full snapshot current to `seq`, entries at or below it need not be read: move the
    /// group's last delivered id up to it when the group lags behind.
    private func skipGroupAhead(to seq: UInt64, client: RedisClient) throws {
        let groups = try client.run { conn throws(RedisError) in try conn.xinfoGroups(key: key) }
        guard let info = groups.first(where: { $0["name"]?.string == group }),
            let delivered = info["last-delivered-id"]?.string.flatMap(Self.seqPart), delivered < seq
        else { return }
        _ = try client.run { conn throws(RedisError) in
            try conn.command(["XGROUP", "SETID", RedisArgument(key), RedisArgument(group), RedisArgument(StreamEntryCodec.entryID(seq: seq))])
        }
        logger.info("moved the group past the snapshot", metadata: ["from": "\(delivered)", "to": "\(seq)"])
    }

    /// Test hook (`PANE_FAULT_SNAPSHOT_CHUNK_DELAY_MS`): pause after each snapshot chunk, so a
    /// test can kill the worker in the middle of a resync.
    static let chunkDelayMs = ProcessInfo.processInfo.environment["PANE_FAULT_SNAPSHOT_CHUNK_DELAY_MS"].flatMap { Int($0) }

    /// The `ms` part of a stream id: the seq for ids the hub wrote.
    static func seqPart(_ id: String) -> UInt64? {
        id.split(separator: "-").first.flatMap { UInt64($0) }
    }
}

struct SnapshotGone: Error, CustomStringConvertible {
    let detail: String
    var description: String { detail }
}
