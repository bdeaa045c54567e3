"""Node's ``stream`` module: the classes a user subclasses, ``finished``, ``pipe``, ``pipeline``.

``Readable``, ``Writable``, ``Duplex``, ``Transform`` and ``PassThrough``
are Node's stream classes with Node's hooks and names: a subclass (or the
options ``read``/``write``/``writev``/``final``/``transform``/``flush``/
``destroy``) provides ``_read(size)``, ``_write(chunk, encoding,
callback)``, ``_writev(chunks, callback)``, ``_final(callback)``,
``_transform(chunk, encoding, callback)``, ``_flush(callback)``,
``_destroy(err, callback)``; the stream does the buffering, the
high-water marks, backpressure (``push()`` and ``write()`` return False
past the mark), the events and their order. A line splitter ported from
Node::

    class Lines(Transform):
        def __init__(self):
            super().__init__({'readableObjectMode': True})
            self.tail = ''
        def _transform(self, chunk, encoding, callback):
            *lines, self.tail = (self.tail + chunk.decode()).split('\\n')
            for line in lines:
                self.push(line)
            callback()
        def _flush(self, callback):
            if self.tail:
                self.push(self.tail)
            callback()

``pipe`` is Node's ``readable.pipe``: it moves chunks from a readable to a
writable and honours backpressure (pause the source when ``write()``
returns False, resume on the destination's 'drain'), but, as in Node, it
neither forwards errors nor destroys the other side. ``pipeline`` is
Node's ``stream.pipeline``: it pipes a chain (streams, iterables, generator
functions, a Python binary file at either end) and destroys every stream
when one of them fails or closes early, then calls back once. ``finished``
is Node's ``stream.finished`` (end-of-stream).

Theory of operation
-------------------
The state machine is Node's (``lib/internal/streams``), field by field,
with one change imposed by gnet's execution rule (``dispatch.py``): every
event and every user callback is emitted in a gnet worker greenlet, never
inside the call that caused it. Where Node calls ``process.nextTick`` (or
emits synchronously), a stream here appends the step to its own queue and
schedules itself once; a worker runs the queue in order, so one stream's
events come in Node's order, and a listener that blocks cooperatively
holds back only its own stream. A stream runs its queue in bounded
batches and reads ahead a few ``_read`` calls at a time, then lets the
other streams have their turn, so in a pipeline a chunk travels to the end
(and backpressure to the start) without every buffer on the way filling
up first. The hooks (``_read``, ``_write``...) are
called synchronously as in Node: they are the stream's own code, not
events. In flowing mode 'data' is emitted from the queue one chunk at a
time, so a ``pause()`` from a 'data' listener (``pipe()``'s backpressure)
stops the very next chunk, as in Node.

``gnet.Socket`` (and ``gnet.tls.TLSSocket``) are registered as
:class:`Duplex`, ``gnet.process.stdin`` as :class:`Readable` and
``stdout``/``stderr`` as :class:`Writable` (ABC registration: the classes
keep their own bases), so ``isinstance(sock, gnet.stream.Duplex)`` holds.

gnet's spellings: ``Readable.from_`` is Node's ``Readable.from`` (``from``
is a Python keyword; PEP 8's trailing underscore). A Python binary file
object (anything with ``read()`` or ``write()`` returning/taking bytes
and no ``on()``) is accepted by ``pipe()`` and ``pipeline()`` as a
destination or source; it is read in chunks of 64 KiB, one chunk per
task, so the loop serves everyone else between two chunks; gnet never
closes a file it did not open.

The modules, one concept each: :mod:`~gnet.stream.base` (the per-side
state, the deferred-step queue, ``destroy()``),
:mod:`~gnet.stream.readable` (``Readable``, ``Readable.from_``),
:mod:`~gnet.stream.writable` (``Writable``), :mod:`~gnet.stream.duplex`
(``Duplex``, ``Transform``, ``PassThrough``),
:mod:`~gnet.stream.end_of_stream` (``finished``),
:mod:`~gnet.stream.piping` (``pipe``, ``unpipe``, ``pipeline``) and
:mod:`~gnet.stream.files` (Python binary files at either end of a pipe).
This package only re-exports them, under ``gnet.stream``.
"""

from gnet.naming import fix_module

# duplex.py first: readable.py and writable.py hold it as a module (they look
# Duplex up only when a stream is made), so it must start loading before them.
from gnet.stream.duplex import (
    Duplex as Duplex,
    PassThrough as PassThrough,
    Transform as Transform,
)
from gnet.stream.end_of_stream import finished as finished
from gnet.stream.files import CHUNK as CHUNK
from gnet.stream.piping import pipe as pipe, pipeline as pipeline, unpipe as unpipe
from gnet.stream.readable import Readable as Readable
from gnet.stream.writable import Writable as Writable

__all__ = ("Duplex", "PassThrough", "Readable", "Transform", "Writable", "finished",
           "pipe", "pipeline", "unpipe")

fix_module("gnet.stream", globals(), __all__)

del fix_module


def _register() -> None:
    # Node's own streams are instances of these classes; gnet's keep their
    # bases (no import cycle, no slots change) and are registered instead.
    from gnet.process import ReadStream, WriteStream
    from gnet.socket import Socket

    Duplex.register(Socket)
    Readable.register(ReadStream)
    Writable.register(WriteStream)


_register()
