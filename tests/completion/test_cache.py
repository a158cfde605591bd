"""The suggestion cache, including typed-through hits."""

from __future__ import annotations

from gosidecar.completion.cache import CacheKey, SuggestionCache
from gosidecar.completion.cursor import CursorContext, Edit

TEXT = "package p\n\nfunc f() {\n\tfmt.Pr\n}\n"
URI = "file:///p.go"


def request_at(text: str, cursor: int) -> tuple[CacheKey, str]:
    context = CursorContext.at_offset(text, cursor)
    return CacheKey.of(URI, context), context.line_prefix


def edit(text: str, start: int = 6, end: int = 6) -> Edit:
    return Edit(text, (3, start), (3, end))


def test_exact_and_typed_through_hits() -> None:
    cache = SuggestionCache()
    cursor = TEXT.index("fmt.Pr") + len("fmt.Pr")
    cache.put(*request_at(TEXT, cursor), edit('intln("hi")'))
    assert cache.get(*request_at(TEXT, cursor)) == edit('intln("hi")')
    typed = TEXT[:cursor] + "int" + TEXT[cursor:]
    assert cache.get(*request_at(typed, cursor + 3)) == edit('ln("hi")', 9, 9)


def test_a_typed_through_hit_keeps_replacing_the_auto_closed_characters() -> None:
    cache = SuggestionCache()
    text = TEXT.replace("fmt.Pr", 'fmt.Println("to")').replace("\n", "\r\n")
    cursor = text.index('"to') + 3
    cache.put(*request_at(text, cursor), Edit('tal:", total)', (3, 16), (3, 18)))
    typed = text[:cursor] + "tal" + text[cursor:]
    assert cache.get(*request_at(typed, cursor + 3)) == Edit(':", total)', (3, 19), (3, 21))


def test_typing_something_else_or_finishing_the_suggestion_misses() -> None:
    cache = SuggestionCache()
    cursor = TEXT.index("fmt.Pr") + len("fmt.Pr")
    cache.put(*request_at(TEXT, cursor), edit("intln()"))
    other = TEXT[:cursor] + "ef" + TEXT[cursor:]
    assert cache.get(*request_at(other, cursor + 2)) is None
    done = TEXT[:cursor] + "intln()" + TEXT[cursor:]
    assert cache.get(*request_at(done, cursor + 7)) is None


def test_an_edit_elsewhere_in_the_file_misses() -> None:
    cache = SuggestionCache()
    cursor = TEXT.index("fmt.Pr") + len("fmt.Pr")
    cache.put(*request_at(TEXT, cursor), edit("intln()"))
    edited = "// note\n" + TEXT
    assert cache.get(*request_at(edited, cursor + 8)) is None


def test_least_recently_used_entries_go_first() -> None:
    cache = SuggestionCache(capacity=2)
    key, _ = request_at(TEXT, 10)
    cache.put(key, "a", edit("1"))
    cache.put(key, "b", edit("2"))
    assert cache.get(key, "a") == edit("1")
    cache.put(key, "c", edit("3"))
    assert cache.get(key, "b") is None
    assert cache.get(key, "a") == edit("1")
