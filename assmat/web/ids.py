"""Row ids in URLs: one parser for the portal's path converter and the console's keys.

Every id column is a 32-bit integer on PostgreSQL (and SQLite refuses integers past 64 bits):
a larger number, a sign, a decimal point or anything but ASCII digits is no row of ours, so it
is a 404 before any query, never a database error."""

from __future__ import annotations

import re

from starlette.convertors import Convertor, register_url_convertor

MAX_ID = 2**31 - 1
# 1 … 2147483647 exactly, written without leading zeros: the router itself refuses the rest.
ID_PATTERN = (
    "[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
    "|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7]"
)
_ID = re.compile(f"(?:{ID_PATTERN})")


def parse_id(value: object) -> int | None:
    """The row id written in `value`, or None when it cannot be one."""
    if isinstance(value, str) and _ID.fullmatch(value):
        return int(value)
    return None


class IdConvertor(Convertor[int]):
    """`{name:id}` in a route: matches only a possible row id."""

    regex = f"(?:{ID_PATTERN})"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
