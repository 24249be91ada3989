"""cmr: customer-managed relationships."""
