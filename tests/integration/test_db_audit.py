"""The hash-chained audit log detects edits and deletions, and stays linear under concurrent appends."""

from __future__ import annotations

import threading

from sqlalchemy import text

from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.db.migrations import migrate


def _db(url: str) -> Database:
    migrate(url, "compliance", None)
    return Database(url)


def test_edit_and_deletion_are_detected_at_the_first_broken_link(db_url: str) -> None:
    db, log = _db(db_url), AuditLog("compliance")
    with db.session() as s:
        for i in range(6):
            log.append(
                s, actor="officer", action="case.transition", subject=f"cases/{i}", data={"to": "open"}
            )
    with db.session() as s:
        assert log.verify(s).ok and log.verify(s).checked == 6
        s.execute(text('UPDATE audit_log SET data_json = \'{"to": "resolved"}\' WHERE seq = 4'))
    with db.session() as s:
        result = log.verify(s)
    assert (result.ok, result.first_broken_seq) == (False, 4) and "hash" in (result.reason or "")
    with db.session() as s:
        s.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
        log.append(s, actor="x", action="y", subject="z")
        s.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    with db.session() as s:
        result = log.verify(s)
    assert (result.ok, result.first_broken_seq) == (False, 2) and "missing" in (result.reason or "")


def test_streams_are_separate_chains(db_url: str) -> None:
    db = _db(db_url)
    with db.session() as s:
        AuditLog("a").append(s, actor="u", action="x", subject="s")
        AuditLog("b").append(s, actor="u", action="x", subject="s")
        assert AuditLog("a").verify(s).checked == 1 and AuditLog("b").entries(s)[0].seq == 1


def test_concurrent_appends_keep_one_valid_chain(db_url: str) -> None:
    db, log = _db(db_url), AuditLog("rules")

    def writer(n: int) -> None:
        for i in range(25):
            with db.session() as s:
                log.append(s, actor=f"w{n}", action="write", subject=f"s{i}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.session() as s:
        result = log.verify(s)
        assert result.ok and result.checked == 100 and log.count(s) == 100


def test_list_pages_in_sequence_order_and_filters_by_resource(db_url: str) -> None:
    db, log = _db(db_url), AuditLog("points")
    with db.session() as s:
        for i in range(7):
            log.append(s, actor="u", action="adjust", subject=f"accounts/{i % 2}", data={"i": i})
    with db.session() as s:
        seen, after = [], 0
        while after is not None:
            page = log.list(s, page_size=3, after_seq=after)
            seen += [e.seq for e in page.entries]
            after = page.next_after_seq
        assert seen == [1, 2, 3, 4, 5, 6, 7]
        only = log.list(s, page_size=10, resource="accounts/1")
        assert [e.data["i"] for e in only.entries] == [1, 3, 5] and only.next_after_seq is None
        assert log.verify(s).entries_checked == 7
