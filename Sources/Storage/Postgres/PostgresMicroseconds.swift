import PostgresNIO

/// A `timestamptz` as microseconds since 1970, read from the wire's own count of microseconds since
/// 2000: exact, where `Date` goes through a `Double`, and cheaper than asking PostgreSQL for the epoch
/// as a `numeric`.
struct PostgresMicroseconds: PostgresDecodable, Sendable {
    /// 2000-01-01 in microseconds since 1970.
    static let postgresEpoch: Int64 = 946_684_800_000_000
    let value: Int64

    init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard type == .timestamptz || type == .timestamp else { throw PostgresDecodingError.Code.typeMismatch }
        // PostgreSQL writes -infinity and infinity as the extreme values: no instant to count from.
        guard format == .binary, buffer.readableBytes == 8, let microseconds = buffer.readInteger(as: Int64.self),
            microseconds != .min, microseconds != .max
        else { throw PostgresDecodingError.Code.failure }
        let (value, overflow) = microseconds.addingReportingOverflow(Self.postgresEpoch)
        guard !overflow else { throw PostgresDecodingError.Code.failure }
        self.value = value
    }
}
