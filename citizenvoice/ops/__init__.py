"""Operators' work: backup, restore, check, purge, demo data, reports."""
