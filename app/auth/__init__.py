"""Authentication and authorisation: API clients, tokens, the OAuth2 server, dependencies."""
