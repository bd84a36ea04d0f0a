"""The repository explains itself: no reference to a document that is not in it.

Code and docs once pointed at design notes kept outside the repository; their content now
lives in docs/ (design.md, discord-facts.md). These tests read the files as text, so a new
out-of-repo reference, or a pointer to a docs/ page or discord-facts section that does not
exist, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = (
    "src",
    "docs",
    "tests",
    "bench",
    "deploy",
    "tools",
    "workers/cloudflare/src",
    "workers/cloudflare/bench",
    "workers/cloudflare/local_workerd.py",
    "workers/cloudflare/wrangler.toml",
    "README.md",
    "Makefile",
    "pyproject.toml",
)
SUFFIXES = {
    ".py",
    ".md",
    ".toml",
    ".txt",
    ".cfg",
    ".ini",
    ".sh",
    ".js",
    ".mjs",
    ".ts",
    ".yml",
    ".yaml",
    ".json",
    ".service",
    ".conf",
    "",
}

# Documents outside the repository that references used to name.
OUTSIDE = re.compile(
    r"DESIGN\.md|DISCORD_FACTS|\bSTYLE(?:\.md| example| \d)|\bMISSION\.md|\.\./shared|/work/shared"
)
DOCS_PAGE = re.compile(r"docs/([\w-]+\.md)")
FACTS_SECTION = re.compile(r"discord-facts\.md[^\n§]{0,20}((?:§\s*\d+(?:,\s*)?)+)")


def _files() -> list[Path]:
    this = Path(__file__).resolve()
    found: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        for file in candidates:
            if (
                file.is_file()
                and file.resolve() != this
                and file.suffix in SUFFIXES
                and "__pycache__" not in file.parts
            ):
                found.append(file)
    return found


def _lines(pattern: re.Pattern[str]) -> list[tuple[str, int, re.Match[str]]]:
    hits = []
    for file in _files():
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images and other binary files
        for number, line in enumerate(text.splitlines(), start=1):
            for match in pattern.finditer(line):
                hits.append((str(file.relative_to(ROOT)), number, match))
    return hits


def test_the_scan_reads_the_code_and_the_docs() -> None:
    names = {str(f.relative_to(ROOT)) for f in _files()}
    assert "src/catalyst_interactions/edge/endpoint.py" in names
    assert "docs/design.md" in names
    assert "README.md" in names
    assert any(n.startswith("workers/cloudflare/src/") for n in names)
    assert any(n.startswith("deploy/") for n in names)


def test_no_reference_points_outside_the_repository() -> None:
    hits = [f"{file}:{line}: {m.group(0)}" for file, line, m in _lines(OUTSIDE)]
    assert hits == [], "references to documents outside the repository:\n" + "\n".join(hits)


def test_every_docs_page_named_exists() -> None:
    missing = [
        f"{file}:{line}: docs/{m.group(1)}"
        for file, line, m in _lines(DOCS_PAGE)
        if not (ROOT / "docs" / m.group(1)).is_file()
    ]
    assert missing == [], "references to docs pages that do not exist:\n" + "\n".join(missing)


def test_every_discord_facts_section_cited_exists() -> None:
    facts = (ROOT / "docs" / "discord-facts.md").read_text(encoding="utf-8")
    sections = {int(n) for n in re.findall(r"^## (\d+)\.", facts, flags=re.MULTILINE)}
    assert sections, "docs/discord-facts.md has no numbered sections"
    cited = [
        (file, line, int(n))
        for file, line, m in _lines(FACTS_SECTION)
        for n in re.findall(r"\d+", m.group(1))
    ]
    assert cited, "nothing cites docs/discord-facts.md by section"
    unknown = [f"{file}:{line}: §{n}" for file, line, n in cited if n not in sections]
    assert unknown == [], "citations of missing discord-facts sections:\n" + "\n".join(unknown)
