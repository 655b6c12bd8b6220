// Placeholder replaced by the live runner.
public enum LiveRunnerPlaceholder {}
