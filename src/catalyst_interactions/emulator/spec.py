"""Discord's request schemas, as Discord publishes them, and a validator that walks them.

``discord_api.json`` beside this module is a verbatim extract of Discord's OpenAPI spec
(tests/data/discord-openapi/openapi.json): the operations the local Discord serves, their
request-body schemas and everything those reference. tools/extract_discord_spec.py makes it
and a test fails when it drifts from the vendored spec.

The walker implements the part of JSON Schema 2020-12 (OpenAPI 3.1) the extract uses, and
refuses to load a schema that uses anything else, so a new keyword in a future spec cannot be
silently ignored. Why a walker and not the ``jsonschema`` package (docs/decisions.md D28):
it is 60-100 times faster on Discord's schemas, whose every component and option is a
``oneOf`` (the walker tries only the branches whose ``type`` matches the body's); it reports
each problem at its JSON path with Discord's own error codes (``BASE_TYPE_MAX_LENGTH`` ...)
where ``jsonschema`` says "not valid under any of the given schemas"; and the installed wheel
needs no more runtime dependencies. tests/emulator/test_spec.py checks that the walker and
``jsonschema`` agree.

Two deliberate departures, both named here: text lengths are counted after trimming
whitespace, as Discord does (docs/discord-facts.md §8), and fields a schema does not list are
refused (Discord drops them silently; refusing finds a misspelt field during development).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["Operation", "Problem", "Spec", "dotted", "spec"]

Path = tuple[str | int, ...]

# Keywords that only describe (annotations): they never make a value invalid.
_ANNOTATIONS = frozenset(
    {"title", "description", "format", "contentEncoding", "x-discord-union", "default"}
)
_ASSERTIONS = frozenset(
    {
        "$ref",
        "type",
        "enum",
        "const",
        "allOf",
        "anyOf",
        "oneOf",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "properties",
        "required",
        "additionalProperties",
        "minProperties",
        "maxProperties",
    }
)
# Text Discord trims before counting (docs/discord-facts.md §8); identifiers count as sent.
_TRIMMED = frozenset({"content", "title", "description", "name", "value", "text", "label"})
_REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a body is refused: where (JSON path), Discord's code, and why."""

    path: Path
    code: str
    message: str

    def __str__(self) -> str:
        where = dotted(self.path)
        return f"{where}: {self.message}" if where else self.message


def dotted(path: Path) -> str:
    """``("embeds", 0, "title")`` -> ``embeds[0].title``."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


@dataclass(frozen=True, slots=True)
class Operation:
    """One served operation: Discord's operationId, method, path template and body schema."""

    id: str
    method: str
    path: str
    body: Mapping[str, Any] | None


class _Mismatch(Exception):
    """Raised by :class:`_FirstProblem` to stop a trial walk at its first problem."""


class _FirstProblem(list[Problem]):
    """A problem list that stops the walk at once: trying the branches of a union."""

    def append(self, problem: Problem) -> None:
        raise _Mismatch


class _Node:
    """One schema, compiled once: its keywords read into attributes, references resolved,
    and for a union its branches indexed by the ``type`` values they accept."""

    __slots__ = (
        "additional",
        "all_of",
        "by_tag",
        "const",
        "enum",
        "item",
        "kinds",
        "max_items",
        "max_length",
        "max_props",
        "maximum",
        "min_items",
        "min_length",
        "min_props",
        "minimum",
        "pattern",
        "properties",
        "ref",
        "required",
        "tags",
        "union",
        "union_consts",
        "union_exactly_one",
        "unique",
        "untagged",
    )

    def __init__(self) -> None:
        self.ref: _Node | None = None
        self.kinds: tuple[str, ...] | None = None
        self.enum: list[Any] | None = None
        self.const: tuple[Any] | None = None
        self.all_of: list[_Node] = []
        self.union: list[_Node] | None = None
        self.union_exactly_one = False
        self.union_consts: set[tuple[Any, bool]] | None = None  # (member, is it a boolean)
        self.by_tag: dict[Any, list[_Node]] | None = None  # a discriminated union's branches
        self.untagged: list[_Node] = []  # its branches without a discriminator (null)
        self.tags: list[Any] = []  # the values its `type` property accepts (discriminator)
        self.min_length: int | None = None
        self.max_length: int | None = None
        self.pattern: re.Pattern[str] | None = None
        self.minimum: float | None = None
        self.maximum: float | None = None
        self.item: _Node | None = None
        self.min_items: int | None = None
        self.max_items: int | None = None
        self.unique = False
        self.properties: dict[str, _Node] | None = None
        self.required: tuple[str, ...] = ()
        self.additional: _Node | bool | None = None
        self.min_props: int | None = None
        self.max_props: int | None = None


class Spec:
    """The extract, loaded: operations by id, schemas by name, and the walker."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.source: Mapping[str, Any] = document["source"]
        self._schemas: Mapping[str, Any] = document["components"]["schemas"]
        self._compiled: dict[int, _Node] = {}  # by id() of a schema dict of the document
        self.operations = {
            op_id: Operation(op_id, op["method"], op["path"], op["body"])
            for op_id, op in document["operations"].items()
        }
        self._bodies = {
            op.id: self._compile(op.body, op.id)
            for op in self.operations.values()
            if op.body is not None
        }
        # Indexed once everything is compiled: a branch's tags are known only then.
        for node in {id(n): n for n in self._compiled.values()}.values():
            if node.union is not None:
                self._index_tags(node)

    def enum(self, name: str) -> dict[str, int]:
        """An enumeration of the spec by member name: ``enum("ButtonStyleTypes")["LINK"] == 5``."""
        return {branch["title"]: branch["const"] for branch in self._schemas[name]["oneOf"]}

    def problems(self, operation_id: str, body: object) -> list[Problem]:
        """Everything in ``body`` the operation's request schema refuses (empty: accepted)."""
        node = self._bodies.get(operation_id)
        if node is None:
            raise ValueError(f"{operation_id} takes no request body")
        out: list[Problem] = []
        _walk(node, body, (), out)
        return out

    # -- compiling --------------------------------------------------------------------------
    @staticmethod
    def _index_tags(node: _Node) -> None:
        """For a union whose branches carry a ``type`` discriminator: branches by its value."""
        branches = node.union or []
        tagged = [b for b in branches if _tags(b)]
        if not tagged:
            return
        node.untagged = [b for b in branches if not _tags(b)]
        node.by_tag = {}
        for branch in tagged:
            for tag in _tags(branch):
                node.by_tag.setdefault(tag, [*node.untagged]).append(branch)

    def _compile(self, schema: Mapping[str, Any], where: str) -> _Node:
        known = self._compiled.get(id(schema))
        if known is not None:
            return known
        unknown = set(schema) - _ASSERTIONS - _ANNOTATIONS
        if unknown:
            raise ValueError(f"{where} uses JSON Schema keywords the walker lacks: {unknown}")
        ref = schema.get("$ref")
        if ref is not None:
            name = ref[len(_REF_PREFIX) :]
            if not ref.startswith(_REF_PREFIX) or name not in self._schemas:
                raise ValueError(f"{where} refers to {ref}, which is not in the extract")
            if not set(schema) & _ASSERTIONS - {"$ref"}:
                # A bare reference is its target: one walk instead of two.
                target = self._compile(self._schemas[name], name)
                self._compiled[id(schema)] = target
                return target
        node = _Node()
        self._compiled[id(schema)] = node  # before the children: a schema may contain itself
        if ref is not None:
            node.ref = self._compile(self._schemas[name], name)
        kinds = schema.get("type")
        if kinds is not None:
            node.kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        node.enum = schema.get("enum")
        if "const" in schema:
            node.const = (schema["const"],)
        node.all_of = [self._compile(b, where) for b in schema.get("allOf", ())]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                node.union = [self._compile(b, where) for b in schema[key]]
                node.union_exactly_one = key == "oneOf"
                consts = _consts(schema[key])
                if consts is not None:
                    node.union_consts = {(c, isinstance(c, bool)) for c in consts}
        node.min_length, node.max_length = schema.get("minLength"), schema.get("maxLength")
        if "pattern" in schema:
            node.pattern = re.compile(schema["pattern"])
        node.minimum, node.maximum = schema.get("minimum"), schema.get("maximum")
        if "items" in schema:
            node.item = self._compile(schema["items"], where)
        node.min_items, node.max_items = schema.get("minItems"), schema.get("maxItems")
        node.unique = bool(schema.get("uniqueItems"))
        if "properties" in schema:
            node.properties = {
                key: self._compile(sub, where) for key, sub in schema["properties"].items()
            }
            tag = schema["properties"].get("type", {})
            node.tags = (
                list(tag["enum"]) if "enum" in tag else [tag["const"]] if "const" in tag else []
            )
        node.required = tuple(schema.get("required", ()))
        extra = schema.get("additionalProperties")
        node.additional = self._compile(extra, where) if isinstance(extra, dict) else extra
        node.min_props, node.max_props = schema.get("minProperties"), schema.get("maxProperties")
        return node


# -- the walk -------------------------------------------------------------------------------


def _fits(node: _Node, value: object, path: Path) -> bool:
    try:
        _walk(node, value, path, _FirstProblem())
    except _Mismatch:
        return False
    return True


def _walk(node: _Node, value: object, path: Path, out: list[Problem]) -> None:
    if node.ref is not None:
        _walk(node.ref, value, path, out)
    if node.kinds is not None and not _has_type(value, node.kinds):
        if out.__class__ is _FirstProblem:
            raise _Mismatch  # a trial: skip composing the message
        out.append(_type_problem(path, value, node.kinds))
        return  # nothing else can be said about a value of the wrong type
    if node.enum is not None and not any(_same(value, c) for c in node.enum):
        out.append(_choices_problem(path, node.enum))
    if node.const is not None and not _same(value, node.const[0]):
        out.append(_choices_problem(path, [node.const[0]]))
    for branch in node.all_of:
        _walk(branch, value, path, out)
    if node.union is not None:
        _union(node, value, path, out)
    if isinstance(value, str):
        _bounds(out, path, len(value), node.min_length, node.max_length, "in length")
        if node.pattern is not None and node.pattern.search(value) is None:
            out.append(
                Problem(path, "STRING_TYPE_REGEX", "String value did not match validation regex.")
            )
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _number(node, value, path, out)
    elif isinstance(value, list):
        _array(node, value, path, out)
    elif isinstance(value, dict):
        _object(node, value, path, out)


def _union(node: _Node, value: object, path: Path, out: list[Problem]) -> None:
    branches = node.union or []
    if node.union_consts is not None:  # an enumeration written as one titled `const` per member
        if not (_hashable(value) and (value, isinstance(value, bool)) in node.union_consts):
            out.append(_choices_problem(path, sorted(c for c, _ in node.union_consts)))
        return
    # A discriminated union (components, options, callbacks): only the branches whose `type`
    # accepts the value's `type` can fit, so only those are tried.
    tried = branches
    if node.by_tag is not None and isinstance(value, dict) and "type" in value:
        tag = value["type"]
        tried = node.by_tag.get(tag, node.untagged) if _hashable(tag) else branches
    # A branch of another JSON type cannot fit: skip it without a trial walk.
    fitting = sum(
        1
        for branch in tried
        if (branch.kinds is None or _has_type(value, branch.kinds)) and _fits(branch, value, path)
    )
    if fitting == 1 or (fitting > 1 and not node.union_exactly_one):
        return
    if fitting > 1:
        out.append(Problem(path, "UNION_TYPE_CHOICES", "Value matches more than one shape."))
        return
    if isinstance(out, _FirstProblem):
        raise _Mismatch
    # None fits: report the problems of the branch the sender meant.
    candidates = [b for b in tried if not (value is not None and b.kinds == ("null",))]
    if isinstance(value, dict) and "type" in value and not any(_tags(b) for b in tried):
        allowed = sorted({t for b in branches for t in _tags(b)})
        if allowed:
            out.append(_choices_problem((*path, "type"), allowed, field="type"))
            return
    if not candidates:
        kinds = next((b.kinds for b in branches if b.kinds not in (None, ("null",))), None)
        out.append(_type_problem(path, value, kinds or ("object",)))
        return
    # Without a discriminator, the meant branch is the one whose problems are fewest, a wrong
    # type counting before anything else (a string choice value is not "not int").
    best: tuple[int, int] | None = None
    chosen: list[Problem] = []
    for branch in candidates:
        found: list[Problem] = []
        _walk(branch, value, path, found)
        rank = (sum(p.code in _TYPE_CODE_NAMES for p in found), len(found))
        if best is None or rank < best:
            best, chosen = rank, found
    out.extend(chosen)


def _tags(node: _Node) -> list[Any]:
    return node.ref.tags if node.ref is not None else node.tags


def _number(node: _Node, value: float, path: Path, out: list[Problem]) -> None:
    if node.minimum is not None and value < node.minimum:
        out.append(
            Problem(
                path,
                "NUMBER_TYPE_MIN",
                f"int value should be greater than or equal to {node.minimum}.",
            )
        )
    if node.maximum is not None and value > node.maximum:
        out.append(
            Problem(
                path,
                "NUMBER_TYPE_MAX",
                f"int value should be less than or equal to {node.maximum}.",
            )
        )


def _array(node: _Node, value: list[Any], path: Path, out: list[Problem]) -> None:
    _bounds(out, path, len(value), node.min_items, node.max_items, "in length")
    if node.unique:
        seen: list[object] = []
        for item in value:
            if any(_same(item, other) for other in seen):
                out.append(Problem(path, "LIST_ITEM_VALUE_DUPLICATE", "Values must be unique."))
                break
            seen.append(item)
    if node.item is not None:
        for i, item in enumerate(value):
            _walk(node.item, item, (*path, i), out)


def _object(node: _Node, value: dict[str, Any], path: Path, out: list[Problem]) -> None:
    properties = node.properties
    # The discriminator first, so a trial of the wrong union branch stops at once.
    if properties is not None and "type" in properties and "type" in value:
        _walk(properties["type"], value["type"], (*path, "type"), out)
    for key in node.required:
        if key not in value:
            out.append(Problem((*path, key), "BASE_TYPE_REQUIRED", "This field is required"))
    extra = node.additional
    for key, item in value.items():
        sub = properties.get(key) if properties is not None else None
        if sub is not None:
            if key in _TRIMMED and isinstance(item, str):
                item = item.strip()  # Discord counts text without surrounding blanks (§8)
            if key != "type":
                _walk(sub, item, (*path, key), out)
        elif isinstance(extra, _Node):
            _walk(extra, item, (*path, key), out)
        elif extra is False or properties is not None:
            out.append(Problem((*path, key), "UNKNOWN_FIELD", "Discord does not know this field."))
    _bounds(out, path, len(value), node.min_props, node.max_props, "in size")


def _has_type(value: object, kinds: tuple[str, ...]) -> bool:
    for kind in kinds:
        if kind == "null" and value is None:
            return True
        if kind == "boolean" and isinstance(value, bool):
            return True
        if kind == "string" and isinstance(value, str):
            return True
        if kind == "array" and isinstance(value, list):
            return True
        if kind == "object" and isinstance(value, dict):
            return True
        if isinstance(value, bool):
            continue
        if kind == "integer" and (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        ):
            return True
        if kind == "number" and isinstance(value, int | float):
            return True
    return False


def _hashable(value: object) -> bool:
    return value is None or isinstance(value, str | int | float)


def _same(a: object, b: object) -> bool:
    """JSON equality: ``true`` is not ``1``."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _consts(branches: list[Mapping[str, Any]]) -> list[Any] | None:
    """The members when every branch is a lone ``const`` (Discord's enums), else None."""
    if all("const" in b and not set(b) - {"const", "title", "description"} for b in branches):
        return [b["const"] for b in branches]
    return None


_TYPE_CODES = {
    "object": ("MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"),
    "array": ("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"),
    "string": ("STRING_TYPE_CONVERT", "Could not interpret {value} as string."),
    "integer": ("NUMBER_TYPE_COERCE", "Value {value} is not int."),
    "number": ("NUMBER_TYPE_COERCE", "Value {value} is not a number."),
    "boolean": ("BOOLEAN_TYPE_CONVERT", "Could not interpret {value} as boolean."),
    "null": ("BASE_TYPE_BAD_VALUE", "Value {value} must be null."),
}


_TYPE_CODE_NAMES = frozenset(code for code, _ in _TYPE_CODES.values())


def _type_problem(path: Path, value: object, kinds: tuple[str, ...]) -> Problem:
    wanted = [k for k in kinds if k != "null"] or ["null"]
    code, text = _TYPE_CODES[wanted[0]]
    return Problem(path, code, text.format(value=json.dumps(value)[:50]))


def _choices_problem(path: Path, allowed: list[Any], *, field: str | None = None) -> Problem:
    listed = ", ".join(json.dumps(a) for a in allowed)
    if field is not None:
        return Problem(
            path, "UNION_TYPE_CHOICES", f'Value of field "{field}" must be one of ({listed}).'
        )
    return Problem(path, "BASE_TYPE_CHOICES", f"Value must be one of {{{listed}}}.")


def _bounds(
    out: list[Problem], path: Path, n: int, lo: int | None, hi: int | None, unit: str
) -> None:
    if (hi is None or n <= hi) and (lo is None or n >= lo):
        return
    if lo is not None and hi is not None:
        out.append(Problem(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {lo} and {hi} {unit}."))
    elif hi is not None:
        out.append(Problem(path, "BASE_TYPE_MAX_LENGTH", f"Must be {hi} or fewer {unit}."))
    else:
        out.append(Problem(path, "BASE_TYPE_MIN_LENGTH", f"Must be {lo} or more {unit}."))


@cache
def spec() -> Spec:
    """The extract shipped with the package, loaded once."""
    text = resources.files(__package__).joinpath("discord_api.json").read_text(encoding="utf-8")
    return Spec(json.loads(text))
