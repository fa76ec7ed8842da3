"""The root of ppnb's exceptions (base layer: imports nothing of ppnb).

``except ppnb.PPNBError`` catches every failure ppnb reports on purpose, and nothing else:
a bug in ppnb still surfaces as Python's own ``TypeError``, ``KeyError``, ... Arguments of
the wrong kind or value, given to a function directly, raise Python's ``TypeError`` and
``ValueError`` as usual; the errors below say what went wrong with the book, the API or a
job. Errors that are also a ``ValueError`` or ``RuntimeError`` keep that base too, so code
written against the older bases still catches them.
"""

__all__ = ["PPNBError"]


class PPNBError(Exception):
    """Base class of every exception ppnb raises on purpose.

    The tree (each line is a subclass of the line it hangs from; ``tests/test_public_api.py``
    checks it)::

        PPNBError
        ├── ppnb.money.MoneyError              an amount or currency PayPal would refuse
        │   └── ppnb.widgets._numbers.GroupingError    a typed number with ambiguous
        │                                      separators (the forms show it as their message)
        ├── ppnb.totals.TotalsError            an invoice whose totals cannot be computed
        ├── ppnb.client.PayPalError            the client: the API refused or did not answer
        │   ├── ppnb.client.TransportError     no HTTP answer after every retry
        │   └── ppnb.client.APIError           PayPal answered with an error status
        │       ├── ppnb.client.InvalidRequest     400, 409, 415, 422; see .issues
        │       ├── ppnb.client.AuthenticationError    401
        │       ├── ppnb.client.PermissionDenied   403
        │       ├── ppnb.client.NotFound       404
        │       ├── ppnb.client.RateLimited    429 after the retry policy's attempts
        │       └── ppnb.client.ServerError    5xx after the retry policy's attempts
        ├── ppnb.pager.PagerError              a query that cannot be paged completely
        ├── ppnb.webhooks.WebhookVerificationError    a delivery that is not PayPal's
        ├── ppnb.seed.SeedError                a seed that cannot run as given
        ├── ppnb.analysis.AnalysisError        arguments or a book the analysis cannot use
        ├── ppnb.reports.ReportError           a report that cannot be written as asked
        ├── ppnb.actions.BulkError             a bulk job that cannot run as given
        ├── ppnb.actions.JobBusy               another process runs the same job now
        ├── ppnb.dunning.DunningError          a dunning policy that cannot be used
        ├── ppnb.partners._task.TransientError     a merchant's pull to try again later
        ├── ppnb.emulator.ControlError         an /_emulator/ call refused or not made
        ├── ppnb.emulator.ClockError           an emulator clock moved outside 2000-2099
        ├── ppnb.emulator._errors.ApiError     the emulator refusing a request (it becomes
        │                                      PayPal's error answer; raised in-process too)
        ├── ppnb.emulator._snapshots.SnapshotLimit    too many or too large snapshots
        ├── ppnb.cli._common.CommandError      a CLI command that cannot run as given
        └── ppnb._extras.MissingExtra          an optional extra is not installed (also an
                                               ImportError; says which pip install)

    Examples
    --------
    >>> import ppnb
    >>> try:                                                      # doctest: +SKIP
    ...     tables = ppnb.fetch_tables(client, status="UNPAID")
    ... except ppnb.PPNBError as exc:
    ...     print(f"could not pull the book: {exc}")
    """
