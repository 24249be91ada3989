"""The admin console: audit trail, customers, catalog, API clients, accounts, dashboard."""
