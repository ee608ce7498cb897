/// Training points ordered by their distance to one query, nearest first, reusing its buffers from
/// query to query. A stable LSD radix sort on the distances' bit patterns: the IEEE 754 bits of a
/// non-negative double order like the number, and stability keeps equal distances in index order,
/// exactly what sorting by (distance, index) gives, in a few linear passes instead of N log N
/// comparisons.
struct DistanceOrder {
    private static let digitBits = 11
    private static let radix = 1 << digitBits
    private static let passes = (64 + digitBits - 1) / digitBits

    let count: Int
    /// Distance bit patterns, then (after `sort`) in order.
    private(set) var keys: [UInt64]
    /// Training indices, in the same order as `keys`.
    private(set) var indices: [Int32]
    private var spareKeys: [UInt64]
    private var spareIndices: [Int32]
    private var histograms: [Int]

    init(count: Int) {
        self.count = count
        keys = Array(repeating: 0, count: count)
        indices = Array(repeating: 0, count: count)
        spareKeys = keys
        spareIndices = indices
        histograms = Array(repeating: 0, count: Self.passes * Self.radix)
    }

    /// Sets point `index`'s squared distance; call for every index, then `sort`.
    @inline(__always)
    mutating func set(_ index: Int, distance: Double) {
        keys[index] = distance.bitPattern
        indices[index] = Int32(index)
    }

    mutating func sort() {
        let n = count
        let mask = UInt64(Self.radix - 1)
        histograms.withUnsafeMutableBufferPointer { counts in
            for i in counts.indices { counts[i] = 0 }
            keys.withUnsafeBufferPointer { keys in
                for key in keys {
                    for pass in 0..<Self.passes {
                        counts[pass * Self.radix + Int((key >> UInt64(pass * Self.digitBits)) & mask)] += 1
                    }
                }
            }
        }
        for pass in 0..<Self.passes {
            let shift = UInt64(pass * Self.digitBits)
            let base = pass * Self.radix
            // A digit every key shares orders nothing: skip the pass.
            if n == 0 || histograms[base + Int((keys[0] >> shift) & mask)] == n { continue }
            var offset = 0
            for digit in 0..<Self.radix {
                let bucket = histograms[base + digit]
                histograms[base + digit] = offset
                offset += bucket
            }
            histograms.withUnsafeMutableBufferPointer { counts in
                keys.withUnsafeBufferPointer { keys in
                    indices.withUnsafeBufferPointer { indices in
                        spareKeys.withUnsafeMutableBufferPointer { outKeys in
                            spareIndices.withUnsafeMutableBufferPointer { outIndices in
                                for i in 0..<n {
                                    let key = keys[i]
                                    let slot = base + Int((key >> shift) & mask)
                                    let target = counts[slot]
                                    counts[slot] = target + 1
                                    outKeys[target] = key
                                    outIndices[target] = indices[i]
                                }
                            }
                        }
                    }
                }
            }
            swap(&keys, &spareKeys)
            swap(&indices, &spareIndices)
        }
    }
}
