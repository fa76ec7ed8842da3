"""Invoice templates: PayPal's three system templates and a merchant's own.

Rules (PayPal's API reference and sandbox):

* Every merchant has 3 system templates (Amount, Hours, Quantity; Quantity is the default).
  They are read-only: 403 ``CANNOT_UPDATE_GLOBAL_TEMPLATE``, ``CANNOT_DELETE_GLOBAL_TEMPLATE``.
* At most 50 of the merchant's own (422 ``TEMPLATE_LIMIT_REACHED``), with unique names
  (400 ``TEMPLATE_NAME_ALREADY_EXISTS``); one default: making another the default clears
  the old one.
* ``configuration.template_id`` on an invoice create pre-fills the invoice from the template
  (:mod:`._invoices`); explicit fields win.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..money import MoneyError, decimals
from . import _schema as S
from ._book import Book, Merchant
from ._errors import error, not_found
from ._validation import validate

MAX_TEMPLATES = 50
#: PayPal's system templates: name and unit of measure.
SYSTEM_TEMPLATES = (("Amount", "AMOUNT"), ("Hours", "HOURS"), ("Quantity", "QUANTITY"))


class Templates:
    """The template operations of Invoicing v2, over the book's store."""

    def __init__(self, book: Book) -> None:
        self.book = book

    def add_system_templates(self, merchant: Merchant) -> None:
        """Give a merchant PayPal's system templates (a new merchant, or after a reset)."""
        for name, unit in SYSTEM_TEMPLATES:
            self._insert(
                merchant,
                {
                    "name": name,
                    "default_template": unit == "QUANTITY",
                    "unit_of_measure": unit,
                    "template_info": {
                        "detail": {"currency_code": "USD",
                                   "payment_term": {"term_type": "DUE_ON_RECEIPT"}},
                        "invoicer": {"email_address": merchant.email,
                                     "business_name": merchant.business_name},
                    },
                },
                system=True,
            )

    def template(self, merchant: Merchant, template_id: str, field: str | None = None) -> dict:
        """One of the merchant's templates; 404, or a 400 naming ``field`` when an invoice
        body refers to one that does not exist."""
        row = self.book.store.one(
            "SELECT doc FROM templates WHERE id = ? AND merchant = ?",
            (template_id, merchant.payer_id),
        )
        if row is None:
            if field:  # referenced from an invoice body: the body is wrong, not the URL
                raise error(400, "INVALID_PARAMETER_VALUE",
                            f"Template {template_id} does not exist.", field, template_id)
            raise not_found("template", template_id)
        return orjson.loads(row[0])

    def _insert(self, merchant: Merchant, clean: dict, *, system: bool = False) -> dict:
        template_id = self.book.ids.template()
        doc = {"id": template_id, **clean, "standard_template": system}
        doc["links"] = self._links(template_id, system)
        if clean.get("default_template"):
            self._clear_default(merchant)
        self.book.store.execute(
            "INSERT INTO templates (id, merchant, name, is_default, system, doc) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (template_id, merchant.payer_id, clean["name"], int(bool(clean.get(
                "default_template"))), int(system), orjson.dumps(doc)),
        )
        return doc

    def _links(self, template_id: str, system: bool) -> list[dict[str, str]]:
        href = f"{self.book.base}/v2/invoicing/templates/{template_id}"
        links = [{"href": href, "rel": "self", "method": "GET"}]
        if not system:
            links += [{"href": href, "rel": "replace", "method": "PUT"},
                      {"href": href, "rel": "delete", "method": "DELETE"}]
        return links

    def _clear_default(self, merchant: Merchant) -> None:
        for template_id, doc in self.book.store.all(
            "SELECT id, doc FROM templates WHERE merchant = ? AND is_default = 1",
            (merchant.payer_id,),
        ):
            data = orjson.loads(doc)
            data["default_template"] = False
            self.book.store.execute("UPDATE templates SET is_default = 0, doc = ? WHERE id = ?",
                                    (orjson.dumps(data), template_id))

    def _clean(self, body: Any) -> dict[str, Any]:
        clean = validate(S.TEMPLATE, body)
        detail = (clean.get("template_info") or {}).get("detail")
        if detail is None:
            return clean
        if "currency_code" not in detail:  # template_detail requires it, as invoices do
            raise error(400, "MISSING_REQUIRED_PARAMETER",
                        "A required field / parameter is missing: currency_code.",
                        "/template_info/detail/currency_code")
        try:
            decimals(detail["currency_code"])
        except MoneyError:
            raise error(400, "INVALID_PARAMETER_SYNTAX",
                        "the value of a field does not conform to the expected format.",
                        "/template_info/detail/currency_code", detail["currency_code"]) from None
        return clean

    def _name_taken(self, merchant: Merchant, name: str, except_id: str | None = None) -> None:
        row = self.book.store.one("SELECT id FROM templates WHERE merchant = ? AND name = ?",
                                  (merchant.payer_id, name))
        if row is not None and row[0] != except_id:
            raise error(400, "TEMPLATE_NAME_ALREADY_EXISTS", "Template name already exists.",
                        "/name", name)

    def create_template(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        """Create a merchant template (at most 50)."""
        clean = self._clean(body)
        with self.book.store.transaction():
            self._name_taken(merchant, clean["name"])
            count = self.book.store.one(
                "SELECT COUNT(*) FROM templates WHERE merchant = ? AND system = 0",
                (merchant.payer_id,),
            )[0]
            if count >= MAX_TEMPLATES:
                raise error(422, "TEMPLATE_LIMIT_REACHED",
                            f"A merchant can have at most {MAX_TEMPLATES} templates.")
            return self._insert(merchant, clean)

    def get_template(self, merchant: Merchant, template_id: str) -> dict[str, Any]:
        """One template."""
        return self.template(merchant, template_id)

    def list_templates(
        self, merchant: Merchant, *, fields: str = "all", page: int = 1, page_size: int = 20
    ) -> dict[str, Any]:
        """The merchant's templates, system ones included, with profile details."""
        rows = self.book.store.all(
            "SELECT doc FROM templates WHERE merchant = ? ORDER BY seq LIMIT ? OFFSET ?",
            (merchant.payer_id, page_size, (page - 1) * page_size),
        )
        templates = [orjson.loads(r[0]) for r in rows]
        if fields.lower() == "none":
            templates = [{k: t[k] for k in ("id", "name", "default_template", "links") if k in t}
                         for t in templates]
        return {
            "addresses": [],
            "emails": merchant.email,
            "phones": [],
            "templates": templates,
            "links": [{"href": f"{self.book.base}/v2/invoicing/templates", "rel": "self",
                       "method": "GET"}],
        }

    def update_template(self, merchant: Merchant, template_id: str, body: Any) -> dict[str, Any]:
        """Fully replace a merchant template; system templates are read-only."""
        clean = self._clean(body)
        with self.book.store.transaction():
            old = self.template(merchant, template_id)
            if old.get("standard_template"):
                raise error(403, "CANNOT_UPDATE_GLOBAL_TEMPLATE",
                            "PayPal system templates cannot be changed.", "template_id",
                            template_id, "path")
            self._name_taken(merchant, clean["name"], except_id=template_id)
            if clean.get("default_template"):
                self._clear_default(merchant)
            doc = {"id": template_id, **clean, "standard_template": False,
                   "links": self._links(template_id, False)}
            self.book.store.execute(
                "UPDATE templates SET name = ?, is_default = ?, doc = ? WHERE id = ?",
                (clean["name"], int(bool(clean.get("default_template"))), orjson.dumps(doc),
                 template_id),
            )
            return doc

    def delete_template(self, merchant: Merchant, template_id: str) -> None:
        """Delete a merchant template; system templates cannot be deleted."""
        with self.book.store.transaction():
            doc = self.template(merchant, template_id)
            if doc.get("standard_template"):
                raise error(403, "CANNOT_DELETE_GLOBAL_TEMPLATE",
                            "Global templates cannot be deleted.", "template_id", template_id,
                            "path")
            self.book.store.execute("DELETE FROM templates WHERE id = ?", (template_id,))
