"""Node's options objects, spoken in Python: a dict, keyword arguments, or both.

Node passes options as one object; Python code reaches for keyword
arguments. gnet takes either (or both, keywords winning) and accepts every
key in Node's camelCase or in its PEP 8 spelling. Unknown *keyword
arguments* are rejected, because in Python a misspelt keyword is a bug;
unknown keys in an options *dict* are ignored, as Node ignores them, so
option objects ported from Node keep working. A key that Node documents for
the call but gnet does not implement is never ignored: it raises
``UnsupportedError`` (``ERR_GNET_UNSUPPORTED``) naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gnet.errors import InvalidArgTypeError, InvalidArgValueError, UnsupportedError
from gnet.naming import snake_case

__all__ = ("merge_options",)

_spellings: dict[frozenset[str], dict[str, str]] = {}


def _spelling_map(known: frozenset[str]) -> dict[str, str]:
    table = _spellings.get(known)
    if table is None:
        table = {}
        for key in known:
            table[key] = key
            table[snake_case(key)] = key
        _spellings[known] = table
    return table


def merge_options(
    options: object,
    kwargs: Mapping[str, Any],
    known: Iterable[str],
    name: str = "options",
    unsupported: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Merge a Node options dict and keyword arguments into one camelCase dict.

    Args:
        options: the options object (a dict) or None.
        kwargs: keyword arguments given by the caller.
        known: the option names the caller understands, in camelCase.
        name: the argument's name, for error messages.
        unsupported: options Node documents for this call that gnet lacks,
            each with what to do instead.

    Raises:
        InvalidArgTypeError: ``options`` is neither a dict nor None.
        InvalidArgValueError: a keyword argument is not a known option.
        UnsupportedError: an ``unsupported`` option was given (and not None).
    """
    table = _spelling_map(frozenset(known) | frozenset(unsupported or ()))
    merged: dict[str, Any] = {}
    if options is not None:
        if not isinstance(options, Mapping):
            raise InvalidArgTypeError(name, "dict", options)
        for key, value in options.items():
            merged[table.get(key, key) if isinstance(key, str) else key] = value
    for key, value in kwargs.items():
        canonical = table.get(key)
        if canonical is None:
            raise InvalidArgValueError(key, value, "is not a known option")
        merged[canonical] = value
    if unsupported:
        for key, instead in unsupported.items():
            if merged.get(key) is not None:
                raise UnsupportedError(f"{name}.{key}", instead)
    return merged
