"""Helpers the tests share (imported as `helpers.<module>`); fixtures live in conftest.py."""
