"""The customer portal: sign-in, one page per brand, channels, history, the customer's data."""
