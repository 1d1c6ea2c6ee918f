"""Use cases. Each takes a unit of work and plain values, and returns domain objects."""
