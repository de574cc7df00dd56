/// How fast the driver writes: a fixed rate, or as fast as the hub answers.
public enum WriteRate: Sendable, Equatable {
    case perSecond(Double)
    case max

    /// The rate for the report: a number, or `"max"`.
    public var description: String {
        switch self {
        case .perSecond(let rate): return rate == rate.rounded() ? String(Int(rate)) : String(rate)
        case .max: return "max"
        }
    }
}
