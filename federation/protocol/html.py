"""HTML we publish or show: sanitised with nh3 (linear time, size-capped), and plain text from it.

:func:`sanitize_html` is the one sanitiser for every HTML fragment that leaves or enters the
bridge: our own articles (the CMS may send anything) and remote replies (the inbox). It keeps a
short list of formatting tags, ``href`` on links (http, https and mailto only: no ``javascript:``
nor ``data:``), adds ``rel="nofollow noopener noreferrer"`` to every link, and drops scripts,
styles, frames, forms, images, SVG, event handlers and comments. nh3 (ammonia, html5ever) parses in
time linear in the input, and the input is cut at :data:`MAX_HTML_CHARS` first.

:func:`html_to_text` and :func:`summarize` derive plain language text (the lead Mastodon shows)
from HTML.
"""

from __future__ import annotations

import html
import re

import nh3

#: Input beyond this many characters is cut before parsing (security checklist item 31).
MAX_HTML_CHARS = 200_000
#: Input is also cut before its 4 000th tag: html5ever's open-element checks make thousands of
#: nested block elements (``<div>`` × 20 000) cost quadratic time. Real articles use far fewer.
MAX_TAGS = 4_000

LINK_REL = "nofollow noopener noreferrer"

ALLOWED_TAGS = frozenset({
    "p", "br", "a", "span", "strong", "b", "em", "i", "u", "s", "del", "ins", "sub", "sup",
    "blockquote", "q", "cite", "pre", "code", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "abbr", "small", "mark", "dl", "dt", "dd",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang", "lang"},
    "abbr": {"title"},
    "ol": {"start", "reversed"},
    "li": {"value"},
    "*": {"lang", "dir"},
}
#: Classes Mastodon and others use for mentions and hashtags.
ALLOWED_CLASSES = {
    "a": {"mention", "hashtag", "u-url", "status-link"},
    "span": {"h-card", "invisible", "ellipsis"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
#: Dropped with everything inside them (not only the tag).
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "object", "embed", "svg", "math", "template", "noscript",
    "textarea", "select", "title", "head",
})

_TAG_START = re.compile(r"<")
_BLOCK_END = re.compile(r"<\s*(?:br|/p|/li|/h[1-6]|/blockquote|/pre|/dd|/dt|hr)\b[^>]*>", re.I)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def _capped(fragment: str, max_chars: int) -> str:
    """``fragment`` cut at ``max_chars`` characters and before its :data:`MAX_TAGS`-th tag."""
    fragment = fragment[:max_chars]
    for count, match in enumerate(_TAG_START.finditer(fragment), start=1):
        if count >= MAX_TAGS:
            return fragment[: match.start()]
    return fragment


#: The cleaners are built once (nh3 ≥ 0.3): building ammonia's rules costs more than cleaning a
#: short reply.
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
    url_schemes=set(URL_SCHEMES),
    link_rel=LINK_REL,
    strip_comments=True,
)
_TEXT_CLEANER = nh3.Cleaner(tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))


def sanitize_html(fragment: str, *, max_chars: int = MAX_HTML_CHARS) -> str:
    """``fragment`` with only safe tags, attributes and URLs; links get ``rel=nofollow…``."""
    if not fragment:
        return ""
    return _CLEANER.clean(_capped(fragment, max_chars)).strip()


def html_to_text(fragment: str, *, max_chars: int = MAX_HTML_CHARS) -> str:
    """The plain text of an HTML fragment, paragraphs separated by blank lines."""
    if not fragment:
        return ""
    marked = _BLOCK_END.sub("\n\n", _capped(fragment, max_chars))
    stripped = _TEXT_CLEANER.clean(marked)
    text = html.unescape(stripped)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def summarize(text: str, limit: int = 500) -> str:
    """At most ``limit`` characters of ``text``: whole sentences if possible, else whole words."""
    text = _SPACES.sub(" ", text.replace("\n\n", "\u2029").replace("\n", " ")).strip()
    text = text.replace("\u2029", "\n\n")
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    sentence_end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind("\n\n"))
    if sentence_end >= limit // 2:
        return cut[: sentence_end + 1].rstrip()
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:–—-") + "…"


def text_to_html(text: str) -> str:
    """Plain text (paragraphs separated by blank lines) as escaped HTML paragraphs."""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line, quote=False) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
