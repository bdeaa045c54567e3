"""Generic argument checks, Node's ``internal/validators`` for gnet.

Each check returns the value it accepted (normalised where said) or raises
the argument error Node would throw, with a message naming the argument.
Numbers are ``int`` and ``float``; ``bool`` is never a number here, although
Python counts it as an ``int``, because Node's ``typeof true`` is not
``'number'`` and a port of ``True`` is a bug.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

from gnet.errors import InvalidArgTypeError, OutOfRangeError

__all__ = (
    'validate_function',
    'validate_number',
    'validate_timeout',
    'validate_int',
    'validate_bool',
    'validate_string',
)

_F = Callable[..., Any]


def validate_function(value: object, name: str) -> _F:
    """Check that ``value`` is callable (Node's ``validateFunction``).

    Args:
        value: The value to check.
        name: The argument's name, for the message.

    Returns:
        ``value``.

    Raises:
        InvalidArgTypeError: ``value`` is not callable.
    """
    if not callable(value):
        raise InvalidArgTypeError(name, 'function', value)
    return value


def _range_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f'>= {minimum} && <= {maximum}'
    if minimum is not None:
        return f'>= {minimum}'
    if maximum is not None:
        return f'<= {maximum}'
    return 'a finite number'


# An int beyond this has no float: it is Node's Infinity, spelt in Python.
_FLOAT_MAX = int(sys.float_info.max)


def validate_number(value: object, name: str, minimum: float | None = None,
                    maximum: float | None = None) -> int | float:
    """Check that ``value`` is a finite number in range (``validateNumber``).

    Difference from Node: NaN and infinities are refused even without
    bounds, since no gnet argument means anything by them.

    Args:
        value: The value to check.
        name: The argument's name, for the message.
        minimum: The smallest value allowed, if any.
        maximum: The largest value allowed, if any.

    Returns:
        ``value``, unchanged.

    Raises:
        InvalidArgTypeError: ``value`` is not an ``int`` or ``float`` (a
            ``bool`` is not a number).
        OutOfRangeError: ``value`` is NaN, infinite or out of bounds.
    """
    if value.__class__ is bool or not isinstance(value, (int, float)):
        raise InvalidArgTypeError(name, 'int or float', value)
    if ((not math.isfinite(value) if isinstance(value, float) else abs(value) > _FLOAT_MAX)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)):
        raise OutOfRangeError(name, _range_text(minimum, maximum), value)
    return value


def validate_timeout(value: object, name: str = 'msecs') -> float:
    """Check a delay in milliseconds the way Node's ``setTimeout`` does.

    Node's ``getTimerDuration``. Difference from Node: a delay above
    2**31 - 1 ms is kept as given, where Node warns and clamps it.

    Args:
        value: The delay in milliseconds; 0 means "disabled" to the caller.
        name: The argument's name, for the message.

    Returns:
        The delay as a ``float``.

    Raises:
        InvalidArgTypeError: ``value`` is not an ``int`` or ``float``.
        OutOfRangeError: ``value`` is negative, NaN or infinite.
    """
    if value.__class__ is bool or not isinstance(value, (int, float)):
        raise InvalidArgTypeError(name, 'int or float', value)
    if not value >= 0 or value == math.inf or (isinstance(value, int) and value > _FLOAT_MAX):
        raise OutOfRangeError(name, 'a non-negative finite number', value)
    return float(value)


def validate_int(value: object, name: str, minimum: int | None = None,
                 maximum: int | None = None) -> int:
    """Check that ``value`` is an integer in range (``validateInteger``).

    As in Node, where every number is a double, an integral ``float``
    (``5.0``) counts as an integer.

    Args:
        value: The value to check.
        name: The argument's name, for the message.
        minimum: The smallest value allowed, if any.
        maximum: The largest value allowed, if any.

    Returns:
        ``value`` as an ``int``.

    Raises:
        InvalidArgTypeError: ``value`` is not an ``int`` or ``float``.
        OutOfRangeError: ``value`` is not integral (NaN and infinities
            included) or is out of bounds.
    """
    if value.__class__ is bool or not isinstance(value, (int, float)):
        raise InvalidArgTypeError(name, 'int', value)
    if isinstance(value, float):
        if not value.is_integer():
            raise OutOfRangeError(name, 'an integer', value)
        value = int(value)
    if ((minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)):
        raise OutOfRangeError(name, _range_text(minimum, maximum), value)
    return int(value)


def validate_bool(value: object, name: str) -> bool:
    """Check that ``value`` is a ``bool`` (Node's ``validateBoolean``).

    Args:
        value: The value to check.
        name: The argument's name, for the message.

    Returns:
        ``value``.

    Raises:
        InvalidArgTypeError: ``value`` is not ``True`` or ``False``.
    """
    if value is not True and value is not False:
        raise InvalidArgTypeError(name, 'bool', value)
    return value


def validate_string(value: object, name: str) -> str:
    """Check that ``value`` is a ``str`` (Node's ``validateString``).

    Args:
        value: The value to check.
        name: The argument's name, for the message.

    Returns:
        ``value``.

    Raises:
        InvalidArgTypeError: ``value`` is not a ``str``.
    """
    if not isinstance(value, str):
        raise InvalidArgTypeError(name, 'str', value)
    return value
