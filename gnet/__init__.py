"""gnet: Node.js's ``net`` module for Python, on gevent.

``import gnet as net`` and write Node's ``net`` code: ``net.createServer``,
``net.createConnection``, ``server.listen``, ``socket.on('data', ...)``.
Every camelCase name also answers to its PEP 8 spelling.
"""

from gnet import errors, events, interfaces
from gnet.addresses import isIP, isIPv4, isIPv6
from gnet.events import EventEmitter
from gnet.loop import (
    Timeout,
    clearInterval,
    clearTimeout,
    refCount,
    run,
    setImmediate,
    setInterval,
    setTimeout,
)
from gnet.naming import add_aliases, fix_module, module_aliases
from gnet.server import Server, createServer
from gnet.socket import (
    Socket,
    connect,
    createConnection,
    getDefaultHighWaterMark,
    setDefaultHighWaterMark,
)
from gnet.stream import pipeline

__version__ = "0.1.0"

_public = (
    "EventEmitter",
    "Server",
    "Socket",
    "Timeout",
    "clearInterval",
    "clearTimeout",
    "connect",
    "createConnection",
    "createServer",
    "getDefaultHighWaterMark",
    "isIP",
    "isIPv4",
    "isIPv6",
    "pipeline",
    "refCount",
    "run",
    "setDefaultHighWaterMark",
    "setImmediate",
    "setInterval",
    "setTimeout",
)

add_aliases(Timeout)
fix_module("gnet", globals(), _public)

__all__ = (
    *_public,
    *module_aliases(globals(), _public),
    "errors",
    "events",
    "interfaces",
)

del add_aliases, fix_module, module_aliases
