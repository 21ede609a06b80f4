"""A service's fixed, typed rule-action vocabulary: the only actions its rule packs may fire."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema


@dataclass(frozen=True)
class ActionSpec:
    """One action: its name, a JSON Schema for its parameters, and what it does."""

    name: str
    params_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    description: str = ""


class ActionVocabulary:
    """The actions of one service, with parameter validation."""

    def __init__(
        self,
        service: str,
        specs: Iterable[ActionSpec],
        pack_warnings: Callable[[Any], list[str]] | None = None,
    ) -> None:
        self.service = service
        self.specs = {s.name: s for s in specs}
        self._pack_warnings = pack_warnings
        self._validators = {
            name: jsonschema.Draft202012Validator(dict(spec.params_schema))
            for name, spec in self.specs.items()
        }

    def warnings(self, pack: Any) -> list[str]:
        """Loud warnings about a valid pack that do not fail validation (e.g. a calendar year the
        official holiday source does not cover yet)."""
        return list(self._pack_warnings(pack)) if self._pack_warnings else []

    def __contains__(self, name: str) -> bool:
        return name in self.specs

    def errors(self, name: str, params: Mapping[str, Any], computed: Iterable[str] = ()) -> list[str]:
        """Problems with ``params`` for action ``name`` (empty when valid). ``computed`` names parameters
        whose value is only known when the rule fires: they count as present, their values are not checked."""
        validator = self._validators.get(name)
        if validator is None:
            return [
                f"unknown action {name!r}; {self.service} knows {', '.join(sorted(self.specs)) or 'none'}"
            ]
        later = set(computed)
        found = [e for e in validator.iter_errors({**params, **dict.fromkeys(later)}) if _decided(e, later)]
        return [
            f"{'.'.join(str(p) for p in e.absolute_path) or 'params'}: {e.message}"
            for e in sorted(found, key=lambda e: list(map(str, e.absolute_path)))
        ]


_STRUCTURAL = ("required", "additionalProperties", "propertyNames")


def _decided(error: jsonschema.ValidationError, computed: set[str]) -> bool:
    """Whether an error holds whatever values the computed parameters get when the rule fires."""
    if not computed:
        return True
    if error.absolute_path:
        return error.absolute_path[0] not in computed
    return error.validator in _STRUCTURAL
