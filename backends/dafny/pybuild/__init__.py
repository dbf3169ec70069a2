"""`qed build`: a verified Dafny program -> an importable Python package (see `build.build_package`).

Modules, one job each:
  interface.py  top-level signatures, clauses, datatypes and named types of the artifact (outline based)
  dtypes.py     Dafny type syntax -> nested tuples;  resolve.py  -> canonical types for the converters
  contracts.py  requires/ensures/subset constraints/task examples as Dafny predicates beside the artifact
  translate.py  `dafny translate py` (drops clauses Dafny will not compile, with Dafny's reason)
  genpy.py      reads Dafny's Python output with `ast` (names, arities, constructor fields)
  convert.py    plain Python <-> Dafny runtime values and the boundary checks (shipped as PKG/_qed.py)
  wrappers.py   the package's Python source;  package.py  vendored runtime and file writing
  readme.py     DIR/README.md;  proptests.py  DIR/test_PKG.py (run by `verifier.testrun` in a child process)

The builder is the Dafny backend's `python_build` capability (`DafnyBackend.build_python`); its result is the
core's `verifier.models.BuildResult`.
"""
