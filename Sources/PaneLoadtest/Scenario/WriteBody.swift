/// The JSON body of write `n` of writer `k`: `{"w":k,"n":n,"pad":"xx…yy"}`, `bodyBytes` long
/// (longer only when `bodyBytes` is below what the two numbers need). Pure.
///
/// Built into a buffer the writer keeps (a number's digits are a small string, not allocated).
/// The padding is `bodyBytes - 40` `x`s, then as many `y`s as reach `bodyBytes`.
struct WriteBody: Sendable {
    let bodyBytes: Int
    private let xs: [UInt8]

    init(bodyBytes: Int) {
        self.bodyBytes = bodyBytes
        xs = [UInt8](repeating: UInt8(ascii: "x"), count: max(0, bodyBytes - 40))
    }

    /// Replaces `out` with the body (its capacity is kept).
    func write(k: Int, n: Int, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: #"{"w":"#.utf8)
        out.append(contentsOf: String(k).utf8)
        out.append(contentsOf: #","n":"#.utf8)
        out.append(contentsOf: String(n).utf8)
        out.append(contentsOf: #","pad":""#.utf8)
        out.append(contentsOf: xs)
        let short = bodyBytes - (out.count + 2)
        if short > 0 { out.append(contentsOf: repeatElement(UInt8(ascii: "y"), count: short)) }
        out.append(contentsOf: #""}"#.utf8)
    }

    func bytes(k: Int, n: Int) -> [UInt8] {
        var out: [UInt8] = []
        write(k: k, n: n, into: &out)
        return out
    }
}
