"""GOMEMLIMIT for gopls, gopls version detection, and gopls's memoryLimit setting."""

from __future__ import annotations

import subprocess

import pytest

from gosidecar.memory_limit import (
    gomemlimit_env,
    gopls_supports_memory_limit,
    soft_limit_bytes,
    user_memory_limit,
    with_memory_limit,
)

MiB = 1024 * 1024
GiB = 1024 * MiB


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


def test_our_memory_limit_is_the_soft_limit_in_bytes() -> None:
    assert soft_limit_bytes(2048) == 1843 * MiB, "the same figure as GOMEMLIMIT"
    assert soft_limit_bytes(0) == 0


def test_initialization_options_get_the_memory_limit() -> None:
    options = {"gofumpt": True}
    assert with_memory_limit(options, 2 * GiB) == {"gofumpt": True, "memoryLimit": 2 * GiB}
    assert options == {"gofumpt": True}, "input unchanged"
    assert with_memory_limit(None, 2 * GiB) == {"memoryLimit": 2 * GiB}


@pytest.mark.parametrize(
    ("options", "limit"),
    [
        ({"memoryLimit": 123}, 2 * GiB),  # the editor's own value stays
        ({"a": 1}, 0),
        (None, 0),
        (["weird"], GiB),
    ],
)
def test_initialization_options_left_alone(options: object, limit: int) -> None:
    assert with_memory_limit(options, limit) == options


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"memoryLimit": 536870912}, 536870912),
        ({"memoryLimit": 536870912.0}, 536870912),  # JSON numbers may arrive as floats
        ({"memoryLimit": 0}, 0),
        ({"gofumpt": True}, None),
        (None, None),
        ("weird", None),
        ({"memoryLimit": "512MiB"}, None),  # gopls rejects suffixes
        ({"memoryLimit": 1.5}, None),
        ({"memoryLimit": float("inf")}, None),
        ({"memoryLimit": True}, None),
    ],
)
def test_the_users_memory_limit_is_read_from_an_answer(answer: object, expected: int | None) -> None:
    assert user_memory_limit(answer) == expected
