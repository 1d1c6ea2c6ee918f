"""Entities, the application pipeline, domain events and errors. No I/O here."""
