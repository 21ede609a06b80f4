"""Pure commitments domain: business calendar, frozen terms with a content hash, the state machine."""
