"""The internal HTTP API (/api/v1), one router per resource."""
