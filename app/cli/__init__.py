"""The `cmr` command line."""
