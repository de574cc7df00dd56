import PaneCore
import Testing

/// Issue 10, item 1: the tokens file, the role rules and the secure-by-default address rule,
/// without a process.
@Suite struct TokenFileTests {
    static let readToken = "read-token-0123456789"
    static let writeToken = "write-token-0123456789"
    static let adminToken = "admin-token-0123456789"
    static let metricsToken = "metrics-token-0123456789"

    @Test func parsesRolesTokensCommentsAndBlankLines() throws {
        let text = """
            # the readers
            read \(Self.readToken)

              read\tread-token-second-abcdef
            write   \(Self.writeToken)   
            admin \(Self.adminToken)\r
            \t# indented comment
            metrics \(Self.metricsToken)
            """
        let tokens = try TokenFile.parse(text)
        #expect(tokens.counts == [.read: 2, .write: 1, .admin: 1, .metrics: 1])
        #expect(tokens.role(of: Self.readToken.utf8) == .read)
        #expect(tokens.role(of: "read-token-second-abcdef".utf8) == .read)
        #expect(tokens.role(of: Self.writeToken.utf8) == .write)
        #expect(tokens.role(of: Self.adminToken.utf8) == .admin)
        #expect(tokens.role(of: Self.metricsToken.utf8) == .metrics)
        #expect(tokens.role(of: "read-token-012345678".utf8) == nil, "a prefix of a token is not the token")
        #expect(tokens.role(of: "read-token-01234567890".utf8) == nil, "a token with a byte more is not the token")
        #expect(tokens.role(of: "".utf8) == nil)
        #expect(tokens.summary == "read=2 write=1 admin=1 metrics=1")
    }

    @Test func anEmptyFileHasNoTokens() throws {
        #expect(try TokenFile.parse("").isEmpty)
        #expect(try TokenFile.parse("# nothing yet\n\n").isEmpty)
    }

    @Test(arguments: [
        ("read \(readToken)\nreader \(writeToken)\n", TokenFileError(line: 2, .unknownRole)),
        ("READ \(readToken)\n", TokenFileError(line: 1, .unknownRole)),
        ("# c\n\nread\n", TokenFileError(line: 3, .malformed(fields: 1))),
        ("read \(readToken) extra\n", TokenFileError(line: 1, .malformed(fields: 3))),
        ("read \(readToken) # comment\n", TokenFileError(line: 1, .malformed(fields: 4))),
        ("write short\n", TokenFileError(line: 1, .tooShort)),
        ("write tok\"en-0123456789abc\n", TokenFileError(line: 1, .badCharacters)),
        ("write token=0123456789abcdef\n", TokenFileError(line: 1, .badCharacters)),
        ("read \(readToken)\n\nwrite \(readToken)\n", TokenFileError(line: 3, .duplicate(of: 1))),
    ])
    func aBadLineIsNamed(text: String, error: TokenFileError) {
        #expect(throws: error) { try TokenFile.parse(text) }
    }

    @Test func errorsNameTheLineButNeverItsText() {
        let secret = "secret-token-that-must-not-leak"
        for text in ["\(secret) read", "read \(secret) x", "admin \(secret)\nadmin \(secret)", "r \(secret)"] {
            do {
                _ = try TokenFile.parse(text)
                Issue.record("'\(text)' parsed")
            } catch {
                #expect(error.description.hasPrefix("line "), "\(error)")
                #expect(!error.description.contains(secret), "\(error)")
                #expect(!error.description.contains("secret"), "\(error)")
            }
        }
    }

    @Test func paddingAndTheB64TokenCharactersAreAccepted() throws {
        let tokens = try TokenFile.parse("read abcXYZ019-._~+/abc==\n")
        #expect(tokens.role(of: "abcXYZ019-._~+/abc==".utf8) == .read)
        #expect(!TokenFile.isToken("=abc"))
        #expect(!TokenFile.isToken("ab=c"))
        #expect(!TokenFile.isToken(""))
        #expect(!TokenFile.isToken("a b"))
    }

    @Test func aClientTokenFileHoldsOneToken() throws {
        #expect(try TokenFile.single("# admin token\n\n  \(Self.adminToken)  \n") == Self.adminToken)
        #expect(try TokenFile.single("\(Self.adminToken)\r\n") == Self.adminToken)
        #expect(throws: TokenFileError(line: 2, .empty)) { try TokenFile.single("# only a comment\n") }
        #expect(throws: TokenFileError(line: 1, .malformed(fields: 2))) { try TokenFile.single("admin \(Self.adminToken)\n") }
    }
}

@Suite struct AccessRuleTests {
    @Test(arguments: [
        ("GET", "/healthz", nil), ("GET", "/readyz", nil), ("POST", "/healthz", nil),
        ("GET", "/metrics", Access.metrics), ("GET", "/v1/contexts/a%2Fb", .read), ("HEAD", "/v1/contexts/a", .read),
        ("GET", "/v1/contexts", .read), ("GET", "/v1/watch", .read), ("GET", "/no/such/route", .read),
        ("PUT", "/v1/contexts/a", .write), ("DELETE", "/v1/contexts/a", .write), ("PATCH", "/v1/contexts/a", .write),
        ("POST", "/v1/regions/eu/republish", .admin), ("POST", "/v1/regions/eu/resync", .admin), ("OPTIONS", "/v1/contexts/a", .admin),
        ("get", "/v1/contexts/a", .read), ("GET", "/healthz/", .read),
    ] as [(String, String, Access?)])
    func eachRouteNeedsItsAccess(method: String, path: String, access: Access?) {
        #expect(Access.required(method: method, path: path) == access)
    }

    @Test func eachRoleAllowsItsAccessOnly() {
        #expect(Role.read.allows(.read))
        #expect(!Role.read.allows(.write) && !Role.read.allows(.admin) && !Role.read.allows(.metrics))
        #expect(Role.write.allows(.write))
        #expect(!Role.write.allows(.read) && !Role.write.allows(.admin) && !Role.write.allows(.metrics))
        #expect(Role.admin.allows(.write) && Role.admin.allows(.admin))
        #expect(!Role.admin.allows(.read) && !Role.admin.allows(.metrics))
        #expect(Role.metrics.allows(.metrics))
        #expect(!Role.metrics.allows(.read) && !Role.metrics.allows(.write) && !Role.metrics.allows(.admin))
        #expect(Role.allowing(.write) == [.write, .admin])
    }

    @Test func decisionsFollowTheHeader() throws {
        let tokens = try TokenFile.parse("read \(TokenFileTests.readToken)\nadmin \(TokenFileTests.adminToken)\n")
        #expect(tokens.decide(.read, authorization: nil) == .unauthorized(.missing))
        #expect(tokens.decide(.read, authorization: "Basic dXNlcjpwYXNz") == .unauthorized(.notBearer))
        #expect(tokens.decide(.read, authorization: "Bearer") == .unauthorized(.notBearer))
        #expect(tokens.decide(.read, authorization: "Bearer a b") == .unauthorized(.notBearer))
        #expect(tokens.decide(.read, authorization: "Bearer unknown-token-0123456789") == .unauthorized(.unknown))
        #expect(tokens.decide(.read, authorization: "Bearer \(TokenFileTests.readToken)") == .allowed(.read))
        #expect(tokens.decide(.read, authorization: "bearer  \(TokenFileTests.readToken)") == .allowed(.read))
        #expect(BearerToken.parse("  BEARER   abc==  ") == "abc==")
        #expect(BearerToken.parse("Bearerabc") == nil)
        #expect(BearerToken.parse("Bearer ") == nil)
        #expect(BearerToken.parse("Bearer abc=d") == nil)
        #expect(BearerToken.parse("Bäarer abc") == nil)
        #expect(Access.required(method: "get", path: "/v1/contexts/a") == .read)
        #expect(Access.required(method: "BREW", path: "/v1/contexts/a") == .admin)
        #expect(tokens.decide(.write, authorization: "Bearer \(TokenFileTests.readToken)") == .forbidden(role: .read, needs: .write))
        #expect(tokens.decide(.write, authorization: "Bearer \(TokenFileTests.adminToken)") == .allowed(.admin))
        #expect(tokens.decide(.admin, authorization: "Bearer \(TokenFileTests.adminToken)") == .allowed(.admin))
        #expect(tokens.decide(.metrics, authorization: "Bearer \(TokenFileTests.adminToken)") == .forbidden(role: .admin, needs: .metrics))
        #expect(TokenSet().decide(.read, authorization: "Bearer \(TokenFileTests.readToken)") == .unauthorized(.unknown))
    }

    @Test(arguments: [
        ("127.0.0.1", true), ("127.1.2.3", true), ("localhost", true), ("LOCALHOST", true), ("::1", true), ("[::1]", true),
        ("0.0.0.0", false), ("::", false), ("10.0.0.5", false), ("192.168.1.1", false), ("example.com", false), ("127.0.0", false),
        ("127.0.0.1.example.com", false), ("1270.0.0.1", false), ("", false),
    ])
    func loopbackAddresses(host: String, loopback: Bool) {
        #expect(ListenAddress.isLoopback(host) == loopback)
    }
}
