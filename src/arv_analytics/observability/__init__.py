"""Operating the service: metrics, health and readiness, request ids and log lines."""
