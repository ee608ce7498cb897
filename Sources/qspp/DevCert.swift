import ArgumentParser
import Crypto
import Foundation
import Kernel
import X509

/// A self-signed certificate for trying TLS locally. Never for production: nothing trusts it.
struct DevCert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-cert", abstract: "Write a self-signed localhost certificate and key (PEM) for local TLS.")

    @Option(help: "Directory to write cert.pem and key.pem into.") var output = "./data/tls"
    @Option(help: "Days the certificate is valid.") var days = 30

    func run() throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("localhost") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(Double(days) * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames([.dnsName("localhost")])
                try ExtendedKeyUsage([.serverAuth])
            },
            issuerPrivateKey: .init(key))
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let certificatePath = (output as NSString).appendingPathComponent("cert.pem")
        let keyPath = (output as NSString).appendingPathComponent("key.pem")
        do {
            try SecretFile.create(atPath: keyPath, contents: Data(key.pemRepresentation.utf8))
        } catch {
            throw ValidationError("TLS key \(error)")
        }
        try Data(certificate.serializeAsPEM().pemString.utf8).write(to: URL(fileURLWithPath: certificatePath))
        print("wrote \(certificatePath) and \(keyPath)")
        print("serve with: QSPP_TLS_CERT_FILE=\(certificatePath) QSPP_TLS_KEY_FILE=\(keyPath) qspp serve")
    }
}
