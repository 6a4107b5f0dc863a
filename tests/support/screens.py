"""The screens a seed shows, reached as its users reach them, as visible text.

`Screens(portal, smtp_server)["login"]` is the text of the login page; emails are screens too
(`"mail:subject"` and `"mail:body"` of the last email a step sent). Each screen is fetched once."""

from __future__ import annotations

import html
import re
from typing import Any, Callable

from tests.support.portal import Portal

_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)
_SPACES = re.compile(r"\s+")
_ATTRS = re.compile(r'\s(?:aria-label|alt|title|content|data-label-show|placeholder)="([^"]*)"')


def visible_text(page: str) -> str:
    """What a person reads (and hears) on the page: text, with its labels and alternatives."""
    extras = " ".join(_ATTRS.findall(page))
    return _SPACES.sub(" ", html.unescape(_TAGS.sub(" ", page) + " " + extras)).strip()


def mail_text(mail) -> str:
    return _SPACES.sub(" ", mail.get_body(("plain",)).get_content()).strip()


class Screens:
    def __init__(self, portal: Portal, smtp_server: Any, steps: dict[str, Callable[["Screens"], str]]):
        self.portal = portal
        self.smtp = smtp_server
        self.steps = steps
        self.seen: dict[str, str] = {}
        self.mails = 0

    def __getitem__(self, name: str) -> str:
        if name not in self.seen:
            self.seen[name] = self.steps[name](self)
        return self.seen[name]

    # -- helpers for the steps --------------------------------------------------------------

    def get(self, path: str) -> str:
        response = self.portal.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return visible_text(response.text)

    def post(self, path: str, data: dict[str, Any], expect: int = 400) -> str:
        response = self.portal.post(path, data)
        assert response.status_code == expect, (path, response.status_code)
        if expect == 303:
            return self.get(response.headers["location"])
        return visible_text(response.text)

    def next_mail(self):
        self.mails += 1
        return self.smtp.wait_for(self.mails)[self.mails - 1]

    def fresh_browser(self) -> None:
        self.portal.client.cookies.clear()


def missing_texts(screens: Screens, expected: list[tuple[str, str]]) -> list[str]:
    return [f"{screen}: « {words} »" for screen, words in expected if words not in screens[screen]]
