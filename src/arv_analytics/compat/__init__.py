"""Routes kept for the original ARV platform's deployed viewers, apps and admin pages.

They reuse the write path (ingest) and the analytics service; nothing here has rules of its own
beyond translating the original's payloads and answers. See docs/api.md, "Moving from the
original platform".
"""
