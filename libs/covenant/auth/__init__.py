"""Authentication and authorization shared by every service: principals, scopes, JWT verification."""

from covenant.auth.principal import (
    DEV_PRINCIPAL,
    DataOwner,
    Principal,
    Scope,
    ScopeFilter,
    authorize,
    can,
    parse_permissions,
    scope_filter,
)
from covenant.auth.tokens import (
    ClientCredentialsTokenSource,
    JwksKeySource,
    StaticKeySource,
    StaticTokenSource,
    TokenSigner,
    TokenSource,
    TokenVerifier,
    generate_signing_key,
    jwks_document,
    public_jwk,
)

__all__ = [
    "DEV_PRINCIPAL",
    "ClientCredentialsTokenSource",
    "DataOwner",
    "JwksKeySource",
    "Principal",
    "Scope",
    "ScopeFilter",
    "StaticKeySource",
    "StaticTokenSource",
    "TokenSigner",
    "TokenSource",
    "TokenVerifier",
    "authorize",
    "can",
    "generate_signing_key",
    "jwks_document",
    "parse_permissions",
    "public_jwk",
    "scope_filter",
]
