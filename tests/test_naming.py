"""Tests for gnet.naming: snake_case, add_aliases, module_aliases, fix_module."""

from __future__ import annotations

import pickle
import sys
import types
from collections.abc import Iterator

import pytest

from gnet.naming import add_aliases, fix_module, module_aliases, snake_case


@pytest.mark.parametrize(
    ('camel', 'snake'),
    [
        ('isIPv4', 'is_ipv4'),
        ('isIPv6', 'is_ipv6'),
        ('isIP', 'is_ip'),
        ('remoteAddress', 'remote_address'),
        (
            'getDefaultAutoSelectFamilyAttemptTimeout',
            'get_default_auto_select_family_attempt_timeout',
        ),
        ('getDefaultAutoSelectFamily', 'get_default_auto_select_family'),
        ('setKeepAlive', 'set_keep_alive'),
        ('destroySoon', 'destroy_soon'),
        ('maxConnections', 'max_connections'),
        ('readableHighWaterMark', 'readable_high_water_mark'),
        ('createConnection', 'create_connection'),
        ('createServer', 'create_server'),
        ('setNoDelay', 'set_no_delay'),
        ('bytesRead', 'bytes_read'),
        ('resetAndDestroy', 'reset_and_destroy'),
        ('closeAllConnections', 'close_all_connections'),
        ('ipv6Only', 'ipv6_only'),
        ('getIPv4Address', 'get_ipv4_address'),
        ('HTTPServer', 'http_server'),
        ('getUTF8', 'get_utf8'),
        ('_privateName', '_private_name'),
        ('mixed_snakeAndCamel', 'mixed_snake_and_camel'),
    ],
)
def test_snake_case(camel: str, snake: str) -> None:
    assert snake_case(camel) == snake


@pytest.mark.parametrize(
    'name', ['listen', 'set_encoding', 'utf16le', '_events', '__init__', 'x', '']
)
def test_snake_case_leaves_lower_names_alone(name: str) -> None:
    assert snake_case(name) == name


def test_methods_get_the_same_object() -> None:
    @add_aliases
    class C:
        def setEncoding(self, enc: str) -> str:
            return enc

        def listen(self) -> None:
            pass

    assert C.__dict__['set_encoding'] is C.__dict__['setEncoding']
    assert C().set_encoding('hex') == 'hex'
    assert 'listen' in C.__dict__


def test_private_dunder_and_non_camel_names_are_not_aliased() -> None:
    @add_aliases
    class C:
        _fooBar = 1
        AF_INET = 2
        Nested = int

        def _doThing(self) -> None:
            pass

    names = set(C.__dict__)
    assert not names & {'_foo_bar', 'af_inet', 'nested', '_do_thing'}


def test_subclass_overriding_snake_spelling_changes_camel() -> None:
    @add_aliases
    class Base:
        def setEncoding(self) -> str:
            return 'base'

    @add_aliases
    class Sub(Base):
        def set_encoding(self) -> str:
            return 'sub'

    assert Sub().setEncoding() == 'sub'
    assert Sub().set_encoding() == 'sub'
    assert Base().set_encoding() == 'base'


def test_subclass_overriding_camel_spelling_changes_snake() -> None:
    @add_aliases
    class Base:
        def setEncoding(self) -> str:
            return 'base'

    @add_aliases
    class Sub(Base):
        def setEncoding(self) -> str:
            return 'sub'

    assert Sub().set_encoding() == 'sub'
    assert Base().set_encoding() == 'base'


def test_both_spellings_defined_differently_snake_wins() -> None:
    @add_aliases
    class C:
        def setEncoding(self) -> str:
            return 'camel'

        def set_encoding(self) -> str:
            return 'snake'

    assert C().setEncoding() == 'snake'


def test_override_of_unprocessed_base_camel_name() -> None:
    class Base:
        def getThing(self) -> str:
            return 'base'

    @add_aliases
    class Sub(Base):
        def get_thing(self) -> str:
            return 'sub'

    assert Sub().getThing() == 'sub'


def test_init_subclass_hook_covers_user_subclasses() -> None:
    class Emitterish:
        def __init_subclass__(cls, **kwargs: object) -> None:
            super().__init_subclass__(**kwargs)
            add_aliases(cls)

        def setMaxListeners(self, n: int) -> str:
            return f'base {n}'

    add_aliases(Emitterish)

    class User(Emitterish):
        def set_max_listeners(self, n: int) -> str:
            return f'user {n}'

    class User2(User):
        def setMaxListeners(self, n: int) -> str:
            return f'user2 {n}'

    assert Emitterish().set_max_listeners(1) == 'base 1'
    assert User().setMaxListeners(2) == 'user 2'
    assert User2().set_max_listeners(3) == 'user2 3'


def test_property_get_and_set_through_both_names() -> None:
    @add_aliases
    class C:
        def __init__(self) -> None:
            self._n = 0

        @property
        def maxConnections(self) -> int:
            return self._n

        @maxConnections.setter
        def maxConnections(self, value: int) -> None:
            self._n = value

    c = C()
    c.max_connections = 5
    assert c.maxConnections == 5
    c.maxConnections = 7
    assert c.max_connections == 7
    assert C.__dict__['max_connections'] is C.__dict__['maxConnections']


def test_property_overridden_by_snake_name_in_subclass() -> None:
    @add_aliases
    class Base:
        @property
        def bytesRead(self) -> int:
            return 1

    @add_aliases
    class Sub(Base):
        @property
        def bytes_read(self) -> int:
            return 2

    assert Sub().bytesRead == 2
    assert Base().bytes_read == 1


def test_classmethod_and_staticmethod() -> None:
    @add_aliases
    class C:
        @classmethod
        def fromName(cls, name: str) -> tuple[type, str]:
            return cls, name

        @staticmethod
        def isIP(value: str) -> int:
            return 4 if value == '1.2.3.4' else 0

    class D(C):
        pass

    assert C.from_name('x') == (C, 'x')
    assert D.from_name('y') == (D, 'y')
    assert C.is_ip('1.2.3.4') == 4
    assert C().is_ip('nope') == 0


def test_class_data_forwarding_descriptor() -> None:
    @add_aliases
    class C:
        defaultMaxListeners = 10

    # Reading on the class and on an instance goes to the camelCase value.
    assert C.default_max_listeners == 10
    c = C()
    assert c.default_max_listeners == 10

    # Writing the snake name on an instance writes the camelCase attribute.
    c.default_max_listeners = 3
    assert c.defaultMaxListeners == 3
    assert c.__dict__ == {'defaultMaxListeners': 3}
    c.defaultMaxListeners = 4
    assert c.default_max_listeners == 4
    del c.default_max_listeners
    assert c.defaultMaxListeners == 10

    # Assigning on the class goes through the camelCase name.
    C.defaultMaxListeners = 20
    assert C.default_max_listeners == 20
    assert C().default_max_listeners == 20


def test_class_data_overridden_in_subclass_by_either_name() -> None:
    @add_aliases
    class Base:
        defaultMaxListeners = 10

    @add_aliases
    class ByCamel(Base):
        defaultMaxListeners = 1

    @add_aliases
    class BySnake(Base):
        default_max_listeners = 2

    assert ByCamel.default_max_listeners == 1
    assert ByCamel().default_max_listeners == 1
    assert BySnake.defaultMaxListeners == 2
    assert BySnake().default_max_listeners == 2
    obj = BySnake()
    obj.default_max_listeners = 5
    assert obj.defaultMaxListeners == 5
    assert Base.default_max_listeners == 10


def test_slots_class() -> None:
    @add_aliases
    class Base:
        __slots__ = ('_events', 'publicSlot')
        defaultMaxListeners = 10

        def __init__(self) -> None:
            self._events: dict[str, list[object]] = {}
            self.publicSlot = 1

        def addListener(self, name: str) -> str:
            return name

        @property
        def listenerTotal(self) -> int:
            return len(self._events)

    class Sub(Base):
        __slots__ = ('extraField',)

    add_aliases(Sub)
    s = Sub()
    assert s.add_listener('x') == 'x'
    assert s.listener_total == 0
    assert s.default_max_listeners == 10
    assert not hasattr(s, '__dict__')
    # A public camelCase slot shares its member descriptor with its twin.
    assert isinstance(Base.__dict__['publicSlot'], types.MemberDescriptorType)
    assert Base.__dict__['public_slot'] is Base.__dict__['publicSlot']
    assert Sub.__dict__['extra_field'] is Sub.__dict__['extraField']
    s.extra_field = 5
    assert s.extraField == 5
    # Writing class data through an instance fails the same way under both names.
    with pytest.raises(AttributeError):
        s.defaultMaxListeners = 1
    with pytest.raises(AttributeError):
        s.default_max_listeners = 1


def test_idempotent() -> None:
    @add_aliases
    class Base:
        defaultMaxListeners = 10

        def setEncoding(self) -> str:
            return 'base'

        @property
        def bytesRead(self) -> int:
            return 0

    @add_aliases
    class Sub(Base):
        default_max_listeners = 3

        def set_encoding(self) -> str:
            return 'sub'

    before = {cls: dict(cls.__dict__) for cls in (Base, Sub)}
    for _ in range(3):
        add_aliases(Base)
        add_aliases(Sub)
    for cls in (Base, Sub):
        after = dict(cls.__dict__)
        assert after.keys() == before[cls].keys()
        assert all(after[k] is before[cls][k] for k in after)
    assert Sub().setEncoding() == 'sub'
    assert Sub.defaultMaxListeners == 3


def test_add_aliases_returns_the_class() -> None:
    class C:
        pass

    assert add_aliases(C) is C


def test_module_aliases() -> None:
    def createServer() -> str:
        return 'server'

    def isIPv4() -> bool:
        return True

    def run() -> None:
        pass

    class Socket:
        pass

    def already() -> str:
        return 'mine'

    namespace: dict[str, object] = {
        'createServer': createServer,
        'isIPv4': isIPv4,
        'run': run,
        'Socket': Socket,
        'getThing': createServer,
        'get_thing': already,
    }
    added = module_aliases(namespace, ('createServer', 'isIPv4', 'run', 'Socket', 'getThing'))
    assert added == ('create_server', 'is_ipv4')
    assert namespace['create_server'] is createServer
    assert namespace['is_ipv4'] is isIPv4
    assert namespace['get_thing'] is already
    assert 'socket' not in namespace
    assert module_aliases(namespace, ('createServer',)) == ()


@pytest.fixture
def fake_package() -> Iterator[types.ModuleType]:
    """A module 'fakepkg.sub' holding a class and a function, registered in sys.modules."""
    sub = types.ModuleType('fakepkg.sub')
    source = '''
class Thing:
    def doIt(self):
        raise RuntimeError('boom')

    @property
    def size(self):
        return 1

    @classmethod
    def make(cls):
        return cls()

def createThing():
    return Thing()

Thing.maker = createThing
'''
    exec(compile(source, '<fakepkg.sub>', 'exec'), sub.__dict__)
    pkg = types.ModuleType('fakepkg')
    sys.modules['fakepkg'] = pkg
    sys.modules['fakepkg.sub'] = sub
    yield sub
    del sys.modules['fakepkg'], sys.modules['fakepkg.sub']


def test_fix_module(fake_package: types.ModuleType) -> None:
    pkg = sys.modules['fakepkg']
    thing, create = fake_package.Thing, fake_package.createThing
    namespace = pkg.__dict__
    namespace.update(Thing=thing, createThing=create, create_thing=create, partial=len)
    fix_module('fakepkg', namespace, ('Thing', 'createThing', 'create_thing', 'partial'))

    assert thing.__module__ == 'fakepkg'
    assert create.__module__ == 'fakepkg'
    assert thing.doIt.__module__ == 'fakepkg'
    assert thing.__dict__['size'].fget.__module__ == 'fakepkg'
    assert thing.__dict__['make'].__func__.__module__ == 'fakepkg'
    # Names and qualnames stay as written.
    assert thing.__qualname__ == 'Thing'
    assert thing.doIt.__qualname__ == 'Thing.doIt'
    assert create.__name__ == 'createThing'
    # Objects from outside the package are left alone.
    assert len.__module__ == 'builtins'
    assert repr(thing).startswith("<class 'fakepkg.Thing'")
    assert pickle.loads(pickle.dumps(thing())).__class__ is thing


def test_fix_module_leaves_functions_the_class_did_not_define(
    fake_package: types.ModuleType,
) -> None:
    namespace = {'Thing': fake_package.Thing}
    fix_module('fakepkg', namespace, ('Thing',))
    assert fake_package.Thing.__module__ == 'fakepkg'
    # A module function stored on the class keeps its module until listed itself.
    assert fake_package.Thing.__dict__['maker'] is fake_package.createThing
    assert fake_package.createThing.__module__ == 'fakepkg.sub'


def test_fix_module_is_idempotent(fake_package: types.ModuleType) -> None:
    namespace = {'Thing': fake_package.Thing}
    fix_module('fakepkg', namespace, ('Thing',))
    fix_module('fakepkg', namespace, ('Thing', 'Thing'))
    assert fake_package.Thing.__module__ == 'fakepkg'
