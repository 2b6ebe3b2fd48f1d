"""Online learners. Each keeps compact, pickle-safe state and reports its own health."""
