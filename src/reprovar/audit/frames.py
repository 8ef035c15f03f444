"""pandas DataFrames of ledger records, for people who audit in a notebook.

pandas is optional: it is imported only here, only when a DataFrame is asked for.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Iterable

from .errors import AuditError


def _pandas():
    try:
        import pandas
    except ImportError:
        raise AuditError("DataFrames need pandas, which is not installed: pip install pandas") from None
    return pandas


def records_to_dataframe(records: Iterable, record_type: type | None = None):
    """A DataFrame with one row per record and one column per field.

    ``created``/``started`` are timezone-aware UTC timestamps; ``seed`` is ``uint64`` (seeds
    use the full 64-bit range, which ``int64`` cannot hold); ``shape`` and ``argv`` are tuples.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "df.db"))
        >>> _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=2**64 - 1, ledger=led)
        >>> df = led.find().to_dataframe()  # doctest: +SKIP
        >>> int(df.loc[0, "seed"]) == 2**64 - 1  # doctest: +SKIP
        True
    """
    pd = _pandas()
    rows = [asdict(r) for r in records]
    if not rows:  # still the right columns, so code that selects them works on no rows
        if record_type is None:
            from ..ledger.records import VariableRecord as record_type
        return pd.DataFrame(columns=[f.name for f in fields(record_type)])
    frame = pd.DataFrame.from_records(rows)
    if "seed" in frame:
        frame["seed"] = frame["seed"].astype("uint64")
    for column in ("created", "started"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
