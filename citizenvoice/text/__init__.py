"""Chinese text helpers: normalisation, diffs, character counting, numbers."""
