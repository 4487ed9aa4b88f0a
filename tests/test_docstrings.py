"""Numpydoc sections for the public API (after scikit-learn's sklearn/tests/test_docstrings.py).

For every public function and class named in a module's ``__all__`` (and every public method of those classes),
the docstring has a ``Parameters`` section listing exactly the signature's parameters when the callable takes any,
and a ``Returns`` (or ``Yields``) section when it returns something. One test per module, so the modules that fall
short are listed by name. Names re-exported from another module are checked in their home module.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
import textwrap

import pytest

import affect_book

# Private modules (a leading underscore, as POT's ot/bregman/_sinkhorn.py) are checked through the package that
# re-exports their public names.
MODULES = sorted(["affect_book", *(m.name for m in pkgutil.walk_packages(affect_book.__path__, "affect_book.")
                                   if not any(part.startswith("_") for part in m.name.split(".")))])
SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}$", re.MULTILINE)


def sections(doc: str) -> dict[str, str]:
    """Numpydoc sections of a docstring: {title: body}, from the ``Title`` / ``-----`` underlines."""
    doc = inspect.cleandoc(doc or "")
    found = list(SECTION.finditer(doc))
    return {m.group(1).strip(): doc[m.end():found[i + 1].start() if i + 1 < len(found) else len(doc)]
            for i, m in enumerate(found)}


def documented_parameters(body: str) -> list[str]:
    """Parameter names in a ``Parameters`` section body (``name : type`` lines at the base indentation)."""
    body = textwrap.dedent(body.strip("\n"))
    names = []
    for line in body.splitlines():
        if line and not line[0].isspace():
            for name in line.split(" : ")[0].rstrip(":").split(","):
                names.append(name.strip().lstrip("*"))
    return names


def _signature_parameters(func, skip_first: bool) -> list[str]:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature
        return []
    if skip_first and params:
        params = params[1:]
    return [p.name for p in params]


def _returns_something(func) -> bool:
    """From the return annotation when there is one, otherwise from a ``return value`` / ``yield`` in the body."""
    annotation = inspect.signature(func).return_annotation
    if annotation is not inspect.Signature.empty:
        return annotation not in (None, "None", "NoReturn", "typing.NoReturn")
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False

    def walk(node):  # the function's own body, not nested functions or classes
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(child, (ast.Yield, ast.YieldFrom)) or (isinstance(child, ast.Return)
                                                                 and child.value is not None):
                return True
            if walk(child):
                return True
        return False

    return walk(tree.body[0])


def check_callable(name: str, func, doc: str | None, skip_first: bool = False) -> list[str]:
    """The problems of one function's docstring (empty when it is complete)."""
    if not doc:
        return [f"{name}: no docstring"]
    found = sections(doc)
    problems = []
    params = _signature_parameters(func, skip_first)
    if params:
        if "Parameters" not in found:
            problems.append(f"{name}: no Parameters section (takes {', '.join(params)})")
        else:
            listed = documented_parameters(found["Parameters"])
            missing = [p for p in params if p not in listed]
            extra = [p for p in listed if p not in params]
            if missing:
                problems.append(f"{name}: Parameters does not document {', '.join(missing)}")
            if extra:
                problems.append(f"{name}: Parameters documents {', '.join(extra)}, which the signature lacks")
    if _returns_something(func) and not ({"Returns", "Yields"} & set(found)):
        problems.append(f"{name}: returns a value but has no Returns section")
    return problems


def check_class(name: str, cls) -> list[str]:
    """A class: its docstring documents the constructor's parameters; its public methods are complete."""
    if issubclass(cls, BaseException) and "__init__" not in vars(cls):
        return [] if cls.__doc__ else [f"{name}: no docstring"]
    problems = []
    init = vars(cls).get("__init__") or (cls.__init__ if dataclasses.is_dataclass(cls) else None)
    if init is not None and init is not object.__init__:
        doc = cls.__doc__
        if dataclasses.is_dataclass(cls) and doc and "Parameters" not in sections(doc):
            # numpydoc documents a dataclass's fields (its constructor's parameters) under Attributes, as scipy's
            # result objects do: accept that section in place of Parameters.
            doc = doc.replace("Attributes\n", "Parameters\n", 1)
        problems += [p for p in check_callable(name, init, doc, skip_first=True) if "Returns" not in p]
    elif not cls.__doc__:
        problems.append(f"{name}: no docstring")
    for attr, member in vars(cls).items():
        if attr.startswith("_"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            func = member.__func__
            problems += check_callable(f"{name}.{attr}", func, func.__doc__, isinstance(member, classmethod))
        elif inspect.isfunction(member):
            problems += check_callable(f"{name}.{attr}", member, member.__doc__, skip_first=True)
    return problems


def module_problems(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    if not hasattr(module, "__all__"):
        return [f"{module_name} declares no __all__ (its public API is implicit)"]
    problems = []
    for name in module.__all__:
        if not hasattr(module, name):
            problems.append(f"{name} is in __all__ but {module_name} does not define it")
            continue
        obj = getattr(module, name)
        home = getattr(obj, "__module__", None) or ""
        private_home = home.startswith(module_name + "._")  # a package re-exporting its private modules' names
        if home != module_name and not private_home:
            continue  # a re-export, or a constant: checked in its home module / not a callable
        if inspect.isclass(obj):
            problems += check_class(name, obj)
        elif inspect.isfunction(obj):
            problems += check_callable(name, obj, obj.__doc__)
    return problems


@pytest.mark.parametrize("module_name", MODULES)
def test_public_api_has_numpydoc_sections(module_name):
    problems = module_problems(module_name)
    assert not problems, f"{len(problems)} docstring problem(s) in {module_name}:\n  " + "\n  ".join(problems)


# --- the checker itself, on hand-made cases ------------------------------------------------------------------


def _complete(a, b=1):
    """Add.

    Parameters
    ----------
    a, b : int
        The terms.

    Returns
    -------
    int
        The sum.
    """
    return a + b


def _no_returns(a):
    """Add one.

    Parameters
    ----------
    a : int
        A term.
    """
    return a + 1


def _stale(a, *, c: int = 0) -> None:
    """Nothing.

    Parameters
    ----------
    a : int
        Used.
    b : int
        Renamed long ago.
    """


def _yields(n):
    """Count.

    Parameters
    ----------
    n : int
        How far.

    Yields
    ------
    int
        0, 1, ..., n - 1.
    """
    yield from range(n)


def _inner_return_only() -> None:
    """A function whose only ``return value`` is in a nested function."""
    def inner():
        return 1
    inner()


@dataclasses.dataclass
class _Record:
    """A record without a Parameters section."""

    x: int


class _Counter:
    """A counter.

    Parameters
    ----------
    start : int
        The first value.
    """

    def __init__(self, start):
        self.value = start

    def add(self, step):
        """Add ``step`` and return the new value."""
        self.value += step
        return self.value


def test_checker_on_hand_made_cases():
    assert check_callable("complete", _complete, _complete.__doc__) == []
    assert check_callable("no_returns", _no_returns, _no_returns.__doc__) == [
        "no_returns: returns a value but has no Returns section"]
    assert check_callable("stale", _stale, _stale.__doc__) == [
        "stale: Parameters does not document c", "stale: Parameters documents b, which the signature lacks"]
    assert check_callable("yields", _yields, _yields.__doc__) == []
    assert check_callable("inner", _inner_return_only, _inner_return_only.__doc__) == []
    assert check_callable("none", _complete, None) == ["none: no docstring"]
    assert check_class("Record", _Record) == ["Record: no Parameters section (takes x)"]
    assert check_class("Counter", _Counter) == ["Counter.add: no Parameters section (takes step)",
                                                "Counter.add: returns a value but has no Returns section"]
