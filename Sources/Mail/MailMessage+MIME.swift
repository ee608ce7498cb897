import Foundation

extension MailMessage {
    /// The message as RFC 5322 text with CRLF line endings: headers, then a MIME body whose parts are
    /// UTF-8 in base64, so every line is short, 7-bit and never begins with a dot.
    public func rendered(boundary: String = "=_qspp_" + UUID().uuidString.lowercased()) -> String {
        var lines = [
            "Date: " + MailHeader.date(date),
            "From: " + MailHeader.mailbox(from),
            "To: " + to.map(MailHeader.mailbox).joined(separator: ",\r\n "),
            "Subject: " + MailHeader.unstructured(subject, name: "Subject"),
            "Message-ID: " + messageID,
            // RFC 3834: automatic replies must not answer this.
            "Auto-Submitted: auto-generated",
            "MIME-Version: 1.0",
        ]
        if let html {
            lines.append("Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"")
            lines.append("")
            for (type, body) in [("text/plain", text), ("text/html", html)] {
                lines.append("--" + boundary)
                lines += Self.part(type: type, body: body)
            }
            lines.append("--" + boundary + "--")
        } else {
            lines += Self.part(type: "text/plain", body: text)
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    private static func part(type: String, body: String) -> [String] {
        let normalised = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        return [
            "Content-Type: \(type); charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
        ] + base64Lines(Data(normalised.utf8))
    }

    private static func base64Lines(_ data: Data) -> [String] {
        let encoded = data.base64EncodedString()
        var lines: [String] = []
        var start = encoded.startIndex
        while start < encoded.endIndex {
            let end = encoded.index(start, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[start..<end]))
            start = end
        }
        return lines
    }
}
