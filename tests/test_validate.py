"""Tests for gnet.validate: Node's argument checks (numbers, timeouts, functions)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from gnet.errors import InvalidArgTypeError, OutOfRangeError
from gnet.validate import (
    validate_bool,
    validate_function,
    validate_int,
    validate_number,
    validate_string,
    validate_timeout,
)

NAN = float('nan')
INF = float('inf')

# Values that are not numbers to Node (bool included).
NOT_NUMBERS = ['100', '', True, False, None, {}, [], (), b'1', 1j, print, object()]


# --- validate_function -----------------------------------------------------------


@pytest.mark.parametrize('value', [print, len, lambda: None, int, object().__repr__])
def test_validate_function_accepts_callables(value: Any) -> None:
    assert validate_function(value, 'cb') is value


@pytest.mark.parametrize('value', [1, '100', True, None, {}, [], b'', 1.5])
def test_validate_function_refuses_the_rest(value: Any) -> None:
    with pytest.raises(InvalidArgTypeError, match=r'^The "callback" argument must be of type '
                                                  r'function\. Received '):
        validate_function(value, 'callback')


# --- validate_number ---------------------------------------------------------------


@pytest.mark.parametrize(
    ('value', 'minimum', 'maximum'),
    [(0, None, None), (-5, None, None), (1.5, None, None), (0, 0, None), (10, 0, 10),
     (0.5, 0, 1), (-1e300, None, None), (2 ** 100, None, None)],
)
def test_validate_number_accepts(value: float, minimum: float | None,
                                 maximum: float | None) -> None:
    result = validate_number(value, 'n', minimum, maximum)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize('value', NOT_NUMBERS)
def test_validate_number_type(value: Any) -> None:
    with pytest.raises(InvalidArgTypeError,
                       match=r'^The "n" argument must be of type int or float\. Received '):
        validate_number(value, 'n')


@pytest.mark.parametrize(
    ('value', 'minimum', 'maximum', 'range_text'),
    [
        (NAN, None, None, 'a finite number'),
        (INF, None, None, 'a finite number'),
        (-INF, None, None, 'a finite number'),
        (NAN, 0, None, '>= 0'),
        (INF, 0, None, '>= 0'),
        (-1, 0, None, '>= 0'),
        (-0.001, 0, None, '>= 0'),
        (11, None, 10, '<= 10'),
        (11, 0, 10, '>= 0 && <= 10'),
        (-1, 0, 10, '>= 0 && <= 10'),
    ],
)
def test_validate_number_range(value: float, minimum: float | None, maximum: float | None,
                               range_text: str) -> None:
    with pytest.raises(OutOfRangeError) as info:
        validate_number(value, 'n', minimum, maximum)
    assert str(info.value) == (f'The value of "n" is out of range. It must be {range_text}. '
                               f'Received {value!r}')


# --- validate_timeout -----------------------------------------------------------------


@pytest.mark.parametrize('value', [0, 0.001, 1, 1e6, 2 ** 31, 10 ** 12])
def test_timeout_accepts_finite_non_negative_numbers(value: float) -> None:
    result = validate_timeout(value)
    assert result == value
    assert type(result) is float


@pytest.mark.parametrize('value', NOT_NUMBERS)
def test_timeout_of_another_type_is_a_type_error(value: Any) -> None:
    with pytest.raises(InvalidArgTypeError, match=r'^The "msecs" argument must be of type'):
        validate_timeout(value)


@pytest.mark.parametrize('value', [-1, -0.5, -INF, INF, NAN, -(10 ** 30)])
def test_timeout_out_of_range_is_a_range_error(value: float) -> None:
    with pytest.raises(OutOfRangeError, match=r'^The value of "msecs" is out of range. '
                                              r'It must be a non-negative finite number. '):
        validate_timeout(value)


def test_timeout_names_its_argument() -> None:
    with pytest.raises(OutOfRangeError, match='"delay"'):
        validate_timeout(-1, 'delay')


# --- validate_int ------------------------------------------------------------------


@pytest.mark.parametrize(
    ('value', 'expected'),
    [(0, 0), (-3, -3), (5.0, 5), (-0.0, 0), (2 ** 70, 2 ** 70), (1e20, 10 ** 20)],
)
def test_validate_int_accepts(value: float, expected: int) -> None:
    result = validate_int(value, 'fd')
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize('value', NOT_NUMBERS)
def test_validate_int_type(value: Any) -> None:
    with pytest.raises(InvalidArgTypeError, match=r'^The "fd" argument must be of type int\.'):
        validate_int(value, 'fd')


@pytest.mark.parametrize('value', [1.5, NAN, INF, -INF, 1e-9])
def test_validate_int_not_integral(value: float) -> None:
    with pytest.raises(OutOfRangeError, match=r'It must be an integer\. Received'):
        validate_int(value, 'fd')


@pytest.mark.parametrize(
    ('value', 'minimum', 'maximum', 'range_text'),
    [(-1, 0, None, '>= 0'), (-1.0, 0, None, '>= 0'), (3, None, 2, '<= 2'),
     (2 ** 31, 0, 2 ** 31 - 1, '>= 0 && <= 2147483647')],
)
def test_validate_int_range(value: float, minimum: int | None, maximum: int | None,
                            range_text: str) -> None:
    with pytest.raises(OutOfRangeError, match=f'It must be {range_text}. Received'):
        validate_int(value, 'fd', minimum, maximum)


def test_validate_int_bounds_are_inclusive() -> None:
    assert validate_int(0, 'x', 0, 0) == 0
    assert validate_int(65535, 'x', 0, 65535) == 65535


# --- validate_bool / validate_string --------------------------------------------------------


@pytest.mark.parametrize('value', [True, False])
def test_validate_bool_accepts(value: bool) -> None:
    assert validate_bool(value, 'x') is value


@pytest.mark.parametrize('value', [0, 1, 'true', None, [], 1.0])
def test_validate_bool_refuses(value: Any) -> None:
    with pytest.raises(InvalidArgTypeError, match=r'^The "options.noDelay" property must be of '
                                                  r'type bool\. Received '):
        validate_bool(value, 'options.noDelay')


@pytest.mark.parametrize('value', ['', 'x', 'é'])
def test_validate_string_accepts(value: str) -> None:
    assert validate_string(value, 'host') is value


@pytest.mark.parametrize('value', [None, 1, b'x', True, ['x']])
def test_validate_string_refuses(value: Any) -> None:
    with pytest.raises(InvalidArgTypeError, match=r'^The "host" argument must be of type str\.'):
        validate_string(value, 'host')


def test_nan_is_never_accepted_as_a_number() -> None:
    for check in (validate_number, validate_int):
        with pytest.raises(OutOfRangeError):
            check(math.nan, 'x')
