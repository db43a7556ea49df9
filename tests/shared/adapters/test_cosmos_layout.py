"""The Cosmos layout: ids Cosmos accepts for any domain key, append-ordered audit ids, and the
containers the recorded shapes and Terraform must agree on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from shared.adapters.azure.cosmos_layout import CONTAINERS, MAX_ID_LENGTH, SortableIds, document_id


def test_document_ids_are_valid_and_one_to_one() -> None:
    keys = ["<m1@x>", "a/b", "a%2Fb", "a?b#c\\d", "trailing ", "ü<é>@x", "x" * 300, "x" * 301, ""]
    ids = [document_id(key) for key in keys]

    assert len(set(ids)) == len(keys)
    assert all(not set(i) & set("/\\?#") and len(i) <= MAX_ID_LENGTH and not i.endswith(" ") for i in ids)
    assert document_id("<m1@mail.example>") == "<m1@mail.example>"  # plain ids stay readable


def test_sortable_ids_follow_append_order_across_threads() -> None:
    ids = SortableIds()
    sequential = [ids.next() for _ in range(1000)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda _: ids.next(), range(1000)))

    assert sequential == sorted(sequential) and len(set(sequential + concurrent)) == 2000
    assert max(sequential) < min(concurrent)


def test_containers_and_partition_keys() -> None:
    assert {name: spec.partition_key_path for name, spec in CONTAINERS.items()} == {
        "invoices": "/id",
        "audit": "/invoice_id",
        "messages": "/mailbox",
        "vendors": "/key",
        "exports": "/invoice_id",
        "items": "/kind",
    }
    invoices = CONTAINERS["invoices"].indexing_policy()
    assert {"path": "/record/*"} in invoices["excludedPaths"]
    assert [{"path": "/created_at", "order": "descending"}, {"path": "/id", "order": "descending"}] in invoices[
        "compositeIndexes"
    ]
