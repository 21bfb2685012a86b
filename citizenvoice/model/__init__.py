"""The nouns every layer shares: essay states and transitions, directions, staff users."""
