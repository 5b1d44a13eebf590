"""Closed sets of values that several layers share (models, ingest schemas, the engine)."""

from __future__ import annotations

TRACKING_QUALITIES = ("none", "poor", "fair", "good")
CAMERA_OUTCOMES = ("granted", "denied", "dismissed", "unsupported", "error")
