"""A tiny dynamic provider for the engine tests: a text file on disk. Lives in its own module (on the
engine's PYTHONPATH, see conftest) so the dynamic-provider plugin process can unpickle it by reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult


class FileProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        Path(props["path"]).write_text(props["content"] + props.get("secret", ""), encoding="utf-8")
        return CreateResult(id_=props["path"], outs=dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("path", "content", "secret")
        changed = [k for k in keys if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k == "path"], stables=[])

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        Path(news["path"]).write_text(news["content"] + news.get("secret", ""), encoding="utf-8")
        return UpdateResult(dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = Path(id_)
        if not path.exists():
            return ReadResult(None, {})
        text = path.read_text(encoding="utf-8")
        secret = props.get("secret", "")
        content = text[: len(text) - len(secret)] if secret and text.endswith(secret) else text
        return ReadResult(id_, {**props, "content": content})

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        Path(id_).unlink(missing_ok=True)


class TextFile(Resource, module="test", name="TextFile"):
    content: pulumi.Output[str]

    def __init__(self, name: str, path: str, content: str, secret: pulumi.Input[str] = "") -> None:
        super().__init__(FileProvider(), name, {"path": path, "content": content, "secret": secret})
