"""The domain: catalog, preferences document, decisions, reservations, suppressions."""
