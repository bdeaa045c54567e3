"""Sphinx configuration for gnet's documentation site.

Build it with ``tox -e docs`` (warnings are errors), or by hand::

    pip install -e '.[docs]'
    sphinx-build -W --keep-going -b html docs /tmp/gnet-docs

The Markdown pages in docs/ are read by MyST; the API reference (docs/api/)
is made by autodoc from gnet's Google-style docstrings (napoleon). Two things
are gnet's own here:

* PEP 8 twins. Every camelCase name has a snake_case twin made by
  :mod:`gnet.naming`; the reference lists the camelCase name once and says so
  on its index page, instead of listing every name twice.
* Interfaces. zope.interface declarations are not classes autodoc can walk,
  so the ``gnet-interface`` directive below writes one out: its docstring, its
  attributes and its methods with their signatures.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

# The installed gnet (tox's docs env installs the wheel); the checkout beside
# this file when none is installed.
try:
    import gnet
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import gnet
from gnet.naming import snake_case

project = 'gnet'
author = 'the gnet authors'
copyright = 'the gnet authors'  # noqa: A001
release = version = gnet.__version__

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
]

source_suffix = {'.md': 'markdown', '.rst': 'restructuredtext'}
root_doc = 'index'
exclude_patterns = ['_build']
# benchmarks.md is generated and udp.md copies its tables: their H2-to-H4
# steps are deliberate.
suppress_warnings = ['myst.header']
html_theme = 'furo'
html_title = f'gnet {release}'
# benchmarks.md links the generated PNG next to it; nothing else to copy.
html_static_path: list[str] = []

# Markdown: `#section` links and `page.md#section` links resolve to headings.
myst_heading_anchors = 4
myst_enable_extensions = ['colon_fence']

# Google style only, as gnet writes its docstrings.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

autodoc_member_order = 'bysource'
autodoc_typehints = 'signature'
autodoc_default_options = {
    'members': True,
    'show-inheritance': True,
}
# Annotations stay as written (``bytes | str``), not expanded aliases.
autodoc_type_aliases: dict[str, str] = {}

# Every Python reference must resolve: a broken :class:/:func: link is a
# warning, and warnings are errors in CI. Names outside gnet (the standard
# library, gevent, zope.interface) cannot resolve without network access to
# their inventories, so they are accepted by pattern here.
nitpicky = True
nitpick_ignore_regex = [
    (r'py:.*', r'(typing|typing_extensions|collections\.abc|types|abc)\..*'),
    (r'py:.*', r'(socket|ssl|os|io|logging|threading|enum|re|ipaddress|_socket|json|warnings)\..*'),
    # gnet's internal modules and names the public API shows in signatures and
    # bases (TypeVars like gnet.socket.S, gnet.loop.Handle, the read and write
    # sides): documented in their modules, not in the reference.
    (r'py:.*', r'gnet\.[a-z_]+\.(_?[A-Z]|_[A-Za-z_]+)'),
    (r'py:class', r'gnet\.(loop\.Handle|read_side\.ReadSide|write_side\.WriteSide|'
                  r'pull\.PullMode|parts\.SocketPart|timeouts\.IdleTimeout|'
                  r'sockopts\.SocketOptions|listening\.Listening|accepting\.Accepting|'
                  r'connecting\.Connecting|endpoints\.Endpoints)'),
    # The parts of gnet.dgram.Socket (gnet/dgram/parts.py), and its TypeVar S.
    (r'py:class', r'gnet\.dgram\.(parts\.DatagramPart|receive\.ReceivePath|send\.SendPath|'
                  r'connected\.ConnectedMode|multicast\.Multicast|options\.DatagramOptions|'
                  r'socket\.S)'),
    # gnet.stream's classes re-exported from its submodules show this base.
    (r'py:class', r'gnet\.stream\.base\._StreamBase'),
    # :mod: references to gnet's internal modules (gnet.naming, gnet.tls.context,
    # ...): the reference documents the public modules only.
    (r'py:mod', r'gnet\.[a-z_.]+'),
    (r'py:.*', r'(gevent|greenlet|zope|cryptography)(\..*)?'),
    (r'py:exc', r'BlockingSwitchOutError'),  # gevent's, named without its module
    (r'py:.*', r'_?[A-Z]|_[A-Za-z_]+'),  # TypeVars and private aliases: S, _T
    (r'py:.*', r'(Any|Callable|Iterable|Iterator|Mapping|MutableMapping|Sequence|Literal|'
               r'Optional|Union|Self|NoReturn|TypeVar|Generator|ClassVar|Protocol|'
               r'TracebackType|Buffer|SSLSocket|SSLContext|SSLObject|MemoryBIO|'
               r'Enum|IntEnum|Exception|BaseException|OSError|Interface)'),
    (r'py:.*', r'(None|NoneType|bool|int|float|str|bytes|bytearray|memoryview|object|'
               r'dict|list|tuple|set|frozenset|type|callable|ellipsis|slice)'),
]


# --- PEP 8 twins: document the camelCase spelling only -------------------------

def _twin_names() -> set[str]:
    """The snake_case twins gnet.naming made, collected from every gnet module."""
    import importlib

    for name in ('cluster', 'dgram', 'errors', 'events', 'process', 'proxy_protocol',
                 'stream', 'tls'):
        importlib.import_module(f'gnet.{name}')
    twins: set[str] = set()
    spaces: list[Any] = []
    for module in [m for n, m in sys.modules.items() if n == 'gnet' or n.startswith('gnet.')]:
        spaces.append(vars(module))
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__.startswith('gnet'):
                for klass in value.__mro__:
                    if klass.__module__.startswith('gnet'):
                        spaces.append(vars(klass))
    for space in spaces:
        for name in space:
            twin = snake_case(name)
            if twin != name and twin in space:
                twins.add(twin)
    return twins


TWINS = _twin_names()


def _skip_twins(app: Any, what: str, name: str, obj: Any, skip: bool, options: Any) -> bool | None:
    if name in TWINS:
        return True
    return None


# --- docstring shapes autodoc and napoleon do not read as gnet means them -----

_HEADING = re.compile(r'^(=+|-+|~+)$')
_RAISES_ALTERNATIVES = re.compile(r'^(\s+)([A-Za-z_][\w.]*(?: / [A-Za-z_][\w.]*)+):')


def _fix_docstring(app: Any, what: str, name: str, obj: Any, options: Any,
                   lines: list[str]) -> None:
    """Runs before napoleon: reshape what would render wrongly or warn."""
    # A module's "Theory of operation" heading becomes a rubric: a section
    # inside autodoc's output would clash with the same title in the next module.
    if what == 'module':
        for i in range(len(lines) - 1):
            title, underline = lines[i], lines[i + 1]
            if title.strip() and _HEADING.match(underline) and len(underline) >= len(title):
                lines[i], lines[i + 1] = f'.. rubric:: {title}', ''
    # Every error class says its Node code, where the class sets one itself.
    if what in ('exception', 'class') and name.startswith('gnet.errors.') \
            and isinstance(vars(obj).get('code'), str):
        lines[:0] = [f'Node code: ``{obj.code}``.', '']
    # "Raises: A / B: why" means either class: the Python domain reads "A or B".
    for i, line in enumerate(lines):
        m = _RAISES_ALTERNATIVES.match(line)
        if m:
            lines[i] = m.group(1) + m.group(2).replace(' / ', ' or ') + line[m.end() - 1:]


# napoleon reads a property's or attribute's first line as "type: text" when
# it holds a colon. gnet's types come from annotations and its first lines are
# prose ("True once destroyed: ..."), so the whole docstring is text. (A
# private napoleon method, stable in the pinned Sphinx version.)
def _parse_attribute_docstring(self: Any) -> list[str]:
    text = self.__class__(self._dedent(self._consume_to_end()), self._config).lines()
    return list(self._format_field('', '', text))


# --- zope.interface declarations --------------------------------------------

def _interface_lines(iface: Any, config: Any) -> list[str]:
    from sphinx.ext.napoleon.docstring import GoogleDocstring
    from zope.interface.interface import Method

    def body(doc: str | None) -> list[str]:
        text = str(GoogleDocstring(_bulletize(_dedent(doc or '')), config))
        return ['   ' + line if line else '' for line in text.splitlines()]

    name = iface.__name__
    bases = [b.__name__ for b in iface.__bases__ if b.__name__ != 'Interface']
    lines = [f'.. py:class:: {name}', '   :module: gnet.interfaces', '']
    if bases:
        lines += ['   Extends ' + ', '.join(f':class:`{b}`' for b in bases) + '.', '']
    lines += body(iface.__doc__) + ['']
    # zope.interface keeps no declaration order: sorted, for a stable page.
    for member in sorted(iface.names(), key=str.lower):
        decl = iface[member]
        if isinstance(decl, Method):
            lines += [f'   .. py:method:: {member}{decl.getSignatureString()}', '']
        else:
            lines += [f'   .. py:attribute:: {member}', '']
        lines += ['   ' + line if line else '' for line in body(decl.__doc__)] + ['']
    return lines


_SECTIONS = {'Args:', 'Arguments:', 'Returns:', 'Raises:', 'Yields:', 'Example:', 'Examples:',
             'Note:', 'Notes:', 'Attributes:', 'Warns:', 'See Also:'}


def _bulletize(doc: str) -> str:
    """Turn an indented table under a line ending in ':' into a bullet list.

    Interfaces list their events as ``'name' (args): what`` lines with hanging
    indents, which reStructuredText reads as a broken definition list.
    """
    lines = doc.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        if not line.rstrip().endswith(':') or line.rstrip().endswith('::') \
                or line.strip() in _SECTIONS:
            continue
        base = len(line) - len(line.lstrip())
        if i >= len(lines) or not lines[i].strip():
            continue
        item = len(lines[i]) - len(lines[i].lstrip())
        if item <= base:
            continue
        block: list[str] = []
        while i < len(lines) and lines[i].strip() and \
                len(lines[i]) - len(lines[i].lstrip()) >= item:
            text = lines[i]
            depth = len(text) - len(text.lstrip())
            block.append(' ' * item + ('- ' if depth == item else '  ') + text.strip())
            i += 1
        out.append('')
        out.extend(block)
        out.append('')
    return '\n'.join(out)


def _dedent(doc: str) -> str:
    import inspect

    return inspect.cleandoc(doc)


def setup(app: Any) -> dict[str, Any]:
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective

    class InterfaceDirective(SphinxDirective):
        """``.. gnet-interface:: IName``: an interface of gnet.interfaces, written out."""

        required_arguments = 1

        def run(self) -> list[Any]:
            import gnet.interfaces

            iface = getattr(gnet.interfaces, self.arguments[0])
            lines = _interface_lines(iface, self.env.config)
            return self._parse(lines)

        def _parse(self, lines: list[str]) -> list[Any]:
            from docutils import nodes

            container = nodes.container()
            source = f'<gnet.interfaces.{self.arguments[0]}>'
            self.state.nested_parse(StringList(lines, source), self.content_offset, container)
            return container.children

    from sphinx.ext.napoleon.docstring import GoogleDocstring

    GoogleDocstring._parse_attribute_docstring = _parse_attribute_docstring  # type: ignore[method-assign]
    app.add_directive('gnet-interface', InterfaceDirective)
    app.connect('autodoc-skip-member', _skip_twins)
    # Before napoleon (priority 500), which turns the sections into fields.
    app.connect('autodoc-process-docstring', _fix_docstring, priority=400)
    return {'parallel_read_safe': True}
