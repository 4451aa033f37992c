"""Typed records for what the JSON API returns, and the JSON Schema generated from them.

A record is a frozen dataclass (kb.responses holds them all). Each field's metadata carries what
its JSON Schema says beyond its type (description, examples, format, minimum); the type gives
the rest: str/int/float/bool, `X | None` (nullable), list[X], dict[str, X], Literal[...] and
`Annotated[str, Choice(...)]` (an enum; a named one is its own component), and another record
(a `$ref` to its component). Every object is closed (`additionalProperties: false`) and every
field is required except one whose default is OMIT, which is left out of the JSON when unset.

`to_json()` is the only way a record becomes JSON and `from_dict` the only way a dict (an
engine's hit, an effect from kb.core.effects) becomes a record: a key the record does not
declare is refused, so an undocumented field fails where the response is built, in the tests,
never in a client. Records also read like the dicts they replace (`hit["id"]`, `hit.get(...)`)
for the pages, the CLI and the tests.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin


class _Omit:
    """The default of a field that is left out of the JSON unless it is given."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "OMIT"

    def __bool__(self) -> bool:
        return False


OMIT: Any = _Omit()


@dataclass(frozen=True)
class Choice:
    """`Annotated[str, Choice(values)]`: one of these strings. With a name the enum is a
    component of its own (`#/components/schemas/<name>`), shared by every field of that type."""

    values: tuple[str, ...]
    name: str | None = None
    description: str = ""


class UndocumentedField(ValueError):
    """A dict given to a record has a key the record does not declare."""


def info(description: str = "", *, default: Any = dataclasses.MISSING, **schema: Any) -> Any:
    """A record field: its description and any other JSON Schema keywords (examples, format,
    minimum). `default=OMIT` makes it optional (left out of the JSON when not given)."""
    metadata = {"description": description, **schema} if description else schema
    if isinstance(default, list | dict):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


class Record(Mapping):
    """The base of every response record: frozen dataclasses that read like a dict."""

    def to_json(self) -> dict[str, Any]:
        return {
            name: as_json(value)
            for name in _names(type(self))
            if (value := getattr(self, name)) is not OMIT
        }

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, key, OMIT) if key in _names(type(self)) else OMIT
        if value is OMIT:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name in _names(type(self)) if getattr(self, name) is not OMIT)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        """The record of a dict with exactly its fields (nested records from nested dicts)."""
        converters = _converters(cls)
        extra = set(data) - converters.keys()
        if extra:
            raise UndocumentedField(f"{cls.__name__} has no field {', '.join(sorted(extra))}")
        return cls(
            **{
                name: value if (convert := converters[name]) is None else convert(value)
                for name, value in data.items()
            }
        )


def as_json(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    return value


@functools.cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, include_extras=True)
    return {name: hints[name] for name in _names(cls)}


def _strip(hint: Any) -> Any:
    return get_args(hint)[0] if get_origin(hint) is Annotated else hint


@functools.cache
def _converters(cls: type) -> dict[str, Callable[[Any], Any] | None]:
    """Each field's converter (_converter), worked out once per record type: a search
    response converts hundreds of values, and reading their hints each time cost more than
    the rest of building the record."""
    return {name: _converter(hint) for name, hint in _hints(cls).items()}


@functools.cache
def _converter(hint: Any) -> Callable[[Any], Any] | None:
    """The function turning a value (from a dict) into the hinted type (records from dicts,
    inside lists and dicts too; None and OMIT as they are), or None where the value is kept
    as it is."""
    hint = _strip(hint)
    origin = get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, Record):
        return functools.partial(_as_record, hint)
    if origin is list:
        return functools.partial(_as_list, _converter(get_args(hint)[0]))
    if origin is dict:
        return functools.partial(_as_dict, _converter(get_args(hint)[1]))
    if origin in (Union, types.UnionType):
        inner = [arg for arg in get_args(hint) if arg is not type(None)]
        return _converter(inner[0]) if len(inner) == 1 else None
    return None


def _as_record(record: type[Record], value: Any) -> Any:
    if value is None or value is OMIT or isinstance(value, Record):
        return value
    return record.from_dict(value) if isinstance(value, Mapping) else value


def _as_list(item: Callable[[Any], Any] | None, value: Any) -> Any:
    if value is None or value is OMIT:
        return value
    return list(value) if item is None else [item(v) for v in value]


def _as_dict(item: Callable[[Any], Any] | None, value: Any) -> Any:
    if value is None or value is OMIT:
        return value
    if item is None:
        return dict(value.items())
    return {key: item(v) for key, v in value.items()}


# --- JSON Schema ------------------------------------------------------------------------------

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


class SchemaSet:
    """The components a set of records needs: each record, each named enum, by name."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def add(self, record: type[Record]) -> dict[str, str]:
        """The record's component (and those it refers to); returns a $ref to it."""
        name = record.__name__
        if name not in self.schemas:
            self.schemas[name] = {}  # taken before its fields: a record may refer to itself
            self.schemas[name] = self.object_schema(record)
        return _ref(name)

    def object_schema(self, record: type[Record]) -> dict[str, Any]:
        fields = dataclasses.fields(record)
        hints = _hints(record)
        schema: dict[str, Any] = {
            "type": "object",
            "required": [f.name for f in fields if f.default is not OMIT],
            "properties": {f.name: self.field_schema(hints[f.name], f) for f in fields},
            "additionalProperties": False,
        }
        return {**schema, **_described(record), **getattr(record, "__schema__", {})}

    def field_schema(self, hint: Any, f: dataclasses.Field) -> dict[str, Any]:
        return {**self.type_schema(hint), **f.metadata}

    def type_schema(self, hint: Any) -> dict[str, Any]:
        if get_origin(hint) is Annotated:
            return self.choice_schema(get_args(hint)[1])
        origin = get_origin(hint)
        if origin in (Union, types.UnionType):
            return self.nullable_schema(hint)
        if origin is list:
            return {"type": "array", "items": self.type_schema(get_args(hint)[0])}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.type_schema(get_args(hint)[1])}
        if origin is Literal:
            return {"type": "string", "enum": list(get_args(hint))}
        if isinstance(hint, type) and issubclass(hint, Record):
            return self.add(hint)
        if hint in _SCALARS:
            return {"type": _SCALARS[hint]}
        raise TypeError(f"no JSON Schema for {hint!r}")

    def nullable_schema(self, hint: Any) -> dict[str, Any]:
        inner = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(inner) != 1 or len(get_args(hint)) != 2:
            raise TypeError(f"only `X | None` unions have a JSON Schema, not {hint!r}")
        schema = self.type_schema(inner[0])
        if "type" in schema and isinstance(schema["type"], str) and "enum" not in schema:
            return {**schema, "type": [schema["type"], "null"]}
        return {"oneOf": [schema, {"type": "null"}]}

    def choice_schema(self, choice: Choice) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "enum": list(choice.values)}
        if choice.description:
            schema["description"] = choice.description
        if choice.name is None:
            return schema
        self.schemas.setdefault(choice.name, schema)
        return _ref(choice.name)


def _described(record: type[Record]) -> dict[str, str]:
    """The record's docstring, which is its schema's description (dataclass makes one up,
    "Name(field: type, ...)", for a record without one: that is not a description)."""
    doc = " ".join((record.__doc__ or "").split())
    return {"description": doc} if doc and not doc.startswith(f"{record.__name__}(") else {}


def component_schemas(*records: type[Record]) -> dict[str, Any]:
    """`components.schemas` for these records and everything they refer to."""
    found = SchemaSet()
    for record in records:
        found.add(record)
    return found.schemas
