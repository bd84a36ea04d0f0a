"""docs/configuration.md and .env.example, generated from the declarations in settings.py.

``catalyst-interactions config docs`` (``make docs``) writes both; ``--check`` exits 1 when a
file differs from what the declarations give, and a test runs that check.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from .secret import Secret
from .settings import GROUPS, Spec, declared_specs, type_of

MARKDOWN_PATH = Path("docs/configuration.md")
ENV_EXAMPLE_PATH = Path(".env.example")

_HEADER = """\
# Configuration

<!-- Generated from src/catalyst_interactions/settings.py by `make docs`; do not edit. -->

Every setting is an environment variable. An `.env` file is read too: `./.env` by default,
or the file given with `--env-file PATH` (every command takes it); real environment variables
win over the file. [.env.example](../.env.example) lists every setting with an example.

Everything is checked before a command starts, and every problem is reported at once, one
line each: a value of the wrong type or out of range, a setting that needs another one, and
any `CATALYST_*` name that is not a setting (a likely typo; the closest setting is
suggested). `catalyst-interactions config show` prints the values in effect (secrets
masked); `catalyst-interactions check` also tries to reach every configured resource.

Types: *integer* is a whole number (`2.5` is refused), *number* may have a fraction,
*secret* is never printed or logged, *ids* is a comma-separated list of numeric Discord ids.
"""


def _type_label(spec: Spec) -> str:
    if spec.choices:
        return "one of " + ", ".join(f"`{c}`" for c in spec.choices)
    kind = type_of(spec)
    if kind is int:
        label = "integer"
    elif kind is float:
        label = "number"
    elif kind is bool:
        label = "boolean"
    elif kind is Secret:
        label = "secret"
    elif kind is Path:
        label = "path"
    elif getattr(kind, "__origin__", None) is frozenset:
        label = "ids"
    elif spec.env.endswith(("_URL", "_BASE")):
        label = "URL"
    elif spec.parse is not None:
        label = "list"
    else:
        label = "text"
    bounds = []
    if spec.low is not None:
        bounds.append(f"≥ {spec.low:g}")
    if spec.high is not None:
        bounds.append(f"≤ {spec.high:g}")
    return f"{label} ({', '.join(bounds)})" if bounds else label


def _default_text(spec: Spec) -> str:
    if spec.default_doc is not None:
        return spec.default_doc
    from dataclasses import fields

    from .settings import Settings

    default = next(f.default for f in fields(Settings) if f.metadata.get("spec") is spec)
    if default is None:
        return "unset"
    if isinstance(default, float):
        return f"{default:g}"
    return str(default)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown() -> str:
    specs = declared_specs()
    lines = [_HEADER]
    for group in GROUPS:
        members = [s for s in specs if s.group == group]
        if not members:
            continue
        lines += [f"## {group}", ""]
        lines.append("| variable | type | default | meaning | example |")
        lines.append("|---|---|---|---|---|")
        for spec in members:
            meaning = spec.help
            if spec.required_by:
                meaning += f" Required by: {spec.required_by}."
            lines.append(
                f"| `{spec.env}` | {_cell(_type_label(spec))} | {_cell(_default_text(spec))} "
                f"| {_cell(meaning)} | `{spec.example}` |"
            )
        lines.append("")
    return "\n".join(lines)


def render_env_example() -> str:
    specs = declared_specs()
    lines = [
        "# Every catalyst-interactions setting, generated from settings.py by `make docs`.",
        "# Copy to .env (or pass --env-file) and uncomment what you need; unset settings",
        "# take the default shown. Meanings and types: docs/configuration.md.",
        "",
    ]
    for group in GROUPS:
        members = [s for s in specs if s.group == group]
        if not members:
            continue
        lines += [f"# -- {group} " + "-" * max(3, 86 - len(group)), ""]
        for spec in members:
            text = f"{spec.help} Default: {_default_text(spec)}."
            lines += textwrap.wrap(text, width=92, initial_indent="# ", subsequent_indent="# ")
            lines.append(f"# {spec.env}={spec.example}")
            lines.append("")
    return "\n".join(lines)


def generated(root: Path) -> dict[Path, str]:
    """The generated files, by path under ``root``, with their contents."""
    return {root / MARKDOWN_PATH: render_markdown(), root / ENV_EXAMPLE_PATH: render_env_example()}


def stale(root: Path) -> list[Path]:
    """The generated files that are missing or differ from the declarations."""
    return [
        path
        for path, text in generated(root).items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]


def write(root: Path) -> list[Path]:
    """Write the files that changed; returns them."""
    changed = stale(root)
    for path, text in generated(root).items():
        if path in changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return changed
