"""Thin request handlers, one module per audience: parse the request, call domain code, render."""
