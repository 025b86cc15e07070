"""Demo feedback for `seed_demo` (filled in by the feedback-collection work)."""
