"""Decision policies: pure functions from estimates and state to decisions."""
