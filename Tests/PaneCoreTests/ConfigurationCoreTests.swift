import PaneCore
import Testing

@Suite struct ConfigurationCoreTests {
    @Test func editDistanceCountsInsertionsDeletionsAndSubstitutions() {
        #expect(EditDistance.between("", "abc") == 3)
        #expect(EditDistance.between("abc", "") == 3)
        #expect(EditDistance.between("hub.regionz", "hub.regions") == 1)
        #expect(EditDistance.between("kitten", "sitting") == 3)
        #expect(EditDistance.between("same", "same") == 0)
    }

    @Test func theNearestKeyIsSuggested() {
        let keys = ["hub.regions", "hub.db", "hub.http", "spoke.region"]
        #expect(EditDistance.nearest(to: "hub.regionz", among: keys) == "hub.regions")
        #expect(EditDistance.nearest(to: "spoke.regoin", among: keys) == "spoke.region")
        #expect(EditDistance.nearest(to: "hub.dbb", among: keys) == "hub.db")
        #expect(EditDistance.nearest(to: "x", among: []) == nil)
    }

    @Test(arguments: [
        ("{}", nil),
        (" [1, -2.5e3, true, false, null, \"a\\u00e9\\n\"] ", nil),
        ("{\"a\": {\"b\": [1, {\"c\": \"d\"}]}}", nil),
        ("{not json", JSONSyntaxError(line: 1, column: 2, reason: "expected a key in quotes")),
        ("{\n  \"hub\": {\n    \"regions\": \"a\",,\n  }\n}", JSONSyntaxError(line: 3, column: 20, reason: "expected a key in quotes")),
        ("{\"a\": 1 \"b\": 2}", JSONSyntaxError(line: 1, column: 9, reason: "expected ',' or '}'")),
        ("{\"a\": tru}", JSONSyntaxError(line: 1, column: 10, reason: "expected true")),
        ("{\"a\": 01}", JSONSyntaxError(line: 1, column: 8, reason: "expected ',' or '}'")),
        ("{\"é\": x}", JSONSyntaxError(line: 1, column: 7, reason: "expected a value (an object, array, string, number, true, false or null)")),
        ("{\"a\": \"open", JSONSyntaxError(line: 1, column: 12, reason: "unexpected end of the file: the string is not closed")),
        ("{} {}", JSONSyntaxError(line: 1, column: 4, reason: "unexpected text after the end of the JSON value")),
        ("", JSONSyntaxError(line: 1, column: 1, reason: "unexpected end of the file: expected a value")),
    ] as [(String, JSONSyntaxError?)])
    func jsonSyntaxErrorsGiveLineAndColumn(text: String, expected: JSONSyntaxError?) {
        #expect(JSONSyntax.firstError(in: Array(text.utf8)) == expected)
    }

    @Test func passwordsInURLsAreMasked() {
        #expect(SecretMasking.url("redis://user:s3cret@10.0.0.5:6379/2") == "redis://user:****@10.0.0.5:6379/2")
        #expect(SecretMasking.url("redis://:s3cret@host") == "redis://:****@host")
        #expect(SecretMasking.url("redis://127.0.0.1:6379") == "redis://127.0.0.1:6379")
        #expect(SecretMasking.url("redis://user@host:6379") == "redis://user@host:6379")
        #expect(SecretMasking.url("not a url") == "not a url")
        #expect(!SecretMasking.url("redis://u:p@ss@host").contains("p@ss"))
    }
}
