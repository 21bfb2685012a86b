"""Normalisation applied to every submitted text field before it is validated or stored.

Decisions (each one a trade-off the validators and the print desk rely on):

* **Invisible characters go.** Every control character (C0, DEL, C1, NUL included) except tab, LF and
  CR, every format character (Unicode category Cf: the zero-width space/joiners U+200B–U+200D, word
  joiner U+2060, BOM U+FEFF, soft hyphen, bidi marks and overrides U+200E/F, U+061C, U+202A–U+202E,
  U+2066–U+2069, tag characters) and lone surrogates. They are invisible on the page, so they can only
  hide text from moderators and word screening, reorder what a reader sees (a right-to-left override
  in a headline) or break storage (a lone surrogate cannot be encoded as UTF-8). Removing U+200D also
  splits emoji ZWJ sequences into their parts; a newspaper loses nothing by that.
* **NFC, not NFKC.** Composed characters (e + U+0301 → é) are made canonical so equal texts compare
  equal, but full-width letters, digits and punctuation are left exactly as typed: they are normal
  in Chinese text and NFKC would rewrite them.
* **Single-line fields**: every run of whitespace (line breaks and tabs included) becomes one space,
  except that a run made only of ideographic spaces (U+3000) stays one U+3000, since Chinese
  headlines use it on purpose as a separator.
* **Body text**: line breaks become LF; tabs become a space; spaces at the end of lines go; two or more
  blank lines in a row become one, because a blank line is how an author marks a paragraph (the form
  says "空一行表示分段") and more of them carry no meaning. Spaces inside a line are left as typed.
* **Lengths count code points that are neither whitespace nor invisible**, so "whitespace does not
  count" holds whatever kind of space the author used.

Stripping happens before NFC: removing a character can bring a letter and a combining mark together,
and NFC must see the result for the normalisation to be idempotent.
"""

from __future__ import annotations

import re
import unicodedata

# Tab and the line-break controls are layout, which the callers below turn into spaces or newlines.
_LAYOUT_CONTROLS = frozenset("\t\n\r")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cs"})  # format characters, lone surrogates

# Line and paragraph separators are not controls, but browsers and word processors use them as breaks.
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029]")
_WHITESPACE_RUN = re.compile(r"\s+")
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")
_IDEOGRAPHIC_SPACE = "\u3000"


def _is_invisible(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Cc":
        return ch not in _LAYOUT_CONTROLS
    return category in _INVISIBLE_CATEGORIES


# Layout controls and the space separators (Zs, Zl, Zp): never invisible, but not "printable" either,
# so they are set aside before the fast-path check below.
_NOT_INVISIBLE = str.maketrans("", "", "\t\n\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                               "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def strip_invisible(s: str) -> str:
    """Remove control, format (zero-width, bidi) and surrogate characters; keep tab, LF and CR."""
    if s.isprintable() or s.translate(_NOT_INVISIBLE).isprintable():
        # Fast path for the usual case: printable text has no Cc, Cf or Cs characters at all.
        return s
    return "".join(ch for ch in s if not _is_invisible(ch))


def _one_space(run: re.Match[str]) -> str:
    text = run.group()
    return _IDEOGRAPHIC_SPACE if text == _IDEOGRAPHIC_SPACE * len(text) else " "


def normalize_line(s: str) -> str:
    """A single-line field (headline, name, affiliation, email …): one line, single spaces, trimmed."""
    text = unicodedata.normalize("NFC", strip_invisible(s))
    return _WHITESPACE_RUN.sub(_one_space, text).strip()


def normalize_text(s: str) -> str:
    """A multi-line body: LF line breaks, no trailing spaces, at most one blank line between paragraphs."""
    text = unicodedata.normalize("NFC", strip_invisible(s))
    text = _LINE_BREAKS.sub("\n", text).replace("\t", " ")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _EXTRA_BLANK_LINES.sub("\n\n", text).strip()


def paragraphs(text: str) -> list[str]:
    """The paragraphs of a body, split on blank lines; single line breaks stay inside their paragraph."""
    body = normalize_text(text)
    return body.split("\n\n") if body else []


def visible_length(s: str) -> int:
    """Characters that count towards a length rule: everything except whitespace and invisibles."""
    visible = "".join(s.split())  # str.split() drops exactly the characters str.isspace() is true for
    if visible.isprintable():  # no Cc, Cf or Cs left: every character counts
        return len(visible)
    return sum(1 for ch in visible if not _is_invisible(ch))


def web_paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs as the web shows them (a single newline stays inside one): the
    pages' <p> elements and the JSON API's ``paragraphs``."""
    return [p.strip() for p in (text or "").split("\n\n") if p.strip()]
