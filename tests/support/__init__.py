"""Test helpers shared across apps: fakes, scripted servers and their fixtures."""
