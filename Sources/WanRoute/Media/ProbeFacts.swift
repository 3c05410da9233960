extension VideoProbe {
    /// What the providers' input checks need from this probe; `url` when the provider fetches it remotely.
    public func facts(url: String? = nil) -> MediaFacts {
        MediaFacts(format: container.rawValue, width: Int64(width), height: Int64(height), sizeBytes: sizeBytes, url: url)
    }
}

extension ImageProbe {
    /// What the providers' input checks need from this probe; `url` when the provider fetches it remotely.
    public func facts(url: String? = nil) -> MediaFacts {
        MediaFacts(format: format.rawValue, width: Int64(width), height: Int64(height), sizeBytes: sizeBytes, url: url)
    }
}

extension MediaProbe {
    /// Whether a location names a remote http(s) file (the form providers fetch) rather than a local path.
    public static func isRemote(_ location: String) -> Bool {
        let lower = location.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }
}
