"""Character-level diffs for Chinese text (no word boundaries), rendered as escaped <ins>/<del>."""

from __future__ import annotations

import difflib
import re
import unicodedata

from markupsafe import Markup, escape


def diff_html(old: str, new: str) -> Markup:
    """``new`` with insertions in <ins> and deletions from ``old`` in <del>; all text escaped."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    parts: list[Markup] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape(new[b1:b2]))
            continue
        if a2 > a1:
            parts.append(Markup("<del>{}</del>").format(_marked_breaks(old[a1:a2], keep=False)))
        if b2 > b1:
            parts.append(Markup("<ins>{}</ins>").format(_marked_breaks(new[b1:b2], keep=True)))
    return Markup("").join(parts)


PARAGRAPH_MARK = Markup('<span class="para-mark" title="段落分隔">¶</span>')


def _marked_breaks(text: str, *, keep: bool) -> Markup:
    """A deleted or added line break made visible as ¶ (a merged or split paragraph is otherwise
    invisible in a diff); an added break still breaks the line, a deleted one does not."""
    parts: list[Markup] = []
    for index, piece in enumerate(re.split(r"(\n+)", text)):
        if index % 2:  # a run of line breaks: one paragraph break
            parts.append(PARAGRAPH_MARK + (Markup(piece) if keep else Markup("")))
        else:
            parts.append(escape(piece))
    return Markup("").join(parts)


def _letters(text: str) -> str:
    """The text without punctuation, symbols and whitespace: what remains when typos aside."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def changed_characters(old: str, new: str) -> int:
    """How many letters/digits were inserted, deleted or replaced, punctuation and spacing ignored."""
    a, b = _letters(old), _letters(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(max(a2 - a1, b2 - b1) for op, a1, a2, b1, b2 in matcher.get_opcodes() if op != "equal")


# A typo fix touches a character or two; more than this is a cut or a rewrite the author should see.
TYPO_ALLOWANCE = 4


def is_substantive_change(old: str, new: str) -> bool:
    return changed_characters(old, new) > TYPO_ALLOWANCE
