"""The public surface: __all__, PEP 8 twins everywhere, public module paths."""

from __future__ import annotations

import inspect
import pydoc

import pytest

import gnet
from gnet.naming import snake_case

MODULES = (gnet, gnet.events, gnet.errors)


def _is_camel(name: str) -> bool:
    return not name.startswith("_") and name[:1].islower() and name.lower() != name


def test_every_name_in_all_exists() -> None:
    for module in (gnet, gnet.events, gnet.errors, gnet.interfaces):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name} is in __all__ but missing"


def test_module_functions_have_snake_twins() -> None:
    for name in gnet.__all__:
        if _is_camel(name):
            twin = snake_case(name)
            assert twin in gnet.__all__, f"gnet.{twin} missing from __all__"
            assert getattr(gnet, twin) is getattr(gnet, name)


@pytest.mark.parametrize("cls", [gnet.Socket, gnet.Server, gnet.EventEmitter, gnet.Timeout])
def test_class_camel_names_have_snake_twins(cls: type) -> None:
    missing = []
    for klass in cls.__mro__:
        if not klass.__module__.startswith("gnet"):
            continue
        for name in vars(klass):
            if _is_camel(name) and not hasattr(cls, snake_case(name)):
                missing.append(f"{klass.__name__}.{name}")
    assert not missing, f"no snake_case twin for {missing}"


@pytest.mark.parametrize(
    ("camel", "snake"),
    [
        ("createServer", "create_server"),
        ("createConnection", "create_connection"),
        ("isIPv4", "is_ipv4"),
        ("isIP", "is_ip"),
    ],
)
def test_named_module_aliases(camel: str, snake: str) -> None:
    assert getattr(gnet, snake) is getattr(gnet, camel)


def test_instance_aliases_are_the_same_behaviour() -> None:
    sock = gnet.Socket()
    try:
        assert sock.set_encoding("utf8") is sock
        assert sock.bytes_read == sock.bytesRead == 0
        assert sock.writable_length == 0
        assert sock.set_no_delay is not None and sock.reset_and_destroy is not None
    finally:
        sock.destroy()


@pytest.mark.parametrize("name", ["Socket", "Server", "EventEmitter", "createServer",
                                  "createConnection", "run", "pipeline"])
def test_public_module_path(name: str) -> None:
    obj = getattr(gnet, name)
    assert obj.__module__ == "gnet"
    if inspect.isclass(obj):
        assert "in module gnet\n" in pydoc.render_doc(obj, renderer=pydoc.plaintext)
