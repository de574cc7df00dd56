/// Typed, range-checked reads from a parsed JSON object; errors name the field's path.
struct JSONFields {
    let object: [String: JSONValue]
    let path: String

    func string(_ key: String) throws(ScenarioError) -> String? {
        guard let value = object[key] else { return nil }
        guard case .string(let text) = value else { throw ScenarioError(field: path + key, reason: "a string, got \(value.summary)") }
        return text
    }

    func bool(_ key: String) throws(ScenarioError) -> Bool? {
        guard let value = object[key] else { return nil }
        guard case .bool(let flag) = value else { throw ScenarioError(field: path + key, reason: "true or false, got \(value.summary)") }
        return flag
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ScenarioError) -> Int? {
        guard let value = object[key] else { return nil }
        guard case .number(let number) = value, number == number.rounded(), abs(number) < 9e18 else {
            throw ScenarioError(field: path + key, reason: "a whole number in \(range.lowerBound)-\(range.upperBound), got \(value.summary)")
        }
        let int = Int(number)
        guard range.contains(int) else {
            throw ScenarioError(field: path + key, reason: "must be \(range.lowerBound)-\(range.upperBound), got \(int)")
        }
        return int
    }

    func double(_ key: String, in range: ClosedRange<Double>) throws(ScenarioError) -> Double? {
        guard let value = object[key] else { return nil }
        guard case .number(let number) = value else {
            throw ScenarioError(field: path + key, reason: "a number in \(range.lowerBound)-\(range.upperBound), got \(value.summary)")
        }
        guard range.contains(number) else {
            throw ScenarioError(field: path + key, reason: "must be \(range.lowerBound)-\(range.upperBound), got \(value.summary)")
        }
        return number
    }
}
