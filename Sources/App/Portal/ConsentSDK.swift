import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PQCrypto

/// The website consent SDK, bundled with the binary and served to other sites' pages: under a
/// content-hashed URL that may be cached for a year, and under the stable path of its major version,
/// briefly cached, for pages that take updates as they come.
struct ConsentSDK: Sendable {
    let script: ByteBuffer
    /// The first bytes of its SHA-256, in hex: part of the hashed URL.
    let version: String
    /// Subresource Integrity for a `<script integrity=…>` pinned to the hashed URL.
    let integrity: String

    static let stablePath = "/sdk/v1/qspp-consent.js"
    var hashedPath: String { "/sdk/qspp-consent.\(version).js" }

    static let bundled: ConsentSDK = {
        guard let portal = Bundle.module.url(forResource: "Portal", withExtension: nil),
            let data = try? Data(contentsOf: portal.appendingPathComponent("sdk/qspp-consent.js"))
        else {
            // It ships inside the binary's bundle; a missing one is a build defect the tests catch.
            preconditionFailure("the consent SDK is missing from the bundle")
        }
        return ConsentSDK(data)
    }()

    init(_ data: Data) {
        script = ByteBuffer(bytes: data)
        version = Hex.encode(SHA256.hash(data: data).prefix(8))
        integrity = "sha384-" + Data(SHA384.hash(data: data)).base64EncodedString()
    }

    /// The script, if `path` names it: any page may load it, from any origin, with or without CORS.
    func response(for path: String, ifNoneMatch: String?) -> Response? {
        let caching: String
        switch path {
        case hashedPath: caching = "public, max-age=31536000, immutable"
        case Self.stablePath: caching = "public, max-age=300"
        default: return nil
        }
        let etag = "\"\(version)\""
        return Response(
            status: ifNoneMatch == etag ? .notModified : .ok,
            headers: [
                .contentType: "text/javascript; charset=utf-8", .cacheControl: caching,
                .accessControlAllowOrigin: "*", .crossOriginResourcePolicy: "cross-origin",
                .eTag: etag,
            ],
            body: ifNoneMatch == etag ? .init() : .init(byteBuffer: script))
    }
}
