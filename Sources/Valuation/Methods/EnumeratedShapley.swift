/// Shapley values by their definition, enumerating every subset: exponential, so only for a handful
/// of points. It is the yardstick the sampling methods are tested against.
public enum EnumeratedShapley {
    public static let maximumPoints = 16

    public static func values(utility: KNNUtility) throws(ValuationError) -> [Double] {
        let n = utility.trainingCount
        guard n <= maximumPoints else { throw .invalid("enumeration is limited to \(maximumPoints) points") }
        var utilities = [Double](repeating: 0, count: 1 << n)
        for mask in 0..<(1 << n) {
            utilities[mask] = utility.accuracy(of: (0..<n).filter { mask & (1 << $0) != 0 })
        }
        // weight(|S|) = |S|! (n − |S| − 1)! / n!
        var factorial = [Double](repeating: 1, count: n + 1)
        for i in 1...max(n, 1) { factorial[i] = factorial[i - 1] * Double(i) }
        var values = [Double](repeating: 0, count: n)
        for point in 0..<n {
            for mask in 0..<(1 << n) where mask & (1 << point) == 0 {
                let size = mask.nonzeroBitCount
                let weight = factorial[size] * factorial[n - size - 1] / factorial[n]
                values[point] += weight * (utilities[mask | (1 << point)] - utilities[mask])
            }
        }
        return values
    }
}
