"""gnet: Node.js's ``net`` module for Python, on gevent.

``import gnet as net`` and write Node's ``net`` code: ``net.createServer``,
``net.createConnection``, ``server.listen``, ``socket.on('data', ...)``.
Every camelCase name also answers to its PEP 8 spelling.
"""

from gnet import errors as errors
from gnet import events as events
from gnet import interfaces as interfaces
from gnet.addresses import (
    isIP as isIP,
)
from gnet.addresses import (
    isIPv4 as isIPv4,
)
from gnet.addresses import (
    isIPv6 as isIPv6,
)
from gnet.events import (
    EventEmitter as EventEmitter,
)
from gnet.loop import (
    Timeout as Timeout,
)
from gnet.loop import (
    clearInterval as clearInterval,
)
from gnet.loop import (
    clearTimeout as clearTimeout,
)
from gnet.loop import (
    refCount as refCount,
)
from gnet.loop import (
    run as run,
)
from gnet.loop import (
    setImmediate as setImmediate,
)
from gnet.loop import (
    setInterval as setInterval,
)
from gnet.loop import (
    setTimeout as setTimeout,
)
from gnet.naming import add_aliases, fix_module, module_aliases
from gnet.server import (
    Server as Server,
)
from gnet.server import (
    createServer as createServer,
)
from gnet.socket import (
    Socket as Socket,
)
from gnet.socket import (
    connect as connect,
)
from gnet.socket import (
    createConnection as createConnection,
)
from gnet.socket import (
    getDefaultAutoSelectFamily as getDefaultAutoSelectFamily,
)
from gnet.socket import (
    getDefaultAutoSelectFamilyAttemptTimeout as getDefaultAutoSelectFamilyAttemptTimeout,
)
from gnet.socket import (
    getDefaultHighWaterMark as getDefaultHighWaterMark,
)
from gnet.socket import (
    setDefaultAutoSelectFamily as setDefaultAutoSelectFamily,
)
from gnet.socket import (
    setDefaultAutoSelectFamilyAttemptTimeout as setDefaultAutoSelectFamilyAttemptTimeout,
)
from gnet.socket import (
    setDefaultHighWaterMark as setDefaultHighWaterMark,
)
from gnet.stream import (
    pipeline as pipeline,
)

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
    "errors",
    "events",
    "interfaces",
)

del add_aliases, fix_module, module_aliases
