"""The reproducibility ledger: every variable recorded, any variable made again.

* :mod:`.models`, :mod:`.coltypes`: the schema (typed SQLAlchemy 2.0 models);
* :mod:`.schema`: Alembic versioning (create, upgrade, refuse newer);
* :mod:`.engine`, :mod:`.urls`, :mod:`.dberrors`: locations, per-backend engines, errors;
* :mod:`.ledger`: :class:`Ledger`; :mod:`.recording`: the policy around it;
* :mod:`.digest`: digests of variable bytes; :mod:`.replay`: making variables again.

Example:
    >>> import reprovar, tempfile, os
    >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "pkg.db"))
    >>> v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", ledger=led)
    >>> reprovar.replay("w", ledger=led).seed == v.seed
    True
"""

from .ledger import Ledger
from .records import RunRecord, VariableRecord
# The ``recording()`` context manager stays in .recording, so that ``reprovar.ledger.recording``
# remains the module; ``reprovar.recording`` is the context manager.
from .recording import (
    current_ledger,
    disable_recording,
    enable_recording,
    recording_enabled,
    use_ledger,
)
from .replay import replay

__all__ = [
    "Ledger",
    "RunRecord",
    "VariableRecord",
    "current_ledger",
    "disable_recording",
    "enable_recording",
    "recording_enabled",
    "replay",
    "use_ledger",
]
