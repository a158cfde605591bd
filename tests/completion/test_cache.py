"""The suggestion cache, including typed-through hits."""

from __future__ import annotations

from gosidecar.completion.cache import CacheKey, SuggestionCache

TEXT = "package p\n\nfunc f() {\n\tfmt.Pr\n}\n"
URI = "file:///p.go"


def request_at(text: str, cursor: int) -> tuple[CacheKey, str]:
    return CacheKey.of(URI, text, cursor)


def test_exact_and_typed_through_hits() -> None:
    cache = SuggestionCache()
    cursor = TEXT.index("fmt.Pr") + len("fmt.Pr")
    cache.put(*request_at(TEXT, cursor), 'intln("hi")')
    assert cache.get(*request_at(TEXT, cursor)) == 'intln("hi")'
    typed = TEXT[:cursor] + "int" + TEXT[cursor:]
    assert cache.get(*request_at(typed, cursor + 3)) == 'ln("hi")'


def test_typing_something_else_or_finishing_the_suggestion_misses() -> None:
    cache = SuggestionCache()
    cursor = TEXT.index("fmt.Pr") + len("fmt.Pr")
    cache.put(*request_at(TEXT, cursor), "intln()")
    other = TEXT[:cursor] + "ef" + TEXT[cursor:]
    assert cache.get(*request_at(other, cursor + 2)) is None
    done = TEXT[:cursor] + "intln()" + TEXT[cursor:]
    assert cache.get(*request_at(done, cursor + 7)) is None


def test_an_edit_elsewhere_in_the_file_misses() -> None:
    cache = SuggestionCache()
    cursor = TEXT.index("fmt.Pr") + len("fmt.Pr")
    cache.put(*request_at(TEXT, cursor), "intln()")
    edited = "// note\n" + TEXT
    assert cache.get(*request_at(edited, cursor + 8)) is None


def test_least_recently_used_entries_go_first() -> None:
    cache = SuggestionCache(capacity=2)
    key, _ = request_at(TEXT, 10)
    cache.put(key, "a", "1")
    cache.put(key, "b", "2")
    assert cache.get(key, "a") == "1"
    cache.put(key, "c", "3")
    assert cache.get(key, "b") is None
    assert cache.get(key, "a") == "1"
