"""The source lines of a task's own code, carried with it so far-side tracebacks show them.

A traceback prints each frame's source line by reading the frame's file. A function
shipped by value (defined in a script, a notebook or a module next to it) has no file on
the far side, and cloudpickle 3.1.3 and newer even renames every such code object's file
to ``<dynamic-code>``. So the dispatching side, where the files exist, records the lines
of every code object it ships by value (:func:`capture`), and the far side renders
tracebacks with them (:func:`format_exception`), whichever cloudpickle either side runs.
"""

from __future__ import annotations

import functools
import inspect
import linecache
import os
import sysconfig
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Enough for any script's own functions; a far larger closure is not worth carrying.
MAX_LINES = 5000
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


@dataclass(frozen=True)
class CodeSource:
    """Where one code object came from, and its lines (numbered as in the file)."""

    name: str
    filename: str
    first: int
    last: int
    lines: dict[int, str]


@dataclass(frozen=True)
class SourceMap:
    """The source of the code a task ships by value."""

    codes: tuple[CodeSource, ...] = ()

    def find(self, filename: str, name: str, lineno: int) -> CodeSource | None:
        """The code a traceback frame ran, matched by its name and line (and file, if kept)."""
        for code in self.codes:
            if code.name == name and code.first <= lineno <= code.last and (
                filename in (code.filename, "<dynamic-code>")
            ):
                return code
        return None


@functools.cache
def installed_roots() -> tuple[str, ...]:
    """Where installed code lives (stdlib, site-packages): the far side has its own copy."""
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(os.path.realpath(r) + os.sep for r in roots)


def _user_code(filename: str) -> bool:
    """Code the far side may not have: not from an installed package or the stdlib."""
    if filename.startswith("<") and not linecache.getline(filename, 1):
        return False  # <string>, <stdin>...: no lines to carry
    real = os.path.realpath(filename)
    return not real.startswith(installed_roots()) and not real.startswith(_PACKAGE_DIR)


def _code_tree(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_tree(const)


def _functions(obj: Any) -> Iterator[Any]:
    """The plain functions behind a callable: wrappers, partials, methods, classes."""
    if isinstance(obj, types.FunctionType):
        yield obj
    elif isinstance(obj, types.MethodType):
        yield obj.__func__
    elif isinstance(obj, functools.partial):
        yield obj.func
    elif isinstance(obj, type):
        for value in vars(obj).values():
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, types.FunctionType):
                yield value
    else:
        # TaskCall, the electron wrapper and friends keep the function they call.
        for attr in ("function", "__wrapped__"):
            inner = getattr(obj, attr, None)
            if inner is not None and inner is not obj:
                yield from _functions(inner)
        call = inspect.getattr_static(type(obj), "__call__", None)
        if isinstance(call, types.FunctionType):
            yield call


def capture(root: Any) -> SourceMap:
    """Record the lines of every user code object reachable from ``root``.

    Walks what cloudpickle ships by value: the function's own code and nested code, the
    functions and classes it names from its module's globals, and those in its closure.
    """
    seen_functions: set[int] = set()
    seen_codes: set[types.CodeType] = set()
    codes: list[CodeSource] = []
    total = 0
    pending = list(_functions(root))
    while pending and total < MAX_LINES:
        function = pending.pop()
        if id(function) in seen_functions:
            continue
        seen_functions.add(id(function))
        code = function.__code__
        if not _user_code(code.co_filename):
            continue
        names: set[str] = set()
        for inner in _code_tree(code):
            if inner in seen_codes:
                continue
            seen_codes.add(inner)
            names.update(inner.co_names)
            numbers = [n for _, _, n in inner.co_lines() if n is not None]
            first, last = inner.co_firstlineno, max(numbers, default=inner.co_firstlineno)
            lines = {n: linecache.getline(code.co_filename, n) for n in range(first, last + 1)}
            total += len(lines)
            codes.append(CodeSource(inner.co_name, code.co_filename, first, last, lines))
        referenced = [function.__globals__.get(n) for n in names]
        referenced += [cell.cell_contents for cell in function.__closure__ or ()
                       if _filled(cell)]
        for value in referenced:
            if isinstance(value, (types.FunctionType, type, functools.partial)):
                pending.extend(_functions(value))
    return SourceMap(tuple(codes))


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _render(frame: traceback.FrameSummary, sources: SourceMap) -> traceback.FrameSummary:
    if frame.line or frame.lineno is None:
        return frame
    code = sources.find(frame.filename, frame.name, frame.lineno)
    if code is None:
        return frame
    text = code.lines.get(frame.lineno, "")
    rendered = traceback.FrameSummary(
        code.filename, frame.lineno, frame.name, lookup_line=False, line=text.strip()
    )
    # Python 3.11+ positions, so the far side's carets still point at the failing call.
    for attr in ("end_lineno", "colno", "end_colno"):
        if hasattr(frame, attr):
            setattr(rendered, attr, getattr(frame, attr))
    return rendered


def _ours(frame: traceback.FrameSummary) -> bool:
    return os.path.realpath(frame.filename).startswith(_PACKAGE_DIR)


def _rewrite(exc: traceback.TracebackException, sources: SourceMap) -> None:
    stack = list(exc.stack)
    while len(stack) > 1 and _ours(stack[0]):
        stack.pop(0)  # the runner's own frames: not the user's business
    exc.stack = traceback.StackSummary.from_list([_render(f, sources) for f in stack])
    for chained in (exc.__cause__, exc.__context__):
        if chained is not None:
            _rewrite(chained, sources)


def format_exception(exc: BaseException, sources: SourceMap | None = None) -> str:
    """``exc``'s traceback as text, with the user's source lines wherever they are known."""
    rendered = traceback.TracebackException.from_exception(exc)
    _rewrite(rendered, sources or SourceMap())
    return "".join(rendered.format())

