public import Privacy

/// How long each class of personal data is kept before ``Retention`` purges it.
public struct RetentionSettings: Sendable {
    public var days: [RetentionClass: Int] = [.sessions: 90, .authEvents: 365, .closedRequests: 1095]

    public init() {}

    public init(reader: SettingsReader) throws(InvalidSetting) {
        let retention = reader.scoped(to: "qspp.retention")
        let keys: [(RetentionClass, String)] = [
            (.sessions, "sessions.days"), (.authEvents, "auth.events.days"), (.closedRequests, "closed.requests.days"),
        ]
        for (retained, key) in keys {
            days[retained] = try retention.integer(key, atLeast: 1, default: days[retained] ?? 1)
        }
    }
}
