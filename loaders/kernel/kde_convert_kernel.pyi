"""The converter's compiled pass (src/lib.rs): CSV rows → typed JSON lines, rows it is unsure of handed back."""

class Kernel:
    def __init__(
        self,
        columns: int,
        fields: list[tuple[int, str, bool, float | None, float | None, bytes]],
        null_values: list[bytes],
    ) -> None:
        """`fields`: (column index, x-parse, nullable, minimum, maximum, JSON key prefix) per schema field."""

    def convert(self, chunk: bytes, first_line: int) -> tuple[bytes, int, list[tuple[int, bytes]]]:
        """(JSON lines of the rows converted, how many, [(line, row bytes)] of the rows left to the caller)."""
