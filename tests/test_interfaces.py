"""Tests for gnet.interfaces: the declarations themselves.

Each gnet class is held to its interface in its own module's tests; here we
check that the interfaces are well formed and that verifyObject can use them.
"""

from __future__ import annotations

from typing import Any

import pytest
from zope.interface import Interface, implementer
from zope.interface.exceptions import BrokenMethodImplementation, DoesNotImplement, Invalid
from zope.interface.verify import verifyClass, verifyObject

import gnet
from gnet.interfaces import IEventEmitter, IServer, ISocket
from gnet.naming import snake_case

EMITTER_METHODS = {
    'on',
    'addListener',
    'once',
    'off',
    'removeListener',
    'prependListener',
    'prependOnceListener',
    'removeAllListeners',
    'emit',
    'listeners',
    'rawListeners',
    'listenerCount',
    'eventNames',
    'setMaxListeners',
    'getMaxListeners',
}


def test_hierarchy() -> None:
    assert IEventEmitter.extends(Interface)
    assert IServer.extends(IEventEmitter)
    assert ISocket.extends(IEventEmitter)
    assert not IServer.extends(ISocket)
    assert not ISocket.extends(IServer)


def test_emitter_members() -> None:
    assert set(IEventEmitter.names()) == EMITTER_METHODS


@pytest.mark.parametrize('iface', [IEventEmitter, IServer, ISocket])
def test_every_member_is_documented(iface: Any) -> None:
    assert iface.__doc__
    for name in iface.names(all=True):
        assert iface[name].getDoc(), name


@pytest.mark.parametrize('iface', [IEventEmitter, IServer, ISocket])
def test_only_one_spelling_is_declared(iface: Any) -> None:
    # The snake_case twins come from gnet.naming; declaring them here too
    # would make every class implement each member twice.
    names = set(iface.names(all=True))
    twins = {snake_case(n) for n in names} - {n for n in names if snake_case(n) == n}
    assert not names & twins


def test_socket_attributes_and_methods() -> None:
    sig = ISocket['setKeepAlive'].getSignatureString()
    assert sig == '(enable=False, initialDelay=0, interval=None, count=None)'
    assert ISocket['write'].getSignatureString() == '(data, encoding=None, callback=None)'
    assert '__iter__' in ISocket.names()
    assert 'remoteAddress' in ISocket.names()
    assert not hasattr(ISocket['remoteAddress'], 'getSignatureString')


@implementer(IEventEmitter)
class TinyEmitter:
    """A minimal hand-made emitter, just enough to satisfy the interface."""

    def __init__(self) -> None:
        self._events: dict[Any, list[Any]] = {}
        self._max = 10

    def on(self, eventName: Any, listener: Any = None) -> Any:
        self._events.setdefault(eventName, []).append(listener)
        return self

    addListener = on

    def once(self, eventName: Any, listener: Any = None) -> Any:
        return self.on(eventName, listener)

    def off(self, eventName: Any, listener: Any) -> Any:
        self._events.get(eventName, [listener]).remove(listener)
        return self

    removeListener = off

    def prependListener(self, eventName: Any, listener: Any) -> Any:
        self._events.setdefault(eventName, []).insert(0, listener)
        return self

    prependOnceListener = prependListener

    def removeAllListeners(self, eventName: Any = None) -> Any:
        if eventName is None:
            self._events.clear()
        else:
            self._events.pop(eventName, None)
        return self

    def emit(self, eventName: Any, *args: Any) -> bool:
        listeners = list(self._events.get(eventName, ()))
        for listener in listeners:
            listener(*args)
        return bool(listeners)

    def listeners(self, eventName: Any) -> list[Any]:
        return list(self._events.get(eventName, ()))

    rawListeners = listeners

    def listenerCount(self, eventName: Any, listener: Any = None) -> int:
        found = self._events.get(eventName, [])
        return len(found) if listener is None else found.count(listener)

    def eventNames(self) -> list[Any]:
        return list(self._events)

    def setMaxListeners(self, n: int) -> Any:
        self._max = n
        return self

    def getMaxListeners(self) -> int:
        return self._max


def test_verify_object_accepts_a_hand_made_emitter() -> None:
    emitter = TinyEmitter()
    assert verifyObject(IEventEmitter, emitter)
    assert verifyClass(IEventEmitter, TinyEmitter)
    seen: list[int] = []
    assert emitter.on('x', seen.append).emit('x', 1) is True
    assert seen == [1]


def test_verify_object_rejects_incomplete_emitters() -> None:
    @implementer(IEventEmitter)
    class Missing:
        def on(self, eventName: Any, listener: Any = None) -> None:
            pass

    with pytest.raises(Invalid, match='addListener'):
        verifyObject(IEventEmitter, Missing())
    with pytest.raises(Invalid, match='Does not declaratively implement'):
        verifyObject(IEventEmitter, object())

    class Undeclared:
        pass

    for name in EMITTER_METHODS:
        setattr(Undeclared, name, getattr(TinyEmitter, name))
    with pytest.raises(DoesNotImplement):
        verifyObject(IEventEmitter, Undeclared())
    assert verifyObject(IEventEmitter, Undeclared(), tentative=True)


def test_verify_object_checks_signatures() -> None:
    class WrongSignature(TinyEmitter):
        def emit(self, eventName: Any) -> bool:
            return False

    with pytest.raises(BrokenMethodImplementation):
        verifyObject(IEventEmitter, WrongSignature())


def test_the_public_classes_declare_their_interfaces() -> None:
    # Declared on the class itself (not, say, on a metaclass), and complete.
    from gnet.interfaces import IProxyProtocolSocket

    assert ISocket.implementedBy(gnet.Socket)
    assert IProxyProtocolSocket.implementedBy(gnet.Socket)
    assert IServer.implementedBy(gnet.Server)
    assert verifyClass(ISocket, gnet.Socket)
    assert verifyClass(IServer, gnet.Server)
    sock = gnet.Socket()
    assert verifyObject(ISocket, sock)
    sock.destroy()
