"""Keyed hashes under the app's secret: CSRF tokens, and the stored stand-ins for IP addresses and phone
numbers in counters and logs (so neither is kept in clear)."""

from __future__ import annotations

import hashlib
import hmac


def keyed_mac(secret: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` for one ``purpose``: the same value hashes apart for different uses."""
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """A stable, non-reversible key for an IP or phone number in counters and logs."""
    return keyed_mac(secret, purpose, value)[:32]
