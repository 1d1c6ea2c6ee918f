"""The item-store drivers: one per storage (see chalicelib/storage/items.py for the port)."""
