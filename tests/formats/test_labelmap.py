"""Label maps: both pbtxt syntaxes, the real AVA files, round trip, errors."""

from __future__ import annotations

import pytest

from avaloc.errors import InputError
from avaloc.formats import LabelMap, parse_label_map, read_label_map, write_label_map


def test_real_80_class_list(ava_dir):
    label_map = read_label_map(ava_dir / "ava_action_list_v2.2.pbtxt")
    assert len(label_map) == 80
    assert label_map.ids == list(range(1, 81))
    assert label_map[12] == "stand"
    assert label_map[80] == "watch (a person)"
    assert label_map.label_types[1] == "PERSON_MOVEMENT"
    assert set(label_map.label_types.values()) == {
        "PERSON_MOVEMENT",
        "OBJECT_MANIPULATION",
        "PERSON_INTERACTION",
    }


def test_real_activitynet_60_class_list(ava_dir):
    label_map = read_label_map(ava_dir / "ava_action_list_v2.2_for_activitynet_2019.pbtxt")
    assert len(label_map) == 60
    assert 2 not in label_map  # crawl is not among the 60 evaluated classes
    assert label_map[1] == "bend/bow (at the waist)"
    assert label_map.label_types == {}
    full = read_label_map(ava_dir / "ava_action_list_v2.2.pbtxt")
    assert all(full[i] == name for i, name in label_map.items())


def test_both_syntaxes_and_comments():
    text = """
    # a comment
    label { name: "stand" label_id: 12 label_type: PERSON_MOVEMENT }
    item {
      name: 'talk to (e.g., self, a person, a group)'
      id: 79
    }
    item { display_name: "watch" id: 80 }
    """
    label_map = parse_label_map(text)
    assert label_map.names == {
        12: "stand",
        79: "talk to (e.g., self, a person, a group)",
        80: "watch",
    }
    assert label_map.label_types == {12: "PERSON_MOVEMENT"}
    assert label_map.index_of() == {12: 0, 79: 1, 80: 2}


def test_round_trip(tmp_path):
    original = LabelMap({3: 'say "hi"', 1: "a\\b"}, {1: "PERSON_MOVEMENT"})
    write_label_map(original, tmp_path / "m.pbtxt")
    again = read_label_map(tmp_path / "m.pbtxt")
    assert again.names == original.names and list(again) == [3, 1]
    assert again.label_types == {1: "PERSON_MOVEMENT"}


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('item { name: "a" id: 1 }\nitem { name: "b" id: 1 }', 2, "duplicate id 1"),
        ('item { name: "a" }', 1, "without 'id'"),
        ("item { id: 4 }", 1, "without 'name'"),
        ('item { name: "a" id: 1 ', 1, "unclosed"),
        ('\n\nthing { name: "a" id: 1 }', 3, "expected 'item"),
        ('item { name: "a" id: 1 } @', 1, "unexpected text"),
        ("", None, "no entries"),
    ],
)
def test_errors_name_the_line(tmp_path, text, line, fragment):
    path = tmp_path / "bad.pbtxt"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_label_map(path)
    assert fragment in info.value.what
    assert info.value.line == line
    assert str(path) in info.value.message


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_label_map(tmp_path / "absent.pbtxt")
