"""The compiled passes: the converter's (src/lib.rs: CSV rows → typed JSON lines, rows it is unsure of handed
back), the load's (src/lines.rs: JSON lines → ids and bytes, or BSON documents, of the records certainly valid)
and the batch pipeline's (src/columns.rs: a page of BSON documents → Arrow column buffers, or None)."""

class JsonLines:
    """The converted rows' JSON lines as a read-only buffer (`file.write` takes it without a copy)."""

    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __len__(self) -> int: ...

class Kernel:
    def __init__(
        self,
        columns: int,
        fields: list[tuple[int, str, bool, float | None, float | None, bytes]],
        null_values: list[bytes],
    ) -> None:
        """`fields`: (column index, x-parse, nullable, minimum, maximum, JSON key prefix) per schema field."""

    def convert(self, chunk: bytes, first_line: int) -> tuple[JsonLines, int, list[tuple[int, bytes]]]:
        """(JSON lines of the rows converted, how many, [(line, row bytes)] of the rows left to the caller)."""

class LineChecker:
    def __init__(self, fields: list[tuple[str, list[str], bool, float | None, float | None]], key: list[str]) -> None:
        """`fields`: (name, JSON Schema type names, required, minimum, maximum) per property; `key`: the id's."""

    def check(
        self, block: bytes, first_line: int, limit: int, prefix: bytes
    ) -> tuple[list[bytes], list[bytes], list[tuple[int, int, bytes]], int]:
        """For up to `limit` lines: (ids, prefix + JSON) of the lines certainly valid, (line, accepted before it,
        bytes) of those left, and how many lines it went through."""

    def check_bson(
        self, block: bytes, first_line: int, limit: int, id_field: str
    ) -> tuple[list[bytes], list[bytes], list[tuple[int, int, bytes]], int]:
        """`check`, each accepted record as a BSON document with its id under `id_field` first; ValueError when
        `id_field` is a property."""

class ColumnReader:
    def __init__(self, columns: list[tuple[str, str, bool]], skip: str) -> None:
        """`columns`: (name, JSON Schema type, nullable) in the table's order; `skip`: the field that is no column."""

    def read(self, page: bytes) -> tuple[int, list[tuple[int, bytes | None, list[bytes]]]] | None:
        """(rows, per column (null count, validity bits or None, value buffers)), or None: the Python path's."""
