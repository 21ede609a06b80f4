"""Rule packs: declarative YAML compiled to durable-rules, hot-swapped at runtime, governed by a
lifecycle (validate → publish → activate → roll back) served over gRPC and the CLI."""

from covenant.rules.engine import CompiledPack, FiredAction, RuleEvaluationError
from covenant.rules.pack import Pack, PackError, parse_pack
from covenant.rules.runtime import RuleRuntime
from covenant.rules.vocabulary import ActionSpec, ActionVocabulary

__all__ = [
    "ActionSpec",
    "ActionVocabulary",
    "CompiledPack",
    "FiredAction",
    "Pack",
    "PackError",
    "RuleEvaluationError",
    "RuleRuntime",
    "parse_pack",
]
