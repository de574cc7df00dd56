import Foundation
import GRDB
@testable import PaneStore
import PaneTestKit
import Testing

/// The write paths' transaction (`Database.immediateTransaction`): committed when the body
/// returns, rolled back when it or the commit throws, and the connection usable after either.
@Suite struct CachedTransactionTests {
    struct Refused: Error {}

    @Test func aBodyThatReturnsCommitsAndOneThatThrowsLeavesNothing() throws {
        let dir = try TestEnv.directory("cached-transaction")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pool = try DatabasePool(path: "\(dir)/t.sqlite")
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "CREATE TABLE t(n INTEGER PRIMARY KEY)")
            let answer = try db.immediateTransaction { () throws -> Int in
                #expect(db.isInsideTransaction)
                try db.execute(sql: "INSERT INTO t(n) VALUES (1)")
                return 42
            }
            #expect(answer == 42 && !db.isInsideTransaction)
            #expect(throws: Refused.self) {
                try db.immediateTransaction {
                    try db.execute(sql: "INSERT INTO t(n) VALUES (2)")
                    throw Refused()
                }
            }
            #expect(!db.isInsideTransaction)
            // A failing statement inside: rolled back as a whole, the error is SQLite's.
            #expect(throws: DatabaseError.self) {
                try db.immediateTransaction {
                    try db.execute(sql: "INSERT INTO t(n) VALUES (3)")
                    try db.execute(sql: "INSERT INTO t(n) VALUES (1)")
                }
            }
            #expect(!db.isInsideTransaction)
            try db.immediateTransaction { try db.execute(sql: "INSERT INTO t(n) VALUES (4)") }
        }
        // What another connection sees: the committed rows only.
        #expect(try pool.read { db in try Int.fetchAll(db, sql: "SELECT n FROM t ORDER BY n") } == [1, 4])
    }
}
