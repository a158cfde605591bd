"""LSP glob semantics and gopls's registration shapes."""

from __future__ import annotations

import pytest

from gosidecar.file_events.globs import (
    FileWatcher,
    WatcherSet,
    compile_glob,
    parse_watchers,
)
from gosidecar.file_events.lsp import FileChangeType


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/*.{go,mod,sum,work}", "/w/a/b.go", True),
        ("**/*.{go,mod,sum,work}", "/w/go.sum", True),
        ("**/*.{go,mod,sum,work}", "/w/a.txt", False),
        ("**/*.go", "/w/a.go/b", False),
        ("*.go", "a.go", True),
        ("*.go", "a/b.go", False),
        ("a/?.go", "a/b.go", True),
        ("a/?.go", "a/bc.go", False),
        ("a?b", "a/b", False),
        ("[abc].go", "b.go", True),
        ("[!abc].go", "b.go", False),
        ("[!abc].go", "d.go", True),
        ("[a-c]x", "bx", True),
        ("x[!a]y", "x/y", False),
        ("x[/]y", "x/y", False),
        ("[]]", "]", True),
        ("{a,b/**/c}.go", "b/x/y/c.go", True),
        ("{a,{b,c}}.go", "c.go", True),
        ("{a,b}.go", "ab.go", False),
        ("**", "/any/thing", True),
        ("a/**", "a/b/c", True),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "ab", False),
        ("a**b", "a/b", False),
        ("{a", "{a", True),
        ("a.b", "axb", False),
        ("/w/pkg", "/w/pkg", True),
    ],
)
def test_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    assert bool(compile_glob(pattern).match(path)) is expected


def test_parse_watchers_reads_strings_relative_patterns_and_workspace_folders() -> None:
    options = {
        "watchers": [
            {"globPattern": "**/*.{mod,work}"},
            {
                "globPattern": {"baseUri": "file:///w/mod", "pattern": "**/*.go"},
                "kind": 4,
            },
            {
                "globPattern": {
                    "baseUri": {"uri": "file:///w", "name": "w"},
                    "pattern": "*.sum",
                }
            },
            {"globPattern": {"baseUri": "untitled:x", "pattern": "*"}},
            {"nonsense": True},
            "not a watcher",
        ]
    }
    assert parse_watchers(options) == [
        FileWatcher("**/*.{mod,work}", None, 7),
        FileWatcher("**/*.go", "/w/mod", 4),
        FileWatcher("*.sum", "/w", 7),
    ]
    assert parse_watchers(None) == []
    assert parse_watchers({"watchers": "x"}) == []


def test_relative_patterns_match_only_below_their_base() -> None:
    watchers = WatcherSet(
        parse_watchers({"watchers": [{"globPattern": {"baseUri": "file:///w/mod", "pattern": "**/*.go"}}]})
    )
    assert watchers.matches("/w/mod/a/b.go")
    assert watchers.matches("/w/mod/b.go")
    assert not watchers.matches("/w/other/b.go")
    assert not watchers.matches("/w/modx/b.go")


def test_watch_kinds_select_change_types() -> None:
    deletes_only = WatcherSet([FileWatcher("**/*.go", None, 4)])
    assert deletes_only.matches("/w/a.go", FileChangeType.Deleted)
    assert not deletes_only.matches("/w/a.go", FileChangeType.Changed)
    assert not deletes_only.matches("/w/a.go", FileChangeType.Created)
    assert deletes_only.matches("/w/a.go")  # any kind


def test_literal_directory_patterns_are_plain_paths() -> None:
    # gopls registers one literal pattern per known directory for VS Code.
    watchers = WatcherSet([FileWatcher(f"/w/pkg{i}") for i in range(5000)])
    assert watchers.matches("/w/pkg4999", FileChangeType.Deleted)
    assert watchers.names_literally("/w/pkg17")
    assert not watchers.matches("/w/pkg17/a.go")
    assert not WatcherSet()
