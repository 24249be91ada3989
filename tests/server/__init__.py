"""Tests against a real server process (uvicorn) on a database of each module's own."""
