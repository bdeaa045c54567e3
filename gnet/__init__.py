"""gnet: Node.js's ``net`` module for Python, on gevent.

``import gnet as net`` and write Node's ``net`` code: ``net.createServer``,
``net.createConnection``, ``server.listen``, ``socket.on('data', ...)``.
Every camelCase name also answers to its PEP 8 spelling.
"""

from gnet import (
    dgram as dgram,
    errors as errors,
    events as events,
    interfaces as interfaces,
)
from gnet.abort import AbortController as AbortController, AbortSignal as AbortSignal
from gnet.addresses import isIP as isIP, isIPv4 as isIPv4, isIPv6 as isIPv6
from gnet.blocklist import BlockList as BlockList, SocketAddress as SocketAddress
from gnet.connector import (
    getDefaultAutoSelectFamily as getDefaultAutoSelectFamily,
    getDefaultAutoSelectFamilyAttemptTimeout as getDefaultAutoSelectFamilyAttemptTimeout,
    setDefaultAutoSelectFamily as setDefaultAutoSelectFamily,
    setDefaultAutoSelectFamilyAttemptTimeout as setDefaultAutoSelectFamilyAttemptTimeout,
)
from gnet.events import EventEmitter as EventEmitter
from gnet.loop import (
    Timeout as Timeout,
    clearInterval as clearInterval,
    clearTimeout as clearTimeout,
    refCount as refCount,
    run as run,
    setImmediate as setImmediate,
    setInterval as setInterval,
    setTimeout as setTimeout,
)
from gnet.naming import add_aliases, fix_module, module_aliases
from gnet.server import Server as Server, createServer as createServer
from gnet.socket import (
    Socket as Socket,
    connect as connect,
    createConnection as createConnection,
    getDefaultHighWaterMark as getDefaultHighWaterMark,
    setDefaultHighWaterMark as setDefaultHighWaterMark,
)
from gnet.stream import pipeline as pipeline

__version__ = "0.1.0"

_public = (
    "AbortController",
    "AbortSignal",
    "BlockList",
    "EventEmitter",
    "Server",
    "Socket",
    "SocketAddress",
    "Timeout",
    "clearInterval",
    "clearTimeout",
    "connect",
    "createConnection",
    "createServer",
    "getDefaultAutoSelectFamily",
    "getDefaultAutoSelectFamilyAttemptTimeout",
    "getDefaultHighWaterMark",
    "isIP",
    "isIPv4",
    "isIPv6",
    "pipeline",
    "refCount",
    "run",
    "setDefaultAutoSelectFamily",
    "setDefaultAutoSelectFamilyAttemptTimeout",
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
    "dgram",
    "errors",
    "events",
    "interfaces",
)

del add_aliases, fix_module, module_aliases
