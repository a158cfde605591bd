"""The directory plan on a real filesystem: aliases, cycles, links out, filters."""

from __future__ import annotations

from pathlib import Path

import pytest

from gosidecar.file_events.lsp import FileChangeType
from gosidecar.file_events.tree import DirectoryFilters, Root, Tree, diff_trees
from tests.file_events.support import append, bazel_like_workspace


def test_each_real_directory_is_listed_once_and_known_by_all_its_names(
    tmp_path: Path,
) -> None:
    real_file = bazel_like_workspace(tmp_path)
    tree = Tree([Root.of(str(tmp_path))], DirectoryFilters())
    pkg = str(real_file.parent)
    assert list(tree.files).count(pkg) == 1
    assert tree.files[pkg].keys() == {"a.go"}
    assert tree.view_paths(str(real_file)) == [
        str(real_file),
        str(tmp_path / "abs" / "a.go"),
        str(tmp_path / "linked" / "a.go"),
        str(tmp_path / "bazel-out" / "pkg" / "a.go"),
    ]


def test_a_symlink_cycle_ends_the_walk(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "up").symlink_to("../..", target_is_directory=True)
    (tmp_path / "self").symlink_to(".", target_is_directory=True)
    tree = Tree([Root.of(str(tmp_path))], DirectoryFilters())
    assert sorted(tree.files) == sorted(str(tmp_path / p) for p in ("", "a", "a/b"))


def test_links_out_of_the_roots_are_not_followed(tmp_path: Path) -> None:
    workspace, elsewhere = tmp_path / "ws", tmp_path / "elsewhere"
    workspace.mkdir()
    (elsewhere / "pkg").mkdir(parents=True)
    (workspace / "vendored").symlink_to(elsewhere / "pkg", target_is_directory=True)
    tree = Tree([Root.of(str(workspace))], DirectoryFilters())
    assert list(tree.files) == [str(workspace)]
    assert tree.outside_links == [str(workspace / "vendored")]
    # ...unless the target is a root itself (gopls registered it).
    tree = Tree([Root.of(str(workspace)), Root.of(str(elsewhere))], DirectoryFilters())
    assert str(elsewhere / "pkg") in tree.files
    assert tree.view_paths(str(elsewhere / "pkg" / "x.go"))[-1] == str(workspace / "vendored" / "x.go")


@pytest.mark.parametrize(
    ("rules", "path", "included"),
    [
        (["-**/node_modules"], "a/node_modules/b", False),
        (["-**/node_modules"], "node_modules", False),
        (["-bazel-out"], "bazel-out", False),
        (["-bazel-out"], "bazel-out/x", False),
        (["-bazel-out"], "x/bazel-out", True),
        (["-foo", "+foo/bar"], "foo/bar", True),
        (["-foo", "+foo/bar"], "foo/baz", False),
        (["+foobar", "-foo"], "foobar", True),
        (["bogus", "-gen"], "gen", False),
        ([], "anything", True),
    ],
)
def test_directory_filters_follow_gopls(rules: list[str], path: str, included: bool) -> None:
    assert DirectoryFilters(rules).includes(path) is included


def test_git_node_modules_and_filtered_trees_are_skipped(tmp_path: Path) -> None:
    for sub in (".git/objects", "node_modules/x", "bazel-bin/y", "src"):
        (tmp_path / sub).mkdir(parents=True)
    tree = Tree([Root.of(str(tmp_path))], DirectoryFilters(["-bazel-bin"]))
    assert sorted(tree.files) == [str(tmp_path), str(tmp_path / "src")]


def test_subtrees_come_and_go_and_rescans_diff(tmp_path: Path) -> None:
    tree = Tree([Root.of(str(tmp_path))], DirectoryFilters())
    (tmp_path / "gen" / "sub").mkdir(parents=True)
    (tmp_path / "gen" / "sub" / "x.go").write_text("package sub\n")
    added = tree.add_subtree(str(tmp_path / "gen"))
    assert str(tmp_path / "gen" / "sub" / "x.go") in added
    before = Tree([Root.of(str(tmp_path))], DirectoryFilters())
    append(tmp_path / "gen" / "sub" / "x.go")
    (tmp_path / "new.go").write_text("package w\n")
    (tmp_path / "gen" / "sub" / "x.go").unlink()
    after = Tree([Root.of(str(tmp_path))], DirectoryFilters())
    assert sorted(diff_trees(before, after)) == [
        (str(tmp_path / "gen" / "sub" / "x.go"), FileChangeType.Deleted),
        (str(tmp_path / "new.go"), FileChangeType.Created),
    ]
    gone = tree.remove_subtree(str(tmp_path / "gen"))
    assert str(tmp_path / "gen" / "sub") in gone
    assert str(tmp_path / "gen") not in tree.files


def test_the_cap_is_shared_breadth_first_by_all_roots(tmp_path: Path) -> None:
    for root in ("one", "two"):
        (tmp_path / root / "a" / "deep").mkdir(parents=True)
    roots = [Root.of(str(tmp_path / "one")), Root.of(str(tmp_path / "two"))]
    tree = Tree(roots, DirectoryFilters(), max_dirs=4)
    assert sorted(tree.files) == sorted(str(tmp_path / p) for p in ("one", "two", "one/a", "two/a"))
    assert tree.over_cap == {str(tmp_path / "one" / "a" / "deep"), str(tmp_path / "two" / "a" / "deep")}


def test_a_directory_over_the_cap_is_listed_once_there_is_room(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    (tmp_path / "b" / "x.go").write_text("package b\n")
    tree = Tree([Root.of(str(tmp_path))], DirectoryFilters(), max_dirs=2)
    assert tree.over_cap == {str(tmp_path / "b")}
    (tmp_path / "a").rmdir()
    assert tree.refresh_dir(str(tmp_path)) == [(str(tmp_path / "a"), FileChangeType.Deleted)]
    tree.fill_to_cap()
    assert tree.over_cap == set()
    assert tree.files.keys() == {str(tmp_path), str(tmp_path / "b")}
    assert tree.files[str(tmp_path / "b")].keys() == {"x.go"}


def test_a_directory_over_the_cap_that_goes_away_is_forgotten(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    tree = Tree([Root.of(str(tmp_path))], DirectoryFilters(), max_dirs=2)
    (tmp_path / "b").rmdir()
    tree.refresh_dir(str(tmp_path))
    assert tree.over_cap == set()
