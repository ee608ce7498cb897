import Testing

@testable import Services

/// Export cells as a spreadsheet will read them: RFC 4180 quoting, and no text that others typed ever
/// runs as a formula.
@Suite("CSV fields")
struct CSVFieldTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("two\nlines", "\"two\nlines\""),
        ("=HYPERLINK(\"http://evil.example\",\"x\")", "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""),
        ("=1+2", "'=1+2"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tformula", "'\tformula"),
        ("\r=1", "\"'\r=1\""),
        ("-12", "-12"),
        ("-0.5", "-0.5"),
        ("+3e-4", "+3e-4"),
        ("-", "'-"),
        ("-.", "'-."),
        ("-1.2.3", "'-1.2.3"),
        ("-1e", "'-1e"),
        ("a=b", "a=b"),
        ("", ""),
    ])
    func cellsAreQuotedAndFormulasDefused(input: String, expected: String) {
        #expect(ExportFile.csvField(input) == expected)
    }
}
