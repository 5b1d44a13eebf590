"""Demo data: a believable catalog and sessions, so a fresh install has something to show."""
