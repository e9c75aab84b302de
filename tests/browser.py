"""A browser without JavaScript: follows redirects and submits HTML forms as a person would."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType

import httpx


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1].fields[values["name"]] = values.get("value", "")


class Browser:
    def __init__(self) -> None:
        self._http = httpx.AsyncClient(follow_redirects=True, timeout=10)

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def open(self, url: str) -> httpx.Response:
        return await self._http.get(url)

    async def submit(self, page: httpx.Response, **changes: str) -> httpx.Response:
        """Submit the page's first form, with `changes` typed into its fields."""
        parser = _FormParser()
        parser.feed(page.text)
        assert parser.forms, f"no form on {page.url}:\n{page.text[:500]}"
        form = parser.forms[0]
        target = page.url.join(form.action)
        data = {**form.fields, **changes}
        if form.method == "post":
            return await self._http.post(target, data=data)
        return await self._http.get(target, params=data)
