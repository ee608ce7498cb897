extension String {
    /// Whether the text holds U+0000. PostgreSQL's text type cannot store it, so free text is refused
    /// with it on every backend alike, as bad input rather than a failed write.
    public var containsNUL: Bool { utf8.contains(0) }
}
