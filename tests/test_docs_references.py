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


# -- the layout the docs describe is the layout on disk ------------------------------------

PACKAGE = ROOT / "src" / "catalyst_interactions"
BACKTICKED = re.compile(r"`([^`\n]+)`")
# A file or directory path: `discord/limits.py`, `tests/bot/`, `deploy/caddy/Caddyfile` is not
# matched (no suffix), which keeps plain words out.
NAMED_PATH = re.compile(r"^[\w./-]*\w\.(?:py|json|md|toml)$|^[\w-]+(?:/[\w.-]+)*/$")
DOTTED_MODULE = re.compile(r"^catalyst_interactions(?:\.\w+)+$")
# `app.build_resources`, `store/_db.record_of`: a module of the package and a name in it.
MODULE_SYMBOL = re.compile(r"^((?:\w+/)*\w+)\.(\w+)(?:\(\))?$")
FILE_SUFFIXES = {"py", "md", "json", "toml", "txt", "env", "js", "sh", "yml", "png", "example"}
# Paths a page names that are not in the repository, on purpose.
NOT_IN_REPOSITORY = {
    "src/catalyst_interactions/bot/last.py",  # the module adding-a-command.md has you create
    "data_dir/charts/",  # a run-time directory (charts.md)
    "src/manifest.json",  # generated and git-ignored (cloudflare.md)
    "answer.md",  # the name of an attachment /research sends (commands.md)
}
# decisions.md records what was, deleted files included; every other page says what is.
HISTORY = {"decisions.md"}


def _repository_paths() -> set[str]:
    skip = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}
    return {
        p.relative_to(ROOT).as_posix()
        for p in ROOT.rglob("*")
        if not skip & set(p.relative_to(ROOT).parts)
    }


def _named_in_docs() -> list[tuple[str, int, str]]:
    pages = [ROOT / "README.md"] + [
        p for p in sorted((ROOT / "docs").glob("*.md")) if p.name not in HISTORY
    ]
    return [
        (str(page.relative_to(ROOT)), number, match.group(1).strip())
        for page in pages
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1)
        for match in BACKTICKED.finditer(line)
    ]


def test_every_file_the_docs_name_exists() -> None:
    paths = _repository_paths()
    named = [(page, n, t) for page, n, t in _named_in_docs() if NAMED_PATH.match(t)]
    assert any(t == "bot/resources.py" for _, _, t in named), "the scan found no module paths"
    # A page may name a file by its tail (`bot/chart.py`, `test_throttle.py`).
    missing = [
        f"{page}:{n}: `{t}`"
        for page, n, t in named
        if t not in NOT_IN_REPOSITORY
        and not any(p == t.rstrip("/") or p.endswith("/" + t.rstrip("/")) for p in paths)
    ]
    assert missing == [], "docs name files that do not exist:\n" + "\n".join(missing)


def test_every_module_name_the_docs_use_exists() -> None:
    checked = 0
    missing = []
    for page, n, t in _named_in_docs():
        if DOTTED_MODULE.match(t):
            parts = t.split(".")[1:]
            module = PACKAGE.joinpath(*parts)
            owner = PACKAGE.joinpath(*parts[:-1]).with_suffix(".py")
            found = (
                module.with_suffix(".py").is_file()
                or (module / "__init__.py").is_file()
                or (owner.is_file() and parts[-1] in owner.read_text(encoding="utf-8"))
            )
        else:
            symbol = MODULE_SYMBOL.match(t)
            if not symbol or symbol.group(2) in FILE_SUFFIXES:
                continue
            owner = PACKAGE / f"{symbol.group(1)}.py"
            if not owner.is_file():
                continue  # `ctx.resources`, `Resources.closing`: not a module path
            found = re.search(rf"\b{symbol.group(2)}\b", owner.read_text(encoding="utf-8"))
        checked += 1
        if not found:
            missing.append(f"{page}:{n}: `{t}`")
    assert checked >= 5, "the scan found too few module names to be reading the docs"
    assert missing == [], "docs name modules or names that do not exist:\n" + "\n".join(missing)


def test_architecture_names_every_module_and_package() -> None:
    """docs/architecture.md is the layout a reader starts from: each package and module of
    src/catalyst_interactions is named there (its "Every module" tree), so a new one is too."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    unnamed = []
    for path in sorted(PACKAGE.rglob("*")):
        inside = path.relative_to(PACKAGE).parts
        if {"__pycache__", "migrations", "static"} & set(inside[:-1]):
            continue
        if path.is_dir() and path.name != "__pycache__":
            pattern = rf"(?<![\w/]){re.escape(path.name)}/"
        elif path.suffix in {".py", ".json"} and path.name != "__init__.py":
            pattern = rf"(?<![\w.]){re.escape(path.name)}(?!\w)"
        else:
            continue
        if not re.search(pattern, text):
            unnamed.append(str(path.relative_to(ROOT)))
    assert unnamed == [], "modules docs/architecture.md does not name:\n" + "\n".join(unnamed)
