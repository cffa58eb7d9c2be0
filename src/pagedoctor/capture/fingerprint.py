"""Fold a SQL statement into its shape, so that queries differing only in values group together."""

from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

# Django hands drivers "%s" (format) or "%(name)s" (pyformat) placeholders; sqlglot reads "?".
PLACEHOLDER = re.compile(r"%\([^)]+\)s|%s")

_VALUES = {
    TokenType.PLACEHOLDER,
    TokenType.STRING,
    TokenType.NUMBER,
    TokenType.NATIONAL_STRING,
    TokenType.BYTE_STRING,
    TokenType.BIT_STRING,
    TokenType.HEX_STRING,
    TokenType.RAW_STRING,
    TokenType.HEREDOC_STRING,
}

# Django's database vendor names, as sqlglot's dialects.
DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql", "oracle": "oracle"}


def fingerprint(sql: str, vendor: str | None = None) -> str:
    """Return ``sql`` with every value replaced by ``?`` and value lists folded to ``(...)``.

    ``WHERE id IN (%s, %s, %s)`` and ``WHERE id IN (%s)`` have the same fingerprint, and so do
    ``LIMIT 21`` and ``LIMIT 5``: they are the same query shape run with other values.
    """
    return _fingerprint(sql, DIALECTS.get(vendor or "", ""))


@lru_cache(maxsize=4096)
def _fingerprint(sql: str, dialect: str) -> str:
    text = PLACEHOLDER.sub("?", sql)
    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect or None).tokenize(text)
    except SqlglotError:
        return _fallback(text)
    return _join(_fold(tokens))


def _join(words: list[str]) -> str:
    """Join tokens with the spacing people write SQL with: ``a.b``, ``f(x)``, ``a, b``."""
    out: list[str] = []
    for word in words:
        if out and not (word in (".", ",", ")") or out[-1] in (".", "(")):
            out.append(" ")
        out.append(word)
    return "".join(out)


def _fold(tokens: list[Token]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.token_type == TokenType.L_PAREN:
            end = _value_list_end(tokens, i)
            if end is not None:
                if (out and out[-1] == "(...)") or (out[-2:-1] == ["(...)"] and out[-1] == ","):
                    # VALUES (?, ?), (?, ?): one group of values stands for them all.
                    if out[-1] == ",":
                        out.pop()
                else:
                    out.append("(...)")
                i = end + 1
                continue
        if token.token_type in _VALUES:
            out.append("?")
        elif token.token_type in (TokenType.IDENTIFIER, TokenType.VAR):
            out.append(token.text.lower())
        else:
            out.append(token.text.upper())
        i += 1
    return out


def _value_list_end(tokens: list[Token], start: int) -> int | None:
    """Return the index of the ``)`` closing a list of bare values opened at ``start``."""
    i = start + 1
    expect_value = True
    while i < len(tokens):
        kind = tokens[i].token_type
        if expect_value and kind in _VALUES:
            expect_value = False
        elif not expect_value and kind == TokenType.COMMA:
            expect_value = True
        elif not expect_value and kind == TokenType.R_PAREN:
            return i
        else:
            return None
        i += 1
    return None


_FALLBACK_VALUES = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b|\?")
_FALLBACK_LISTS = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")


def _fallback(text: str) -> str:
    """Fold values with regular expressions, for SQL that sqlglot cannot tokenize."""
    folded = _FALLBACK_LISTS.sub("(...)", _FALLBACK_VALUES.sub("?", text))
    return " ".join(folded.split())
