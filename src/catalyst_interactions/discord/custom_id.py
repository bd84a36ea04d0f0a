"""custom_id as a declared template with named fields, checked when built and when parsed.

A template such as ``"chart:v1:{ticker}:{tf}"`` declares the literal text and the named
fields; each field has a regex (``[^:]+`` unless given). :meth:`CustomIdTemplate.build`
refuses values that do not match their field, a missing or extra field, a result over
Discord's 100 characters, and a result that would not parse back to the same values.
:meth:`CustomIdTemplate.match` parses with one regex compiled at construction (full match).

Legacy ids are just more templates, e.g.
``CustomIdTemplate("chart_{ticker}_{tf}", ticker=tickers.PATTERN, tf="1D|5D|1M|3M|1Y")``
(a field's regex is the domain's own grammar, here ``catalyst_interactions.tickers``),
never ``custom_id.split("_")``.
"""

from __future__ import annotations

import re
from string import Formatter

from .limits import CUSTOM_ID_MAX

__all__ = ["CustomIdError", "CustomIdTemplate"]

_DEFAULT_FIELD = r"[^:]+"


class CustomIdError(ValueError):
    """A custom_id template is malformed, or a value cannot be encoded into it."""


class CustomIdTemplate:
    """A custom_id layout with named, regex-checked fields."""

    __slots__ = ("_field_res", "_regex", "fields", "pattern", "prefix")

    def __init__(self, pattern: str, **field_patterns: str) -> None:
        self.pattern = pattern
        literals: list[str] = []
        fields: list[str] = []
        try:
            parts = list(Formatter().parse(pattern))
        except ValueError as exc:
            raise CustomIdError(f"bad custom_id template {pattern!r}: {exc}") from None
        regex = []
        prefix: str | None = None
        for literal, name, spec, conversion in parts:
            literals.append(literal)
            regex.append(re.escape(literal))
            if name is None:
                continue
            if prefix is None:
                prefix = "".join(literals)
            if not name.isidentifier() or spec or conversion:
                raise CustomIdError(f"template {pattern!r}: field {{{name}}} must be a plain name")
            if name in fields:
                raise CustomIdError(f"template {pattern!r}: field {name!r} appears twice")
            fields.append(name)
            regex.append(f"(?P<{name}>(?:{field_patterns.get(name, _DEFAULT_FIELD)}))")
        extra = set(field_patterns) - set(fields)
        if extra:
            raise CustomIdError(f"template {pattern!r} has no field(s) {sorted(extra)}")
        literal_len = sum(len(lit) for lit in literals)
        if literal_len + len(fields) > CUSTOM_ID_MAX:
            raise CustomIdError(f"template {pattern!r} cannot fit in {CUSTOM_ID_MAX} characters")
        try:
            self._regex = re.compile("".join(regex))
            self._field_res = {
                name: re.compile(field_patterns.get(name, _DEFAULT_FIELD)) for name in fields
            }
        except re.error as exc:
            raise CustomIdError(f"template {pattern!r}: bad field regex: {exc}") from None
        self.fields: tuple[str, ...] = tuple(fields)
        # The literal text before the first field: routers index templates by it.
        self.prefix: str = "".join(literals) if prefix is None else prefix

    def __repr__(self) -> str:
        return f"CustomIdTemplate({self.pattern!r})"

    @property
    def regex(self) -> str:
        """The full-match regex source (Python syntax), e.g. for an exported manifest."""
        return self._regex.pattern

    def build(self, **values: str | int) -> str:
        """Encode ``values`` into a custom_id; raise :class:`CustomIdError` if impossible."""
        missing = [name for name in self.fields if name not in values]
        extra = sorted(set(values) - set(self.fields))
        if missing or extra:
            raise CustomIdError(
                f"{self!r}.build: missing fields {missing}, unexpected fields {extra}"
            )
        text: dict[str, str] = {}
        for name in self.fields:
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise CustomIdError(f"{self!r}.build: {name} must be a str or int")
            text[name] = str(value)
            if self._field_res[name].fullmatch(text[name]) is None:
                raise CustomIdError(
                    f"{self!r}.build: {name}={text[name]!r} does not match "
                    f"{self._field_res[name].pattern!r}"
                )
        result = self.pattern.format(**text)
        if len(result) > CUSTOM_ID_MAX:
            raise CustomIdError(
                f"{self!r}.build: custom_id is {len(result)} characters; "
                f"Discord allows at most {CUSTOM_ID_MAX}"
            )
        # Fields whose regexes can swallow a separator would parse back differently.
        if self.match(result) != text:
            raise CustomIdError(f"{self!r}.build: {result!r} would not parse back unambiguously")
        return result

    def match(self, custom_id: str) -> dict[str, str] | None:
        """The field values if ``custom_id`` fully matches this template, else None."""
        found = self._regex.fullmatch(custom_id)
        return None if found is None else found.groupdict()
