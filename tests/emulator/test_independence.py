"""The emulator is an independent stand-in for Discord: none of its modules imports the bot's
reading of Discord (``discord/``), its framework or its commands, so a rule both sides get
wrong the same way cannot hide (the bot and the local Discord that runs it meet only in
``catalyst_interactions.dev``)."""

from __future__ import annotations

import ast
from pathlib import Path

import catalyst_interactions.emulator as emulator

FORBIDDEN = (
    "catalyst_interactions.discord",
    "catalyst_interactions.framework",
    "catalyst_interactions.bot",
)
EMULATOR = Path(emulator.__file__).resolve().parent


def _imports(path: Path) -> list[str]:
    """Every module a file imports, relative imports resolved against its package."""
    package = "catalyst_interactions.emulator"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append(module)
            found += [f"{module}.{alias.name}" for alias in node.names]
    return found


def test_no_emulator_module_imports_the_bot() -> None:
    files = sorted(EMULATOR.glob("*.py"))
    assert {f.name for f in files} >= {"rest.py", "spec.py", "rules.py", "callbacks.py"}
    offending = {
        f"{path.name}: {module}"
        for path in files
        for module in _imports(path)
        if module.startswith(FORBIDDEN)
    }
    assert offending == set()


def test_the_check_sees_relative_imports(tmp_path: Path) -> None:
    """Guards the test above: a relative import of the bot would be caught."""
    assert "catalyst_interactions.emulator.spec.spec" in _imports(EMULATOR / "enums.py")
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from ..discord.validation import EPHEMERAL\nimport catalyst_interactions.bot\n"
    )
    found = _imports(probe)
    assert "catalyst_interactions.discord.validation.EPHEMERAL" in found
    assert "catalyst_interactions.bot" in found
