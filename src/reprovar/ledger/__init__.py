"""The reproducibility ledger: every variable recorded, any variable made again.

* :mod:`.models`, :mod:`.coltypes`: the schema (typed SQLAlchemy 2.0 models; what a
  distribution with a new parameter needs, see :mod:`.models`);
* :mod:`.schema`: Alembic versioning (create, upgrade, refuse newer);
* :mod:`.engine`, :mod:`.urls`, :mod:`.dberrors`: locations (the environment's in
  :mod:`reprovar.config`), per-backend engines, errors;
* :mod:`.ledger`: :class:`Ledger` (open, record, read single rows); :mod:`.writer`: the
  variable-row write path; :mod:`.transaction`: many rows in one transaction;
  :mod:`.retry`: the writers' one retry policy;
* :mod:`.digest`: digests of variable bytes; :mod:`.replay`: making variables again.

This package never imports :mod:`reprovar.audit`, which builds on it: the public
:class:`reprovar.Ledger` is :class:`reprovar.audit.Ledger`, this :class:`Ledger` plus the
audit API (``find``, ``verify``, ``export``, ...). Which ledger a variable is recorded in is
decided by :mod:`reprovar.recorder`.

Example:
    >>> import reprovar, tempfile, os
    >>> led = reprovar.ledger.Ledger(os.path.join(tempfile.mkdtemp(), "pkg.db"))
    >>> v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", ledger=led)
    >>> replay_record(led.get("w")).seed == v.seed
    True
"""

from .ledger import Ledger
from .records import RunRecord, VariableRecord
from .replay import replay_record

__all__ = [
    "Ledger",
    "RunRecord",
    "VariableRecord",
    "replay_record",
]
