"""Identity's rule-action vocabulary. The identity pack (rules/identity/roles.yaml) carries the role →
permission table as its ``role_grants`` parameter; it fires no actions, so the vocabulary is empty."""

from __future__ import annotations

from covenant.rules import ActionVocabulary

VOCABULARY = ActionVocabulary("identity", [])
