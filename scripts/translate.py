"""Add French translations to the catalog: re-extract, merge, fill from a JSON file.

    .venv/bin/python scripts/translate.py path/to/additions.json

The JSON maps English msgids to French. Only empty entries are filled; a lock makes
concurrent runs safe. A test fails while any extracted text lacks its French translation."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parent.parent
PO = REPO / "assmat/core/i18n/locale/fr/LC_MESSAGES/messages.po"
BIN = Path(sys.executable).parent


def main(additions_path: str) -> int:
    additions = json.loads(Path(additions_path).read_text(encoding="utf-8"))
    with open(REPO / ".translate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(["make", "-s", "messages"], cwd=REPO, check=True, capture_output=True)
        with PO.open("rb") as handle:
            catalog = read_po(handle, locale="fr")
        missing = []
        for message in catalog:
            if not message.id:
                continue
            if message.id in additions and (not message.string or message.fuzzy):
                message.string = additions[message.id]
                message.flags.discard("fuzzy")
            elif not message.string:
                missing.append(message.id)
        with PO.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True)
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
