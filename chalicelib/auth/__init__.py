"""Password hashing, JWT issue and verification."""
