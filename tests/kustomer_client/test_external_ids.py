"""Deterministic externalIds: same inputs, same id; short; URL-safe."""
from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from integrations.kustomer.external_ids import external_id, is_external_id


def test_same_inputs_same_id_across_processes():
    here = external_id("acme", "conversation", "session-123", 4)
    code = ("from integrations.kustomer.external_ids import external_id;"
            "print(external_id('acme', 'conversation', 'session-123', 4))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123", "PATH": ""},
                           cwd=Path(__file__).resolve().parents[2]).stdout.strip()
    assert here == there


@pytest.mark.parametrize(
    "other",
    [
        ("globex", "conversation", "session-123", 4),
        ("acme", "customer", "session-123", 4),
        ("acme", "conversation", "session-123", "4"),
        ("acme", "conversation", "session-1234"),
        ("acme", "conversation", "session-12", "3", 4),
        ("acme", "conversation", "session-123", 4, 5),
    ],
)
def test_different_inputs_different_ids(other):
    assert external_id("acme", "conversation", "session-123", 4) != external_id(*other)


def test_parts_are_not_ambiguous_when_joined():
    assert external_id("acme", "note", "a_b", "c") != external_id("acme", "note", "a", "b_c")
    assert external_id("a-b", "note", "c") != external_id("a", "note", "b-c")


def test_shape_short_and_url_safe():
    weird = "Ünïcode Tenant / with spaces & = signs, very very long name indeed"
    eid = external_id(weird, "message", "x/y?z=1", uuid.UUID(int=7))
    assert re.fullmatch(r"[a-z0-9_-]+", eid)
    assert len(eid) <= 80
    assert is_external_id(eid)
    assert not is_external_id("random")


def test_long_slugs_with_same_prefix_do_not_collide():
    a = external_id("x" * 40 + "a", "customer", "1")
    b = external_id("x" * 40 + "b", "customer", "1")
    assert a != b and a.split("_")[1] == b.split("_")[1]


@pytest.mark.parametrize("args", [("", "customer", "1"), ("acme", "Customer", "1"), ("acme", "customer"),
                                  ("acme", "cus tomer", "1")])
def test_bad_arguments(args):
    with pytest.raises(ValueError):
        external_id(*args)


def test_bad_part_types():
    with pytest.raises(TypeError):
        external_id("acme", "customer", 1.5)
    with pytest.raises(TypeError):
        external_id("acme", "customer", True)
