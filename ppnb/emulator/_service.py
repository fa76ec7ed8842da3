"""The invoicing service: PayPal's business rules over the store, in parts.

:class:`Invoicing` is the one object the HTTP layers (:mod:`._app`, :mod:`._v1`), the
``/_emulator/`` routes (:mod:`._sim`), the payer page, the fleet seeder and tests call. It is
composed of parts, each in its own module with its rules in its notes:

==================  =====================  ==================================================
part                module                 what it does
==================  =====================  ==================================================
:attr:`book`        :mod:`._book`          the store, clock and ids every part shares;
                                           invoice documents: load, save, links, balances
:attr:`auth`        :mod:`._auth`          merchants, client secrets (:mod:`._kdf`), OAuth
                                           tokens, partner grants
:attr:`templates`   :mod:`._templates`     system and merchant templates
:attr:`invoices`    :mod:`._invoices`      create, update, delete, send, remind, cancel;
                                           numbering; QR codes
:attr:`payments`    :mod:`._payments`      payments and refunds; the customer paying
:attr:`searcher`    :mod:`._search`        search and list: the SQL and its remembered results
:attr:`mailer`      :mod:`._outbox`        the emails PayPal would send (the outbox)
:attr:`effects`     :mod:`._outbox`        counts of applied effects (``stats``)
:attr:`scheduler`   :mod:`._scheduler`     scheduled sends, fired by the emulator's clock
(webhooks)          :mod:`._webhooks`      subscriptions, events, signing, delivery
==================  =====================  ==================================================

Every operation takes the calling :class:`~._book.Merchant` and plain JSON values, applies
one change atomically and returns the response body (a dict, or stored JSON bytes for whole
invoices). Failures raise :class:`~ppnb.emulator._errors.ApiError` before anything is
stored. The parts share one store and its one transaction per request
(:meth:`._store.Store.transaction`: an operation called inside another's transaction, or the
HTTP layer's idempotency record, runs in a savepoint of it).
"""

from __future__ import annotations

from ._auth import TOKEN_TTL, Auth
from ._book import Book
from ._clock import Clock
from ._ids import IdFactory
from ._invoices import Invoices
from ._outbox import Effects, Outbox
from ._payments import Payments
from ._scheduler import Scheduler
from ._search import SUMMARY_MODES, Search
from ._store import BOOK_TABLES, Store
from ._templates import Templates
from ._webhooks import DeliveryPolicy


class Invoicing:
    """PayPal Invoicing v2 state and rules for any number of merchants.

    Each operation is answered by the part that owns it (the table in the module notes),
    under the same name: ``service.create_invoice`` is :meth:`._invoices.Invoices.create_invoice`.

    Parameters
    ----------
    store
        Where state lives.
    clock
        The emulator's clock; every date and time the service records comes from it.
    seed
        Makes generated ids repeatable.
    token_ttl
        Lifetime of access tokens in seconds (PayPal: 32400).
    webhook_policy
        Retry schedule of webhook deliveries.

    Notes
    -----
    Besides PayPal's operations it offers part of the emulator's inspection API (what
    PayPal does not have, for tests, benchmarks and notebooks): :meth:`outbox`,
    :meth:`stats`, :meth:`reminders_today`, :meth:`fire_scheduled`, :meth:`pay_as_customer`,
    :meth:`reset`, :attr:`summaries` and a replaceable :attr:`ids`. The whole inspection API
    is listed in one place, the notes of :mod:`ppnb.emulator`.
    """

    def __init__(
        self, store: Store, clock: Clock, *, seed: int | None = None, token_ttl: int = TOKEN_TTL,
        webhook_policy: DeliveryPolicy | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.book = Book(store, clock, IdFactory(seed), webhook_policy)
        #: Stands for the server's base URL in stored documents; replaced when served.
        self.base = self.book.base
        #: Webhook subscriptions, the events every change emits, and their delivery.
        self.webhooks = self.book.webhooks
        self.templates = Templates(self.book)
        self.auth = Auth(self.book, self.templates, token_ttl)
        self.mailer = Outbox(self.book)
        self.effects = Effects(self.book)
        self.invoices = Invoices(self.book, self.templates, self.mailer, self.effects)
        self.payments = Payments(self.book, self.auth, self.invoices, self.effects)
        self.searcher = Search(self.book)
        self.scheduler = Scheduler(self.book, self.auth, self.invoices)

        # --- the operations: each is its part's method of the same name ---------------------
        self.add_merchant = self.auth.add_merchant
        self.merchants = self.auth.merchants
        self.merchant_by_client = self.auth.merchant_by_client
        self.grant = self.auth.grant
        self.revoke = self.auth.revoke
        self.issue_token = self.auth.issue_token
        self.authenticate = self.auth.authenticate
        self.act_as = self.auth.act_as
        self.create_template = self.templates.create_template
        self.get_template = self.templates.get_template
        self.list_templates = self.templates.list_templates
        self.update_template = self.templates.update_template
        self.delete_template = self.templates.delete_template
        self.create_invoice = self.invoices.create_invoice
        self.get_invoice = self.invoices.get_invoice
        self.update_invoice = self.invoices.update_invoice
        self.delete_invoice = self.invoices.delete_invoice
        self.send_invoice = self.invoices.send_invoice
        self.remind_invoice = self.invoices.remind_invoice
        self.reminders_today = self.invoices.reminders_today
        self.cancel_invoice = self.invoices.cancel_invoice
        self.next_invoice_number = self.invoices.next_invoice_number
        self.qr_code = self.invoices.qr_code
        self.record_payment = self.payments.record_payment
        self.delete_payment = self.payments.delete_payment
        self.record_refund = self.payments.record_refund
        self.delete_refund = self.payments.delete_refund
        self.public_invoice = self.payments.public_invoice
        self.pay_as_customer = self.payments.pay_as_customer
        self.search = self.searcher.search
        self.outbox = self.mailer.outbox
        self.stats = self.effects.stats
        self.fire_scheduled = self.scheduler.fire_scheduled
        self.tick = self.scheduler.tick

    @property
    def ids(self) -> IdFactory:
        """Makes every generated id; replace it to have the emulator make given ids (a test
        that replays a document's samples)."""
        return self.book.ids

    @ids.setter
    def ids(self, factory: IdFactory) -> None:
        self.book.ids = factory

    @property
    def summaries(self) -> str:
        """How list and search items look: one of :data:`._search.SUMMARY_MODES` (set as
        ``True``, ``False`` or one of those names; see :class:`~._server.Emulator`).

        Raises
        ------
        ValueError
            When set to anything else.
        """
        return self.searcher.summaries

    @summaries.setter
    def summaries(self, mode: bool | str) -> None:
        name = ("on" if mode else "off") if isinstance(mode, bool) else mode
        if name not in SUMMARY_MODES:
            raise ValueError(f"summaries: expected true, false or one of {SUMMARY_MODES}, "
                             f"got {mode!r}")
        self.searcher.summaries = name

    @property
    def token_ttl(self) -> int:
        """Lifetime of access tokens in seconds."""
        return self.auth.token_ttl

    def reset(self) -> None:
        """Empty every merchant's book (invoices, templates, idempotency records, outbox,
        stats); merchants, grants and tokens stay."""
        with self.store.transaction():
            for table in BOOK_TABLES:
                self.store.execute(f"DELETE FROM {table}")
            self.store.execute("UPDATE merchants SET last_number = NULL")
            for merchant in self.merchants():
                self.templates.add_system_templates(merchant)
        self.forget()

    def forget(self) -> None:
        """Drop everything remembered from the database (after it changed underneath)."""
        self.searcher.forget()
        self.book.forget()
        self.scheduler.forget()
