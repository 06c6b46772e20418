"""Numbers read from text that strangers send (query strings, headers, form fields).

``str.isdigit()`` is true for "²" and "٣", which ``int()`` then refuses or reads as 3: a check
followed by ``int()`` must use :func:`is_ascii_digits`.
"""

from __future__ import annotations


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty string of ASCII digits 0-9 only."""
    return text.isascii() and text.isdigit()
