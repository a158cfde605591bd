"""The settings store services subscribe to, and the one reading of the editor's answers
to gopls's `workspace/configuration`."""

from __future__ import annotations

import dataclasses

from gosidecar.settings import (
    GoplsSettingsAnswer,
    Settings,
    SettingsStore,
    gopls_settings_answers,
    parse_settings,
)


def _with_debounce(settings: Settings, debounce_ms: int) -> Settings:
    return dataclasses.replace(settings, fileEvents=dataclasses.replace(settings.fileEvents, debounceMs=debounce_ms))


def test_subscribers_hear_each_change_once_in_their_order_with_old_and_new() -> None:
    store = SettingsStore()
    first = store.current
    heard: list[tuple[str, Settings, Settings]] = []
    store.subscribe(lambda old, new: heard.append(("supervisor", old, new)))
    store.subscribe(lambda old, new: heard.append(("file events", old, new)))
    changed = _with_debounce(first, 250)
    assert store.update(changed)
    assert store.current is changed
    assert heard == [("supervisor", first, changed), ("file events", first, changed)]


def test_an_update_that_changes_nothing_notifies_no_one() -> None:
    store = SettingsStore(parse_settings({"ai": {"enabled": False}}))
    heard: list[Settings] = []
    store.subscribe(lambda old, new: heard.append(new))
    assert not store.update(parse_settings({"ai": {"enabled": False}}))
    assert heard == []


def test_a_subscriber_reading_current_sees_the_new_settings() -> None:
    store = SettingsStore()
    seen: list[int] = []
    store.subscribe(lambda old, new: seen.append(store.current.fileEvents.debounceMs))
    store.update(_with_debounce(store.current, 40))
    assert seen == [40]


def test_gopls_answers_are_paired_with_their_items_and_other_sections_left_out() -> None:
    items = {
        "items": [
            {"section": "gopls", "scopeUri": "file:///w"},
            {"section": "go"},
            {"section": "gopls"},
            "not an item",
        ]
    }
    result = [{"directoryFilters": ["-gen"]}, {"goroot": "/go"}, None, {}]
    assert gopls_settings_answers(items, result) == [
        GoplsSettingsAnswer(scoped=True, settings={"directoryFilters": ["-gen"]}),
        GoplsSettingsAnswer(scoped=False, settings=None),
    ]


def test_gopls_answers_of_a_malformed_exchange_are_none() -> None:
    assert gopls_settings_answers(None, [{}]) == []
    assert gopls_settings_answers({"items": [{"section": "gopls"}]}, {"not": "a list"}) == []
    assert gopls_settings_answers({"items": "gopls"}, [{}]) == []
