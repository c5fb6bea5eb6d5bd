"""Exports for analysts: Biểu 06 XLSX, on-time statistics CSV/XLSX, background jobs and download routes."""
