import PaneCore
import Testing

@Suite struct ContextDigestFormatTests {
    func digest(body: String?, deleted: Bool = false, version: Int64 = 3) -> ContextDigest {
        var digest = ContextDigest()
        digest.add(id: "a", version: version, deleted: deleted, bodyHash: body.map { ContextDigest.bodyHash(Array($0.utf8)) })
        return digest
    }

    /// Format 2 sees another body under the same version; format 1 does not.
    @Test func formatTwoCoversTheBody() {
        #expect(digest(body: "{\"x\":1}") != digest(body: "{\"x\":2}"))
        #expect(digest(body: "{\"x\":1}") == digest(body: "{\"x\":1}"))
        #expect(digest(body: nil) == digest(body: nil))
        #expect(digest(body: nil) != digest(body: "{\"x\":1}"), "the formats are not interchangeable")
        #expect(digest(body: "{\"x\":1}", version: 4) != digest(body: "{\"x\":1}"))
        #expect(ContextDigest.currentFormat == 2 && ContextDigest.formats.contains(1))
    }

    /// A tombstone's body does not count: both sides hash it as 0.
    @Test func tombstonesIgnoreTheBody() {
        #expect(digest(body: "{\"x\":1}", deleted: true) == digest(body: "", deleted: true))
    }

    /// A report without `format` (a spoke from before the body hash) is format 1.
    @Test func reportsWithoutAFormatAreFormatOne() throws {
        let old = #"{"digest":"","position":4,"replica":"a","timeMs":5}"#
        let report = try #require(StatusJSON.decode(DigestReport.self, old))
        #expect(report.digestFormat == 1 && report.maxVersion == nil)
        let new = DigestReport(replica: "a", position: 4, timeMs: 5, digest: "", format: 2, maxVersion: 9)
        #expect(StatusJSON.decode(DigestReport.self, StatusJSON.encode(new)) == new)
    }
}
