"""The substrates became components (components/docker_substrate.py, managed_substrate.py): their children,
declared at the stack's root before, take `moved_child`'s alias. On the real engine that keeps the URN of the
moved child and of everything beneath it, so a stack deployed before the move previews no replace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pulumi
from _file_provider import FileProvider
from pulumi import automation as auto
from pulumi.dynamic import Resource

from components._substrate_parts import moved_child


class NestedFile(Resource, module="test", name="TextFile"):
    def __init__(self, name: str, path: Path, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(FileProvider(), name, {"path": str(path), "content": name, "secret": ""}, opts)


class Holder(pulumi.ComponentResource):
    """Stands for a component the substrate now holds (StreamingPlatform, Msk, ...): a child of its own."""

    def __init__(self, name: str, path: Path, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Holder", name, None, opts)
        NestedFile(f"{name}-file", path, pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


class Substrate(pulumi.ComponentResource):
    def __init__(self, name: str, build: Callable[[pulumi.Resource], None]) -> None:
        super().__init__("test:substrate:Substrate", name, None)
        build(self)
        self.register_outputs({})


def test_children_moved_under_a_component_are_not_replaced(
    tmp_path: Path, engine_stack: Callable[..., auto.Stack]
) -> None:
    nested, loose = tmp_path / "nested.txt", tmp_path / "loose.txt"
    moved = {"now": False}

    def declare(parent: pulumi.Resource | None) -> None:
        opts = moved_child(parent) if parent is not None else None
        Holder("streaming", nested, opts)
        NestedFile("loose", loose, opts)

    def program() -> None:
        if moved["now"]:
            Substrate("substrate", declare)
        else:
            declare(None)

    stack = engine_stack(program)
    assert stack.up().summary.resource_changes == {"create": 4}  # the stack, the holder, 2 files
    moved["now"] = True
    # the new component is the only change: the holder, its file and the loose file keep their URNs
    assert stack.preview().change_summary == {"create": 1, "same": 4}
    assert stack.up().summary.resource_changes == {"create": 1, "same": 4}
    assert nested.read_text() == "streaming-file" and loose.read_text() == "loose"
    assert stack.preview().change_summary == {"same": 5}
