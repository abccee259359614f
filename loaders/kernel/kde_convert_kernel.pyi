"""The converter's compiled pass (src/lib.rs): CSV rows → typed JSON lines, rows it is unsure of handed back."""

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
