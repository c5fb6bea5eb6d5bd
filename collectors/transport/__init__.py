"""Transports shared by source adapters: HTTP with bounded retries, file reading, SQL."""
