/// Text placed in HTML: everything that comes from Redis, a config file or a request is escaped
/// before it reaches a page (the hub's `/status`).
public enum HTMLText {
    /// Escapes `&`, `<`, `>`, `"` and `'`, so the text is safe in element content and in quoted
    /// attribute values. Control characters other than tab and newline become U+FFFD.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { out += "\u{FFFD}" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
