"""GOMEMLIMIT for gopls, gopls version detection, and the memoryLimit configuration merge."""

from __future__ import annotations

import subprocess

import pytest

from gosidecar.memory_limit import (
    gomemlimit_env,
    gopls_supports_memory_limit,
    merge_memory_limit,
)

GiB = 1024 * 1024 * 1024


def test_gomemlimit_is_ninety_percent_in_go_format() -> None:
    env = gomemlimit_env(2048, {"GOFLAGS": "-mod=mod"}, inherited_env={})
    assert env == {"GOFLAGS": "-mod=mod", "GOMEMLIMIT": "1843MiB"}


def test_gomemlimit_off_when_limit_is_zero() -> None:
    assert gomemlimit_env(0, {}, inherited_env={}) == {}


@pytest.mark.parametrize(
    ("user_env", "inherited_env", "expected"),
    [
        ({"GOMEMLIMIT": "3GiB"}, {}, "3GiB"),
        ({"GOMEMLIMIT": "off"}, {"GOMEMLIMIT": "1GiB"}, "off"),
        ({}, {"GOMEMLIMIT": "1GiB"}, None),
    ],
)
def test_gomemlimit_the_user_set_wins(
    user_env: dict[str, str], inherited_env: dict[str, str], expected: str | None
) -> None:
    env = gomemlimit_env(2048, user_env, inherited_env=inherited_env)
    assert env.get("GOMEMLIMIT") == expected


def test_gomemlimit_ignores_an_empty_inherited_value() -> None:
    assert gomemlimit_env(1000, {}, inherited_env={"GOMEMLIMIT": ""}) == {"GOMEMLIMIT": "900MiB"}


def test_gomemlimit_does_not_modify_the_user_env() -> None:
    user_env = {"A": "1"}
    gomemlimit_env(1000, user_env, inherited_env={})
    assert user_env == {"A": "1"}


@pytest.mark.parametrize(
    ("output", "supported"),
    [
        ("golang.org/x/tools/gopls v0.23.0\n", False),
        ("golang.org/x/tools/gopls v0.24.0\n", True),
        ("golang.org/x/tools/gopls v0.24.0-pre.1\n", True),
        ("golang.org/x/tools/gopls v0.25.3\n", True),
        ("golang.org/x/tools/gopls v1.0.0\n", True),
        ("golang.org/x/tools/gopls v0.16.1\n    golang.org/x/tools/gopls@v0.16.1 h1:abc=\n", False),
        ("golang.org/x/tools/gopls v0.23.1-0.20250801120000-0123456789ab\n", False),
        ("golang.org/x/tools/gopls v0.24.1-0.20251001120000-0123456789ab\n", True),
        ("golang.org/x/tools/gopls (devel)\n", False),
        ("v0.24.0", True),
        ("0.23.0", False),
        ("", False),
        ("command not found", False),
    ],
)
def test_gopls_version_detection(output: str, supported: bool) -> None:
    assert gopls_supports_memory_limit(output) is supported


def test_the_installed_gopls_is_detected(gopls_path: str) -> None:
    output = subprocess.run([gopls_path, "version"], capture_output=True, text=True, check=True, timeout=30).stdout
    assert "gopls v0." in output
    assert gopls_supports_memory_limit(output) is ("gopls v0.23." not in output)


def test_merge_injects_into_gopls_sections_only() -> None:
    items = [{"gofumpt": True}, {"editor.tabSize": 4}, None]
    merged = merge_memory_limit(items, ["gopls", "go", "gopls"], 2 * GiB)
    assert merged == [
        {"gofumpt": True, "memoryLimit": 2 * GiB},
        {"editor.tabSize": 4},
        {"memoryLimit": 2 * GiB},
    ]
    assert items == [{"gofumpt": True}, {"editor.tabSize": 4}, None], "input unchanged"


def test_merge_keeps_the_users_memory_limit() -> None:
    items = [{"memoryLimit": 123}]
    assert merge_memory_limit(items, ["gopls"], 2 * GiB) == [{"memoryLimit": 123}]


@pytest.mark.parametrize(
    ("items", "sections", "limit"),
    [
        ([{"a": 1}], ["gopls"], 0),
        ([None, "weird"], [None, "gopls"], GiB),
        ([{"a": 1}], [], GiB),
        ([], ["gopls"], GiB),
    ],
)
def test_merge_leaves_alone_what_it_cannot_or_should_not_touch(
    items: list[object], sections: list[str | None], limit: int
) -> None:
    assert merge_memory_limit(items, sections, limit) == items
