"""Common passwords, shipped offline: zxcvbn's list of the 30,000 most frequent passwords plus a
French supplement (`data/common_fr.txt`), compared case-insensitively."""

from __future__ import annotations

from functools import cache
from pathlib import Path

FRENCH_SUPPLEMENT = Path(__file__).parent / "data" / "common_fr.txt"


@cache
def common_passwords() -> frozenset[str]:
    # Imported here: the lists weigh a few megabytes and only password changes need them.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    french = FRENCH_SUPPLEMENT.read_text(encoding="utf-8").splitlines()
    entries = [*FREQUENCY_LISTS["passwords"], *(line.strip() for line in french if not line.startswith("#"))]
    return frozenset(entry.lower() for entry in entries if entry)


def is_common(password: str) -> bool:
    return password.lower() in common_passwords()
