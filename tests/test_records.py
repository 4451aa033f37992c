"""Response records (kb.records): the JSON Schema generated from a record, its JSON, and the
refusal of any field a record does not declare."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from typing import Annotated, Literal

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from kb.records import OMIT, Choice, Record, UndocumentedField, component_schemas, info
from kb.responses import SearchResult

Colour = Annotated[str, Choice(("red", "green"), "Colour", "A colour.")]


@dataclass(frozen=True)
class Leaf(Record):
    """A leaf."""

    name: str = info("Its name.", examples=["oak"])
    size: int = info(minimum=0)


@dataclass(frozen=True)
class Tree(Record):
    id: str
    planted: str | None = info("When.", format="date")
    height: float | None
    leaves: list[Leaf]
    best: Leaf | None
    colour: Colour
    shades: list[Colour]
    kind: Literal["evergreen", "deciduous"]
    tags: dict[str, str]
    aliases: list[str] | None
    note: str = info("Only sometimes.", default=OMIT)


def test_a_record_gives_its_schema_and_those_it_refers_to():
    schemas = component_schemas(Tree)
    assert schemas["Tree"] == {
        "type": "object",
        "required": [
            "id",
            "planted",
            "height",
            "leaves",
            "best",
            "colour",
            "shades",
            "kind",
            "tags",
            "aliases",
        ],
        "properties": {
            "id": {"type": "string"},
            "planted": {"type": ["string", "null"], "description": "When.", "format": "date"},
            "height": {"type": ["number", "null"]},
            "leaves": {"type": "array", "items": {"$ref": "#/components/schemas/Leaf"}},
            "best": {"oneOf": [{"$ref": "#/components/schemas/Leaf"}, {"type": "null"}]},
            "colour": {"$ref": "#/components/schemas/Colour"},
            "shades": {"type": "array", "items": {"$ref": "#/components/schemas/Colour"}},
            "kind": {"type": "string", "enum": ["evergreen", "deciduous"]},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            "aliases": {"type": ["array", "null"], "items": {"type": "string"}},
            "note": {"type": "string", "description": "Only sometimes."},
        },
        "additionalProperties": False,
    }
    assert schemas["Leaf"] == {
        "type": "object",
        "required": ["name", "size"],
        "properties": {
            "name": {"type": "string", "description": "Its name.", "examples": ["oak"]},
            "size": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": False,
        "description": "A leaf.",
    }
    assert schemas["Colour"] == {
        "type": "string",
        "enum": ["red", "green"],
        "description": "A colour.",
    }


def _tree(**changes) -> dict:
    data = {
        "id": "t1",
        "planted": "2031-05-10",
        "height": 2.5,
        "leaves": [{"name": "oak", "size": 3}],
        "best": None,
        "colour": "red",
        "shades": ["green"],
        "kind": "evergreen",
        "tags": {"park": "north"},
        "aliases": None,
    }
    return data | changes


def _errors(schemas: dict, name: str, body: dict) -> list[str]:
    schema = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": schemas}}
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return [error.message for error in validator.iter_errors(body)]


def test_a_record_s_json_fits_its_schema_and_an_extra_field_does_not():
    schemas = component_schemas(Tree)
    tree = Tree.from_dict(_tree())
    assert isinstance(tree.leaves[0], Leaf)  # nested dicts become records
    body = tree.to_json()
    assert body == _tree()  # an OMIT field is left out; nothing else is added
    assert _errors(schemas, "Tree", body) == []
    assert _errors(schemas, "Tree", body | {"extra": 1})  # closed
    assert _errors(schemas, "Tree", _tree(leaves=[{"name": "oak", "size": 3, "x": 1}]))
    assert _errors(schemas, "Tree", _tree(colour="blue"))
    assert _errors(schemas, "Tree", _tree(planted="10 May 2031"))
    with_note = Tree.from_dict(_tree(note="planted late")).to_json()
    assert with_note["note"] == "planted late" and _errors(schemas, "Tree", with_note) == []


def test_a_field_no_record_declares_is_refused_where_the_response_is_built():
    with pytest.raises(UndocumentedField, match="Tree has no field extra"):
        Tree.from_dict(_tree(extra=1))
    with pytest.raises(UndocumentedField, match="Leaf has no field colour"):
        Tree.from_dict(_tree(leaves=[{"name": "oak", "size": 3, "colour": "red"}]))
    with pytest.raises(TypeError):
        Tree(**_tree(), extra=1)


def test_an_engine_hit_with_a_field_the_api_does_not_describe_is_refused(client):
    hit = client.get("/api/v1/search?q=consult").get_json()["results"][0]
    assert SearchResult.from_dict(hit).to_json() == hit
    with pytest.raises(UndocumentedField, match="new_field"):
        SearchResult.from_dict(hit | {"new_field": 1})


def test_records_are_frozen_and_read_like_the_dicts_they_replace():
    tree = Tree.from_dict(_tree())
    assert tree["id"] == "t1" and tree.get("height") == 2.5 and tree["leaves"][0]["name"] == "oak"
    assert "note" not in tree and tree.get("note") is None  # OMIT: not there
    with pytest.raises(KeyError):
        tree["note"]
    assert "id" in tree and "nothing" not in tree
    assert list(tree) == list(_tree()) and len(tree) == len(_tree())
    with pytest.raises(FrozenInstanceError):
        tree.id = "t2"  # type: ignore[misc]


def test_a_type_with_no_json_schema_is_refused():
    @dataclass(frozen=True)
    class Odd(Record):
        either: int | str

    with pytest.raises(TypeError, match="only `X \\| None` unions"):
        component_schemas(Odd)
