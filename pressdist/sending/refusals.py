"""Telling one bad address from a run that cannot work: the permanent-refusal breaker.

Owns the rule that decides, from the permanent refusals of one delivery run,
when they are no longer about the recipients: a refusal of the sender or the
message at once; a refusal of the server's (a quota, a policy) when a second
recipient in a row gets it; the same unclear refusal (a bare 550, an API's
400) for a few different recipients in a row; and even the same refusal of
the address itself for many in a row. Then the run stops, as it does when the
gateway is down, and the error it stops with names the server's words and
what to fix. It does not classify a reply (each gateway gives its ``Scope``
and code), touch the journal or stop anything itself: ``sending.delivery``
asks ``judge`` and leaves the refused delivery pending when told to stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pressdist.errors import GatewayError
from pressdist.sending.gateway import Result, Scope

# How many different recipients in a row may get the same refusal before it
# counts as the server's answer to everyone rather than something about them.
# A server's limit gets one recipient of doubt: a single address may well
# trip a policy (Microsoft's "550 5.4.1 Recipient address rejected" for an
# unknown user), and a rule that stops at once would stop every later run at
# that same address.
STOP_AFTER = {
    Scope.SENDER: 1,
    Scope.MESSAGE: 1,
    Scope.SERVER: 2,
    Scope.UNCLEAR: 3,
    Scope.RECIPIENT: 10,
}

_AGAIN = "the deliveries not yet refused are left pending: run the same command again once fixed"


@dataclass
class Refusals:
    """The permanent refusals of one run so far, the latest row of equal ones in particular."""

    gateway: str
    code: str = ""  # of the row of equal refusals going on
    row: set[str] = field(default_factory=set)  # recipients refused with it, in a row
    stopped: GatewayError | None = None

    def accepted(self) -> None:
        """A delivery went through: whatever was refused before is not everyone's lot."""
        self.code = ""
        self.row = set()

    def judge(self, recipient: str, result: Result) -> GatewayError | None:
        """None when the refusal is ``recipient``'s own; else why the run must stop.

        Once the run is stopped, every later refusal is left undecided too
        (the same error again): what caused the stop may well have caused it.
        """
        if self.stopped is not None:
            return self.stopped
        if not result.code and result.scope is Scope.RECIPIENT:
            self.accepted()  # nothing to compare: it ends any row
            return None
        if result.code != self.code:
            self.code, self.row = result.code, set()
        self.row.add(recipient)
        if len(self.row) < STOP_AFTER[result.scope]:
            return None
        self.stopped = self._error(result, len(self.row))
        return self.stopped

    def _error(self, result: Result, row: int) -> GatewayError:
        where = f"gateway '{self.gateway}'"
        words = result.detail or result.code
        earlier = row - 1
        them = (
            "the one refused just before is"
            if earlier == 1
            else f"the {earlier} refused just before are"
        )
        retry = (
            f"; {them} recorded as failed: `pressdist send … --retry-failed` sends "
            f"{'it' if earlier == 1 else 'them'} again"
            if earlier
            else ""
        )
        if result.scope is Scope.SENDER:
            return GatewayError(
                f"{where} refuses the sender, not a recipient: {words}",
                hint="check the login ('username', 'password_env') and the sender address "
                f"in pressdist.toml; {_AGAIN}",
            )
        if result.scope is Scope.MESSAGE:
            return GatewayError(
                f"{where} refuses the message itself, not a recipient: {words}",
                hint="it objects to the content (its size, a header, a filter): change the "
                f"release or ask the server's administrator; {_AGAIN}",
            )
        if result.scope is Scope.SERVER:
            return GatewayError(
                f"{where} refused {row} different recipients in a row: {words}; that is a "
                "limit or policy of the server or the account, not of these addresses",
                hint=f"wait for the limit to reset or ask the provider; {_AGAIN}{retry}",
            )
        return GatewayError(
            f"{where} refused {row} different recipients in a row with the same answer: "
            f"{words}; so many in a row look like its answer to everyone, not something "
            "about these addresses",
            hint="read the answer: if it names the server, the account or the message, fix "
            f"that; {_AGAIN}{retry}. If these addresses really are wrong, the same command "
            "goes on with the next ones",
        )
