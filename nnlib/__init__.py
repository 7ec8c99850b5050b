"""nnlib: the neural-network library built in the course *Neural Networks from Scratch*.

Each module but `testing`, `plaindata`, `data`, `referee`, the package files (this one, and
`optim`'s, which holds the optimizers' base class) and `trainer` (chapter 5's old module name, kept
for old notebooks), which are written by hand, is generated from a chapter's notebook (its
`#| export` cells); import what you need from the module that holds it, e.g.
`from nnlib.derivatives import numerical_gradient`.

The code you export (`python3 course.py export N`) goes to work/nnlib/ in the course's folder,
and this package looks there first: `import nnlib.engine` imports your engine once you have
exported chapter 2, the course's reference in nnlib/ until then.

The environment variable NNLIB_FIRST (folders laid out like work/nnlib, separated by
os.pathsep) puts other modules before even those: `course.py export` runs the library's tests
on the modules it is about to write that way, before it writes them.
"""
import os as _os
from pathlib import Path as _Path

YOURS = _Path(__file__).resolve().parent.parent / "work" / "nnlib"
FIRST = [_Path(folder) for folder in _os.environ.get("NNLIB_FIRST", "").split(_os.pathsep) if folder]
__path__[:0] = [str(folder) for folder in (*FIRST, YOURS)]
