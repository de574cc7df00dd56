import Foundation
import PaneCore
import Testing

@Suite struct PercentDecodingTests {
    /// The same answers as Foundation's `removingPercentEncoding`, which the id route used before.
    @Test(arguments: [
        "plain", "a%2Fb", "tenant%2Facme%2Fsettings", "%41%42", "p%2541", "%e2%82%ac", "%", "%2", "%zz", "a%2", "%C3%28", "%00x", "",
        "%2f%2F", "100%", "%%41",
    ])
    func matchesFoundation(text: String) {
        #expect(PercentDecoding.decode(text) == text.removingPercentEncoding, "\(text)")
    }

    @Test func decodesOnce() {
        #expect(PercentDecoding.decode("p%2541") == "p%41")
        #expect(PercentDecoding.decode("%e2%82%ac") == "€")
        #expect(PercentDecoding.decode("%zz") == nil)
        #expect(PercentDecoding.decode("%C3%28") == nil, "not UTF-8")
    }
}
