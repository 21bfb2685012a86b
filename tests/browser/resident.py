"""What a resident types into the submission form, shared by the browser tests."""

from __future__ import annotations

from typing import Any


def fill_essay(
    page: Any, *, headline: str, phone: str, body: str, direction: str, name: str, consent_print: bool = False
) -> None:
    """Fill the form's required fields (and the print consent when asked) as a person would."""
    page.fill("#headline", headline)
    page.fill("#body", body)
    page.select_option("#direction", direction)
    page.select_option("#author_role", "resident")
    page.fill("#author_name", name)
    page.fill("#phone", phone)
    page.check("#consent_publish")
    if consent_print:
        page.check("#consent_print")
    page.check("#consent_privacy")
