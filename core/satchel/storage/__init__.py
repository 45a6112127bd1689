"""The storage contract and backend selection."""
