"""The PEP 8 alias mechanism: every public camelCase name gets a snake_case twin.

gnet's API is spelled as Node spells it (``createServer``, ``setEncoding``,
``bytesRead``), and every such name also answers to its PEP 8 spelling
(``create_server``, ``set_encoding``, ``bytes_read``). This module is the one
place those twins are made; nobody writes an alias by hand.

* :func:`snake_case` turns one name into its twin. Acronyms stay one word:
  ``isIPv4`` -> ``is_ipv4``, ``isIP`` -> ``is_ip``.
* :func:`add_aliases` gives a class's camelCase methods, properties and class
  data their twins. ``gnet.events.EventEmitter`` calls it from
  ``__init_subclass__``, so every subclass, a user's included, is covered.
* :func:`module_aliases` does the same for a module's functions.
* :func:`fix_module` rewrites ``__module__`` so ``help()`` and reprs say
  ``gnet.Socket`` rather than ``gnet.socket.Socket`` (trio's
  ``fixup_module_metadata`` idea).

A name counts as camelCase when it starts with a lowercase letter and holds a
capital; ``Socket`` (a class), ``AF_INET`` (a constant) and ``_private`` names
are never aliased.

Type checkers do not run this code. For them, each class and module with
twins ends with an ``if TYPE_CHECKING:`` block that declares them
(``set_encoding = setEncoding``), generated from what this module made by
``python -m gnet._twins`` and held current by a test; see :mod:`gnet._twins`.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Iterable, MutableMapping
from typing import Any, TypeVar

__all__ = ('add_aliases', 'fix_module', 'module_aliases', 'snake_case')

_T = TypeVar('_T', bound=type)

# One word of a camelCase name, tried in this order:
# 1. a capital run followed by 'v' and a version ('IPv4', 'TLSv1'): Node writes
#    IP versions this way, and splitting before the lowercase 'v' would tear
#    'IPv4' into 'I' + 'Pv4';
# 2. a capital run (digits allowed) not followed by a lowercase letter, so the
#    last capital of 'HTTPServer' starts the next word: 'HTTP' + 'Server';
# 3. an ordinary word: an optional capital, then lowercase letters and digits.
_WORD = re.compile(r'[A-Z]{2,}v\d+|[A-Z][A-Z0-9]*(?![a-z])|[A-Z]?[a-z0-9]+')


@functools.cache
def snake_case(name: str) -> str:
    """Return the PEP 8 (snake_case) spelling of a camelCase name.

    Acronyms stay one word, and a name without capitals comes back unchanged.
    Leading underscores are kept. The result is cached, since the same names
    are converted for every class that defines them.

    Examples: ``createServer`` -> ``create_server``, ``isIPv4`` -> ``is_ipv4``,
    ``isIP`` -> ``is_ip``, ``readableHighWaterMark`` ->
    ``readable_high_water_mark``, ``set_encoding`` -> ``set_encoding``.

    Args:
        name: An identifier.

    Returns:
        The snake_case spelling of ``name``.
    """
    if name.lower() == name:
        return name
    stripped = name.lstrip('_')
    prefix = name[: len(name) - len(stripped)]
    parts = []
    for part in stripped.split('_'):
        words = _WORD.findall(part)
        # A character the word pattern does not know (none in a Python
        # identifier made of ASCII letters, digits and '_') must not vanish.
        if ''.join(words) != part:
            parts.append(part.lower())
        else:
            parts.append('_'.join(words).lower())
    return prefix + '_'.join(parts)


def _is_camel(name: str) -> bool:
    # Public, starts lowercase, holds a capital: 'setEncoding' yes; 'Socket',
    # 'AF_INET', '_fooBar', 'listen' no.
    return name[:1].islower() and not name.islower()


class _DataAlias:
    """The snake_case twin of a camelCase class data attribute.

    Reads and writes through the twin reach the camelCase attribute, on an
    instance or (reads only) on the class, so ``emitter.default_max_listeners``
    and ``emitter.defaultMaxListeners`` never disagree. Assigning on the class
    itself must use the camelCase name: ``Cls.snake_name = v`` replaces this
    descriptor instead of passing through it.
    """

    __slots__ = ('target',)

    def __init__(self, target: str) -> None:
        self.target = target

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return getattr(owner, self.target)
        return getattr(obj, self.target)

    def __set__(self, obj: object, value: Any) -> None:
        setattr(obj, self.target, value)

    def __delete__(self, obj: object) -> None:
        delattr(obj, self.target)

    def __repr__(self) -> str:
        return f'<alias of {self.target!r}>'


def _is_routine(value: object) -> bool:
    # Functions, classmethods, staticmethods, properties and other descriptors
    # behave the same under any name, so both spellings can share the object.
    # Anything else is plain data, which needs a forwarding twin so a write
    # through one name is seen through the other.
    return hasattr(type(value), '__get__')


def _link(cls: type, camel: str, snake: str) -> None:
    ns = cls.__dict__
    if camel in ns and snake not in ns:
        source, winner = ns[camel], camel
    else:
        source, winner = ns[snake], snake
        if camel in ns:
            current = ns[camel]
            if current is source:
                return
            if isinstance(source, _DataAlias) and source.target == camel:
                return
    if isinstance(source, _DataAlias):
        return
    if isinstance(source, types.MemberDescriptorType):
        # A public slot ('bytesRead'): the member descriptor reads and writes
        # the same slot under any name, so the twin shares it.
        if winner == camel:
            setattr(cls, snake, source)
        return
    if _is_routine(source):
        setattr(cls, snake if winner == camel else camel, source)
        return
    # Plain data lives under the camelCase name; the snake name forwards to it.
    if winner == snake:
        setattr(cls, camel, source)
    setattr(cls, snake, _DataAlias(camel))


def add_aliases(cls: _T) -> _T:
    """Give every public camelCase name defined in ``cls`` its snake_case twin.

    Only ``cls.__dict__`` is walked: each base gets its own aliases when it is
    itself passed here (``EventEmitter.__init_subclass__`` does that for every
    subclass). For each camelCase name:

    * a method, classmethod, staticmethod, property or other descriptor is
      shared: both names hold the same object;
    * plain class data (``defaultMaxListeners = 10``) stays under the
      camelCase name, and the snake name becomes a forwarding descriptor, so
      reading or writing either name on an instance reads or writes the same
      value. Assigning on the class itself must use the camelCase name;
    * if ``cls`` defines the snake twin itself, that definition wins and the
      camelCase name is pointed at it. This also holds when only the snake
      spelling is defined in ``cls`` and the camelCase one is inherited, so a
      subclass may override either spelling (``set_encoding`` or
      ``setEncoding``) and both names follow.

    A public camelCase slot shares its member descriptor with its twin, so
    ``sock.bytes_read`` reads the ``bytesRead`` slot. The call is idempotent.

    Args:
        cls: The class to complete. It is changed in place.

    Returns:
        ``cls``, so this works as a class decorator.
    """
    ns = cls.__dict__
    inherited: dict[str, str] = {}
    for base in cls.__mro__[:0:-1]:
        if base is object:
            continue
        for name in base.__dict__:
            if _is_camel(name):
                inherited[snake_case(name)] = name
    for name in tuple(ns):
        if _is_camel(name):
            _link(cls, name, snake_case(name))
        elif name in inherited and inherited[name] not in ns:
            _link(cls, inherited[name], name)
    return cls


def module_aliases(namespace: MutableMapping[str, Any], names: Iterable[str]) -> tuple[str, ...]:
    """Add the snake_case twins of a module's camelCase names.

    Meant for functions (``createServer`` -> ``create_server``): the twin is
    bound to the same object at call time, so rebinding one module name later
    does not rebind the other. Names that are not camelCase (``Socket``,
    ``run``) and twins the module already defines are left alone.

    Typical use, at the end of a module::

        __all__ = _names + module_aliases(globals(), _names)

    Args:
        namespace: The module's globals.
        names: The public names to alias.

    Returns:
        The alias names added, in the order of ``names``.
    """
    added = []
    for name in names:
        if not _is_camel(name):
            continue
        twin = snake_case(name)
        if twin not in namespace:
            namespace[twin] = namespace[name]
            added.append(twin)
    return tuple(added)


def fix_module(module_name: str, namespace: MutableMapping[str, Any], names: Iterable[str]) -> None:
    """Make public classes and functions report the package as their module.

    Sets ``__module__`` to ``module_name`` on each listed class or function
    defined in one of its submodules (``gnet.socket.Socket`` becomes
    ``gnet.Socket`` in ``help()`` and reprs), and on the functions a listed
    class defines in its body. ``__name__`` and ``__qualname__`` are kept, so
    methods still read ``Socket.write`` and an alias such as ``create_server``
    still names its function ``createServer``. Objects from outside the
    package (re-exported gevent or stdlib names) are not touched.

    Args:
        module_name: The package name users import, e.g. ``'gnet'``.
        namespace: The package's globals.
        names: The public names whose objects to fix.
    """
    prefix = module_name + '.'
    seen: set[int] = set()
    for name in names:
        obj = namespace[name]
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        old = getattr(obj, '__module__', None)
        if not (isinstance(obj, type) or callable(obj)) or not isinstance(old, str):
            continue
        if not old.startswith(prefix):
            continue
        if isinstance(obj, type):
            _fix_members(obj, old, module_name)
        obj.__module__ = module_name


def _fix_members(cls: type, old: str, module_name: str) -> None:
    # Only what the class body itself defined: inherited and aliased-in
    # functions from other classes keep their own module.
    qualprefix = cls.__qualname__ + '.'
    for value in cls.__dict__.values():
        if isinstance(value, property):
            funcs: tuple[object, ...] = (value.fget, value.fset, value.fdel)
        else:
            funcs = (getattr(value, '__func__', value),)
        for func in funcs:
            if (
                isinstance(func, types.FunctionType)
                and func.__module__ == old
                and func.__qualname__.startswith(qualprefix)
            ):
                func.__module__ = module_name
