import NIOCore
import Outbox

extension NetworkScope {
    static func isPublic(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            var raw = v4.address.sin_addr.s_addr
            return isPublic(v4: withUnsafeBytes(of: &raw) { Array($0) })
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            return isPublic(v6: withUnsafeBytes(of: &raw) { Array($0) })
        default: return false
        }
    }
}
