"""Printers: turn view models into tables, JSON, YAML and coloured text.

Only this package decides colour and layout; commands hand it data.
"""
