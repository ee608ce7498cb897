public import Logging
public import Services

/// How much the process logs, and whether it exports traces.
public struct ObservabilitySettings: Sendable {
    public var logLevel = Logger.Level.info
    /// OpenTelemetry spans by OTLP/HTTP (``TracingSetup``); off by default.
    public var tracing = false

    public init() {}

    public init(reader: SettingsReader) throws(InvalidSetting) {
        let qspp = reader.scoped(to: "qspp")
        logLevel = try qspp.oneOf("log.level", default: logLevel)
        tracing = try qspp.oneOf("tracing", [("off", false), ("otlp", true)], default: tracing)
    }
}
