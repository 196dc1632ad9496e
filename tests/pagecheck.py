"""What an HTML page would fetch: every reference to a resource outside the page itself.

Written from the HTML and CSS definitions (not from tflparse's page builder): any attribute
that loads or links a resource (``src``, ``href``, ``xlink:href``, ``srcset``, ``poster``,
``data``, ``action``, ``formaction``, ``background``, ``manifest``, ``ping``), any CSS
``@import`` or ``url(...)`` in a ``<style>`` element or a ``style`` attribute, and a
``<meta http-equiv=refresh>``. A reference is local when it is a fragment (``#id``) or a
``data:`` URL; everything else (``http:``, ``https:``, protocol-relative ``//host``, other
schemes and relative paths) counts, since a page opened from ``file://`` has nothing beside it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_URL_ATTRIBUTES = frozenset({"src", "href", "xlink:href", "srcset", "poster", "data",
                             "action", "formaction", "background", "manifest", "ping",
                             "codebase", "cite", "longdesc", "usemap", "icon"})
_CSS_IMPORT = re.compile(r"@import", re.I)
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.I | re.S)


def _local(value: str) -> bool:
    value = value.strip()
    return value.startswith("#") or value.lower().startswith("data:")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.tags: list[str] = []
        self.scripts = 0
        self.ids: set[str] = set()
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "script":
            self.scripts += 1
        if tag == "style":
            self._in_style = True
        values = {k.lower(): v or "" for k, v in attrs}
        if "id" in values:
            self.ids.add(values["id"])
        for name, value in values.items():
            if name in _URL_ATTRIBUTES:
                urls = [u.strip().split(" ")[0] for u in re.split(r",\s+", value)] \
                    if name == "srcset" else [value]
                self.found.extend(f"<{tag} {name}={u}>" for u in urls if not _local(u))
            if name == "style":
                self._css(value, f"<{tag} style>")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.found.append("<meta http-equiv=refresh>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data, "<style>")

    def _css(self, text: str, where: str) -> None:
        if _CSS_IMPORT.search(text):
            self.found.append(f"{where} @import")
        for match in _CSS_URL.finditer(text):
            if not _local(match.group(2)):
                self.found.append(f"{where} url({match.group(2)})")


def scan(page: str) -> _Collector:
    """Parse ``page``; ``.found`` lists its outside references, ``.ids`` its element ids,
    ``.scripts`` its script elements."""
    collector = _Collector()
    collector.feed(page)
    collector.close()
    return collector


def outside_references(page: str) -> list[str]:
    return scan(page).found
