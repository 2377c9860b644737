# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``json.loads`` and ``json.dumps`` for what the start path reads and writes, without importing the
``json`` package.

``import json`` loads ``json.decoder``, ``json.scanner`` and ``json.encoder``, and they import ``re``
(its parser, compiler and enum flags) to compile a few patterns: ~3-5 ms of every command's start
here, for state files that the interpreter's C accelerator ``_json`` (which ``json`` itself calls)
reads and writes alone. This module calls ``_json`` as ``json`` does, with ``json``'s defaults:

- :func:`loads` of a ``str`` or UTF-8 ``bytes``;
- :func:`dumps` with ``separators`` and ``sort_keys`` (no ``indent``, ``ensure_ascii`` on).

Whatever it does not do the same way itself goes to ``json``: an error (so the exception, its
message and position are ``json``'s own), an object ``json`` would hand to ``default`` (and raise
for), bytes in another encoding, any other argument, and an interpreter without ``_json``. The
results are ``json``'s, character for character (tests/unit/test_jsonio.py compares both)."""

try:
    import _json
    _make_scanner = _json.make_scanner
    _make_encoder = _json.make_encoder
    _escape = _json.encode_basestring_ascii
except (ImportError, AttributeError):  # another interpreter: json itself
    _json = None

_WS = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Fallback(Exception):
    """Raised inside the C encoder for an object it would hand to ``default``."""


def _to_json(o):
    raise _Fallback()


class _Context:
    """What ``_json.make_scanner`` reads of a ``json.JSONDecoder`` with the default options."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__
    memo = None


_scan = _make_scanner(_Context()) if _json is not None else None


def _json_module():
    import json
    return json


def loads(s):
    """``json.loads(s)``."""
    if _scan is None:
        return _json_module().loads(s)
    text = s
    if isinstance(s, (bytes, bytearray)):
        try:
            text = bytes(s).decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or text.startswith("\ufeff"):  # json detects the encoding or rejects the BOM
            return _json_module().loads(s)
    elif not isinstance(s, str):
        return _json_module().loads(s)
    end = len(text)
    begin = end - len(text.lstrip(_WS))
    try:
        obj, stop = _scan(text, begin)
    except (StopIteration, ValueError, RecursionError):
        return _json_module().loads(s)  # raises json's own error
    if stop != end and text[stop:].strip(_WS):
        return _json_module().loads(s)  # "Extra data"
    return obj


def dumps(obj, separators=None, sort_keys=False, **kwargs):
    """``json.dumps(obj, separators=separators, sort_keys=sort_keys)``; any other keyword (``indent``
    with a value, ``default``...) is ``json.dumps``'s."""
    if kwargs.get("indent") is not None or any(k != "indent" for k in kwargs) or _json is None:
        return _json_module().dumps(obj, separators=separators, sort_keys=sort_keys, **kwargs)
    if isinstance(obj, str):
        return _escape(obj)
    item, key = separators if separators is not None else (", ", ": ")
    try:
        # as json.encoder.JSONEncoder.iterencode makes it for each call: c_make_encoder(markers,
        # default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys, allow_nan)
        chunks = _make_encoder({}, _to_json, _escape, None, key, item, bool(sort_keys), False, True)(obj, 0)
    except (_Fallback, TypeError, ValueError, RecursionError):
        return _json_module().dumps(obj, separators=separators, sort_keys=sort_keys)
    return "".join(chunks)
