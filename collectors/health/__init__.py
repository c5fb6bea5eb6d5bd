"""System-health monitoring: targets from configuration, probe rounds, incidents, demo endpoints."""
