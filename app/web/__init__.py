"""Pages: the one Jinja2 environment and security headers."""
