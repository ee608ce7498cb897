import Consent
public import Foundation
public import Hummingbird
public import NIOCore

/// Who is asking. Issue #3 adds subjects with sessions; routes already ask this type, not the token.
public enum Principal: Sendable, Equatable {
    /// The holder of the static admin token: may act on any subject.
    case admin

    /// Idempotency keys of different principals never collide.
    var idempotencyScope: String {
        switch self {
        case .admin: "admin"
        }
    }
}

public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID = ""
    public var principal: Principal?
    public let remoteAddress: SocketAddress?

    /// Large enough for a full batch of decisions, small enough that a flood of bodies cannot exhaust memory.
    public static let maximumBodySize = 64 * 1024
    public var maxUploadSize: Int { Self.maximumBodySize }

    public var responseEncoder: JSONEncoder { Self.encoder }

    /// One shared encoder: configuring a new one for every response shows up in profiles.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Fails unless the caller may read and write this subject's data.
    func requireAccess(to subject: SubjectID) throws(Problem) -> Principal {
        guard let principal else { throw Problem.unauthenticated }
        switch principal {
        case .admin: return principal
        }
    }

    /// Fails unless the caller is an administrator.
    func requireAdmin() throws(Problem) -> Principal {
        guard let principal else { throw Problem.unauthenticated }
        guard principal == .admin else { throw Problem.forbidden }
        return principal
    }
}
