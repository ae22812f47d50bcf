"""AVA label maps in pbtxt, in both syntaxes that the real files use.

The 80-class list writes ``label { name: "..." label_id: N label_type: ... }``; the ActivityNet
2019 60-class list writes ``item { name: "..." id: N }``. Both are read by one parser; ``id`` and
``label_id`` are synonyms, ``display_name`` is accepted as a name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from avaloc.errors import InputError
from avaloc.fileio import atomic_write

_TOKEN = re.compile(
    r"(?P<ws>\s+)|(?P<comment>#[^\n]*)|(?P<open>\{)|(?P<close>\})"
    r'|(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*:?|(?P<string>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')'
    r"|(?P<number>-?\d+)"
)
_UNESCAPE = re.compile(r"\\(.)")
_ID_KEYS = {"id", "label_id"}
_NAME_KEYS = {"name", "display_name"}


@dataclass(frozen=True)
class LabelMap(Mapping[int, str]):
    """Ordered mapping of action id -> name, with the optional AVA label type of each class."""

    names: dict[int, str]
    label_types: dict[int, str] = field(default_factory=dict)

    def __getitem__(self, action_id: int) -> str:
        return self.names[action_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def ids(self) -> list[int]:
        return list(self.names)

    def index_of(self) -> dict[int, int]:
        """Action id -> column index in a multi-hot target (label map order)."""
        return {action_id: index for index, action_id in enumerate(self.names)}


def _tokens(text: str, path: str) -> Iterator[tuple[str, str, int]]:
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            line = text.count("\n", 0, pos) + 1
            raise InputError(
                f"unexpected text {text[pos : pos + 20]!r} in label map", path=path, line=line
            )
        kind = match.lastgroup
        if kind not in ("ws", "comment"):
            value = match.group("key") if kind == "key" else match.group(kind)
            yield kind, value, text.count("\n", 0, pos) + 1
        pos = match.end()


def parse_label_map(text: str, path: str = "<label map>") -> LabelMap:
    """Parse pbtxt text; raises InputError naming the line of the first problem."""
    names: dict[int, str] = {}
    label_types: dict[int, str] = {}
    tokens = list(_tokens(text, path))
    i = 0
    while i < len(tokens):
        kind, value, line = tokens[i]
        if kind != "key" or value not in ("item", "label"):
            raise InputError(
                f"expected 'item {{' or 'label {{', found {value!r}", path=path, line=line
            )
        if i + 1 >= len(tokens) or tokens[i + 1][0] != "open":
            raise InputError(f"expected '{{' after '{value}'", path=path, line=line)
        entry_line = line
        i += 2
        fields: dict[str, str] = {}
        while True:
            if i >= len(tokens):
                raise InputError("unclosed entry (missing '}')", path=path, line=entry_line)
            kind, value, line = tokens[i]
            if kind == "close":
                i += 1
                break
            if kind != "key" or i + 1 >= len(tokens):
                raise InputError(f"expected a field name, found {value!r}", path=path, line=line)
            field_kind, field_value, _ = tokens[i + 1]
            if field_kind == "string":
                field_value = _UNESCAPE.sub(r"\1", field_value[1:-1])
            elif field_kind != "number" and not (field_kind == "key" and value == "label_type"):
                raise InputError(f"field '{value}' has no value", path=path, line=line)
            fields[value] = field_value
            i += 2
        id_key = next((k for k in _ID_KEYS if k in fields), None)
        name_key = next((k for k in _NAME_KEYS if k in fields), None)
        if id_key is None:
            raise InputError("entry without 'id' or 'label_id'", path=path, line=entry_line)
        if name_key is None:
            raise InputError("entry without 'name'", path=path, line=entry_line)
        try:
            action_id = int(fields[id_key])
        except ValueError:
            raise InputError(
                f"id {fields[id_key]!r} is not an integer", path=path, line=entry_line
            ) from None
        if action_id in names:
            raise InputError(f"duplicate id {action_id}", path=path, line=entry_line)
        names[action_id] = fields[name_key]
        if "label_type" in fields:
            label_types[action_id] = fields["label_type"]
    if not names:
        raise InputError("label map holds no entries", path=path)
    return LabelMap(names=names, label_types=label_types)


def read_label_map(path: str | os.PathLike) -> LabelMap:
    """Read a pbtxt label map (``item``/``id`` or ``label``/``label_id`` syntax)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("label map not found", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("label map is not UTF-8 text", path=path) from None
    return parse_label_map(text, str(path))


def write_label_map(label_map: LabelMap | Mapping[int, str], path: str | os.PathLike) -> None:
    """Write the ``item { name: "..." id: N }`` syntax (plus ``label_type`` where known)."""
    types = label_map.label_types if isinstance(label_map, LabelMap) else {}
    with atomic_write(path) as handle:
        for action_id, name in label_map.items():
            escaped = name.replace("\\", "\\\\").replace('"', '\\"')
            handle.write(f'item {{\n  name: "{escaped}"\n  id: {action_id}\n')
            if action_id in types:
                handle.write(f"  label_type: {types[action_id]}\n")
            handle.write("}\n")
