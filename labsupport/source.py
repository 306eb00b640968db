"""Show the code a lesson calls: a function's real source, rendered in the notebook.

Where a lesson calls the package, it shows what it calls — the source itself, never a
paraphrase — so nothing the lesson relies on is hidden.

>>> source_of(source_of).splitlines()[0]
'def source_of(*functions: Callable[..., object]) -> str:'
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["show_source", "source_of"]


def source_of(*functions: Callable[..., object]) -> str:
    """The source code of ``functions``, one after the other."""
    return "\n\n".join(inspect.getsource(function) for function in functions)


def show_source(*functions: Callable[..., object]) -> Any:
    """The source of ``functions`` as highlighted Python (the last line of a notebook cell)."""
    from IPython.display import Markdown

    return Markdown(f"```python\n{source_of(*functions)}```")
