"""RemindForm: a payment reminder, refusing a third on the same day."""

from __future__ import annotations

import html

import ipywidgets as w

from ..actions import REMINDERS_PER_DAY, ReminderLedger
from ._action import ActionForm


class RemindForm(ActionForm):
    """Send a payment reminder: subject and note.

    PayPal allows two reminders per invoice per UTC day. The form shows how many were already
    sent today and disarms its button at two. PayPal's API does not say how many were sent, so
    the count is ppnb's own :class:`~ppnb.actions.ReminderLedger` (shared with bulk jobs in the
    same ``journal_dir``); a reminder sent by another tool is caught by PayPal's
    ``MAX_REMINDERS_PER_DAY`` refusal, which the form shows and the ledger then remembers.
    Takes the parameters of :class:`~ppnb.widgets._action.ActionForm`.
    """

    action = "remind"
    verb = "Send reminder"

    def _extra(self) -> list[w.Widget]:
        self._today = w.HTML()
        return [self._today]

    def sent_today(self) -> int:
        """Reminders sent for the chosen invoice today (by this ledger's count)."""
        if not self.picker.value:
            return 0
        return ReminderLedger(self._journal_dir).count(self.picker.value, self.today)

    def blocked(self) -> str | None:
        if self.picker.value and self.sent_today() >= REMINDERS_PER_DAY:
            return (f"{REMINDERS_PER_DAY} reminders already sent today ({self.today}); "
                    "PayPal allows no more until tomorrow.")
        return None

    def refresh(self) -> None:
        sent = self.sent_today()
        self._today.value = (f'Reminders sent today: <b class="ppnb-reminders">{sent}</b> of '
                             f"{REMINDERS_PER_DAY}")
        reason = self.blocked()
        if reason:
            self._today.value += f' <span style="color:#b00020">{html.escape(reason)}</span>'
        super().refresh()
