"""Search results follow every change to the book (remembered result lists are invalidated)."""

from __future__ import annotations

from helpers import Api


def _search(api: Api, body: dict | None = None, **params: object) -> dict:
    response = api.post("/v2/invoicing/search-invoices", body or {},
                        params={"total_required": "true", **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_search_sees_creates_deletes_and_status_changes(api: Api) -> None:
    first = api.create(number="C-1")
    assert [i["id"] for i in _search(api)["items"]] == [first["id"]]

    second = api.create(number="C-2")
    page = _search(api)
    assert page["total_items"] == 2
    assert [i["id"] for i in page["items"]] == [second["id"], first["id"]]  # newest first

    assert api.delete(f"/v2/invoicing/invoices/{second['id']}").status_code == 204
    assert [i["id"] for i in _search(api)["items"]] == [first["id"]]

    sent = {"status": ["SENT"]}
    assert _search(api, sent)["total_items"] == 0
    assert api.send(first["id"]).status_code == 200
    assert _search(api, sent)["total_items"] == 1
    assert api.pay(first["id"]).status_code == 200
    assert _search(api, sent)["total_items"] == 0
    assert _search(api, {"status": ["MARKED_AS_PAID"]})["total_items"] == 1


def test_pages_of_one_query_are_cut_from_one_ordering(api: Api) -> None:
    ids = [api.create(number=f"P-{i:02d}")["id"] for i in range(7)]
    seen = []
    for page in (1, 2, 3):
        seen += [i["id"] for i in _search(api, page=page, page_size=3)["items"]]
    assert seen == ids[::-1]
    late = api.create(number="P-99")["id"]  # a new invoice goes to the front of page 1
    assert _search(api, page=1, page_size=3)["items"][0]["id"] == late
    # everything shifted by one: page 3 now ends with the two oldest
    assert [i["id"] for i in _search(api, page=3, page_size=3)["items"]] == [ids[1], ids[0]]
