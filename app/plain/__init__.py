"""A customer's settings and their history in plain words, for the portal and the console."""
