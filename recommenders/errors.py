"""One error type for bad inputs, so every message names the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """A user-supplied file or value is unusable; the message says where and what to do."""

    def __init__(self, path: str | Path | None, field: str | None, problem: str, fix: str) -> None:
        self.path = None if path is None else str(path)
        self.field = field
        self.problem = problem
        self.fix = fix
        if self.path is None and field:
            where = field  # e.g. "TIE_DATA_DIR: …", not "<input>, field 'TIE_DATA_DIR'"
        else:
            where = self.path or "<input>"
            if field:
                where += f", field {field!r}"
        super().__init__(f"{where}: {problem}. Fix: {fix}")

    def __reduce__(self) -> tuple[type[DataError], tuple[str | None, str | None, str, str]]:
        # rebuilt from its four parts when copied or sent between processes (Ray, pickling)
        return (type(self), (self.path, self.field, self.problem, self.fix))
