import Foundation
import Testing

@testable import App

/// The QR encoder is ours, so an independent decoder (zbar, from Debian) must read what it draws.
@Suite("QR codes")
struct QRCodeTests {
    static let texts = [
        "otpauth://totp/QSPP:a@b.c?secret=JBSWY3DPEHPK3PXP&issuer=QSPP",
        "x",
        String(repeating: "0123456789", count: 4),
        "otpauth://totp/QSPP:" + String(repeating: "long.name", count: 8) + "@example.com?secret="
            + String(repeating: "ABCDEFGH", count: 4) + "&issuer=QSPP&algorithm=SHA1&digits=6&period=30",
        String(repeating: "é", count: 100),
    ]

    @Test("zbar decodes every version we draw back to the text", arguments: texts)
    func zbarReadsIt(text: String) throws {
        let code = try QRCode(encoding: text)
        #expect(try Self.zbar(code) == text, "version \(code.version)")
    }

    @Test("versions grow with the text, and a text beyond version 10 is refused")
    func versions() throws {
        #expect(try QRCode(encoding: "x").version == 1)
        #expect(try QRCode(encoding: String(repeating: "a", count: 213)).version == 10)
        #expect(throws: QRCode.TooLong.self) { try QRCode(encoding: String(repeating: "a", count: 214)) }
        let svg = try QRCode(encoding: "hello").svg(label: "QR code")
        #expect(svg.hasPrefix("<svg") && svg.contains("viewBox=\"0 0 29 29\"") && svg.contains("aria-label"))
    }

    /// Draws the code as a PBM image (4 pixels a module, quiet zone included) and runs zbarimg on it.
    static func zbar(_ code: QRCode) throws -> String {
        let scale = 4
        let border = 4
        let pixels = (code.size + 2 * border) * scale
        var image = "P1\n\(pixels) \(pixels)\n"
        for py in 0..<pixels {
            var row = ""
            for px in 0..<pixels {
                let x = px / scale - border
                let y = py / scale - border
                let dark = (0..<code.size).contains(x) && (0..<code.size).contains(y) && code.isDark(x: x, y: y)
                row += dark ? "1 " : "0 "
            }
            image += row + "\n"
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("qspp-qr-\(UUID()).pbm")
        try image.write(to: file, atomically: true, encoding: .ascii)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["zbarimg", "--quiet", "--raw", "-Sbinary", file.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
