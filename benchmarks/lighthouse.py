"""Lighthouse scores of portal pages (performance, accessibility, best practices, SEO).

Not a test: one page takes about 20 s, and performance depends on the machine's load. The
causes of the best-practices and SEO scores are asserted in tests/web/test_head.py; this script
shows the scores themselves.

    make run                                   # or any running server
    .venv/bin/python benchmarks/lighthouse.py [--base-port 8000] [URL ...]

Lighthouse is the pinned devDependency of package.json (`npm ci`); it drives Debian's Chromium
(CHROME_PATH, default /usr/bin/chromium)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = [
    ("gers", "/"), ("gers", "/connexion"), ("alpes-maritimes", "/connexion"), ("eure-et-loir", "/connexion"),
    ("cestas", "/mot-de-passe-oublie"), ("mon-enfant", "/contact"),
]
CATEGORIES = "performance,accessibility,best-practices,seo"


def run(url: str) -> dict:
    lighthouse = REPO / "node_modules" / ".bin" / "lighthouse"
    if not lighthouse.exists():
        sys.exit("Lighthouse is missing: run `npm ci` in the repository")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [str(lighthouse), url, "--quiet", f"--only-categories={CATEGORIES}", "--output=json",
             f"--output-path={report}", "--chrome-flags=--headless=new --no-sandbox"],
            check=True, env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        return json.loads(report.read_text())


def failing(report: dict) -> list[str]:
    weighted = {ref["id"] for category in report["categories"].values() for ref in category["auditRefs"] if ref["weight"] > 0}
    return [
        f"{audit['id']} {audit.get('displayValue', '')}".strip()
        for audit in report["audits"].values()
        if audit["id"] in weighted and audit.get("score") is not None and audit["score"] < 1
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-port", type=int, default=8000)
    parser.add_argument("urls", nargs="*")
    args = parser.parse_args()
    urls = args.urls or [f"http://{slug}.localhost:{args.base_port}{path}" for slug, path in PAGES]
    for url in urls:
        report = run(url)
        scores = {name: round(category["score"] * 100) for name, category in report["categories"].items()}
        print(url, " ".join(f"{name}={score}" for name, score in scores.items()))
        for audit in failing(report):
            print("    below 100:", audit)


if __name__ == "__main__":
    main()
