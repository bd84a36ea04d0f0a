"""Can two custom_id templates match the same custom_id? Decided exactly, with an example.

Each template is a full-match regex (its literals and field patterns). Both are turned into
small automata (Thompson's construction over Python's own parse of the regex) and walked
together, breadth first: a state pair reached with both sides accepting is a custom_id both
match, and the path to it, the shortest such id, is the example the error shows. With no
such pair the languages are disjoint, whatever the order the router tries them in.

Field patterns may use literals, classes (``[A-Z0-9.]``, ``\\d``, ``\\w``, ``\\s``, read as
ASCII as a custom_id is), ``.``, alternation, groups and repeats; anything else
(look-arounds, back-references) is refused at start rather than guessed at.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass, field
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from .errors import RegistrationError

_MAX_CHAR = 0x10FFFF
Ranges = tuple[tuple[int, int], ...]
"""A set of characters as sorted, disjoint, inclusive code point ranges."""

_CATEGORIES: dict[Any, Ranges] = {
    sre_c.CATEGORY_DIGIT: ((48, 57),),
    sre_c.CATEGORY_WORD: ((48, 57), (65, 90), (95, 95), (97, 122)),
    sre_c.CATEGORY_SPACE: ((9, 13), (32, 32)),
}


_REPEATS = tuple(
    op
    for op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None))
    if op
)


def _normalise(ranges: list[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _complement(ranges: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    start = 0
    for lo, hi in ranges:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= _MAX_CHAR:
        out.append((start, _MAX_CHAR))
    return tuple(out)


_READABLE: Ranges = ((65, 90), (97, 122), (48, 57), (33, 126))
"""Letters, digits, then other printable ASCII: what an example id is best made of."""


def _first_common(a: Ranges, b: Ranges) -> int | None:
    """A character in both sets, readable when possible, or None."""
    both = _intersection(a, b)
    for readable in _READABLE:
        char = _smallest(both, (readable,))
        if char is not None:
            return char
    return both[0][0] if both else None


def _intersection(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _smallest(a: Ranges, b: Ranges) -> int | None:
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            return lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return None


@dataclass(slots=True)
class _Automaton:
    """States are ints; ``moves[s]`` are (characters, next state), ``empty[s]`` free moves."""

    moves: list[list[tuple[Ranges, int]]] = field(default_factory=list)
    empty: list[list[int]] = field(default_factory=list)

    def state(self) -> int:
        self.moves.append([])
        self.empty.append([])
        return len(self.moves) - 1


class _Unsupported(Exception):
    pass


@functools.lru_cache(maxsize=256)  # a repeat {0,63} builds its class 63 times
def _class_ranges(items: tuple[tuple[Any, Any], ...]) -> Ranges:
    negate = False
    ranges: list[tuple[int, int]] = []
    for op, arg in items:
        if op is sre_c.NEGATE:
            negate = True
        elif op is sre_c.LITERAL:
            ranges.append((arg, arg))
        elif op is sre_c.RANGE:
            ranges.append(arg)
        elif op is sre_c.CATEGORY:
            ranges.extend(_category(arg))
        else:
            raise _Unsupported(str(op))
    result = _normalise(ranges)
    return _complement(result) if negate else result


def _category(cat: Any) -> Ranges:
    for positive, ranges in _CATEGORIES.items():
        if cat is positive:
            return ranges
    negatives = {
        sre_c.CATEGORY_NOT_DIGIT: sre_c.CATEGORY_DIGIT,
        sre_c.CATEGORY_NOT_WORD: sre_c.CATEGORY_WORD,
        sre_c.CATEGORY_NOT_SPACE: sre_c.CATEGORY_SPACE,
    }
    for negative, positive in negatives.items():
        if cat is negative:
            return _complement(_CATEGORIES[positive])
    raise _Unsupported(str(cat))


def _build(nfa: _Automaton, pattern: Any, start: int) -> int:
    """Add ``pattern`` (a parsed sequence) after ``start``; return its end state."""
    at = start
    for op, arg in pattern:
        if op is sre_c.LITERAL:
            at = _step(nfa, at, ((arg, arg),))
        elif op is sre_c.NOT_LITERAL:
            at = _step(nfa, at, _complement(((arg, arg),)))
        elif op is sre_c.ANY:
            at = _step(nfa, at, _complement(((10, 10),)))
        elif op is sre_c.IN:
            at = _step(nfa, at, _class_ranges(tuple(arg)))
        elif op is sre_c.SUBPATTERN:
            _group, add_flags, del_flags, inner = arg
            if add_flags or del_flags:
                raise _Unsupported("inline flags")
            at = _build(nfa, inner, at)
        elif op is sre_c.BRANCH:
            end = nfa.state()
            for alternative in arg[1]:
                nfa.empty[_build(nfa, alternative, at)].append(end)
            at = end
        elif op in _REPEATS:
            low, high, inner = arg
            for _ in range(low):
                at = _build(nfa, inner, at)
            if high == sre_c.MAXREPEAT:
                loop = nfa.state()
                nfa.empty[at].append(loop)
                nfa.empty[_build(nfa, inner, loop)].append(loop)
                at = loop
            else:
                end = nfa.state()
                for _ in range(high - low):
                    nfa.empty[at].append(end)
                    at = _build(nfa, inner, at)
                nfa.empty[at].append(end)
                at = end
        else:
            raise _Unsupported(str(op))
    return at


def _step(nfa: _Automaton, at: int, chars: Ranges) -> int:
    nxt = nfa.state()
    nfa.moves[at].append((chars, nxt))
    return nxt


@functools.lru_cache(maxsize=256)
def _automaton(regex: str) -> tuple[_Automaton, int, int]:
    nfa = _Automaton()
    start = nfa.state()
    try:
        end = _build(nfa, sre_parse.parse(regex), start)
    except _Unsupported as exc:
        raise RegistrationError(
            f"custom_id pattern {regex!r} uses {exc}, which start-up cannot check for "
            "overlaps; use literals, classes, alternation and repeats"
        ) from None
    return nfa, start, end


def _closure(nfa: _Automaton, state: int) -> list[int]:
    seen = {state}
    todo = [state]
    while todo:
        for nxt in nfa.empty[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return list(seen)


def common_match(first: str, second: str) -> str | None:
    """The shortest string both full-match regexes accept, or None when there is none."""
    a, a_start, a_end = _automaton(first)
    b, b_start, b_end = _automaton(second)
    start = (a_start, b_start)
    came_from: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        pair = queue.popleft()
        left, right = _closure(a, pair[0]), _closure(b, pair[1])
        if a_end in left and b_end in right:
            text: list[str] = []
            at: tuple[int, int] | None = pair
            while at is not None and came_from[at] is not None:
                previous, char = came_from[at]  # type: ignore[misc]
                text.append(char)
                at = previous
            return "".join(reversed(text))
        for x in left:
            for x_chars, x_next in a.moves[x]:
                for y in right:
                    for y_chars, y_next in b.moves[y]:
                        nxt = (x_next, y_next)
                        if nxt in came_from:
                            continue
                        char = _first_common(x_chars, y_chars)
                        if char is not None:
                            came_from[nxt] = (pair, chr(char))
                            queue.append(nxt)
    return None
