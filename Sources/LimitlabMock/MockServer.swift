// Placeholder replaced by the mock-server implementation.
public enum MockServerPlaceholder {}
