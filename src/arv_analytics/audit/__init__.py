"""Audit log: who did which management action, and when."""
