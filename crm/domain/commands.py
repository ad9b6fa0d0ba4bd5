"""What someone asks to do to a work order, as frozen values.

The lifecycle table decides whether a command is allowed; the use case applies its fields. Keeping
commands as data (not methods on the model) lets the same rules serve the API, the CLI and tests.
"""

from dataclasses import dataclass

from crm.domain.enums import Action, NotAcceptedReason, Satisfaction, TransferTarget


@dataclass(frozen=True)
class Dispatch:
    lead_unit_id: int
    assist_unit_ids: tuple[int, ...] = ()
    note: str = ""

    @property
    def action(self) -> Action:
        return Action.DISPATCH


@dataclass(frozen=True)
class Accept:
    note: str = ""

    @property
    def action(self) -> Action:
        return Action.ACCEPT


@dataclass(frozen=True)
class Return:
    reason: str

    @property
    def action(self) -> Action:
        return Action.RETURN


@dataclass(frozen=True)
class LogContact:
    note: str
    call_id: str = ""  # the contact call's Linkedid when placed through the centre

    @property
    def action(self) -> Action:
        return Action.LOG_CONTACT


@dataclass(frozen=True)
class Reply:
    result: str
    call_id: str = ""  # the reply call's Linkedid when placed through the centre

    @property
    def action(self) -> Action:
        return Action.REPLY


@dataclass(frozen=True)
class Callback:
    satisfaction: Satisfaction
    note: str = ""
    call_id: str = ""  # the call back's Linkedid when the desk placed it (its recording's)

    @property
    def action(self) -> Action:
        """An unsatisfied citizen sends the order back for rework instead of closing it."""
        if self.satisfaction is Satisfaction.UNSATISFIED:
            return Action.REWORK
        return Action.CALLBACK


@dataclass(frozen=True)
class Reopen:
    reason: str

    @property
    def action(self) -> Action:
        return Action.REOPEN


@dataclass(frozen=True)
class NotAccept:
    reason: NotAcceptedReason
    explanation: str = ""

    @property
    def action(self) -> Action:
        return Action.NOT_ACCEPT


@dataclass(frozen=True)
class AnswerNow:
    answer: str
    knowledge_ref: str = ""

    @property
    def action(self) -> Action:
        return Action.ANSWER_NOW


@dataclass(frozen=True)
class Transfer:
    target: TransferTarget
    note: str = ""

    @property
    def action(self) -> Action:
        return Action.TRANSFER


@dataclass(frozen=True)
class TransferFeedback:
    result: str

    @property
    def action(self) -> Action:
        return Action.TRANSFER_FEEDBACK


@dataclass(frozen=True)
class HandoverAccepted:
    """The receiving centre took the matter (its incident number): the hand-over is confirmed."""

    incident_number: str
    note: str = ""

    @property
    def action(self) -> Action:
        return Action.HANDOVER_ACCEPTED


@dataclass(frozen=True)
class HandoverRejected:
    """The receiving centre refused the matter: it is back with the centre, its clock running."""

    reason: str

    @property
    def action(self) -> Action:
        return Action.HANDOVER_REJECTED


@dataclass(frozen=True)
class HandoverDecision:
    """A supervisor's recorded decision that the hand-over is confirmed by other means (the
    operator confirmed on the phone, no exchange with that line)."""

    note: str

    @property
    def action(self) -> Action:
        return Action.HANDOVER_DECISION


@dataclass(frozen=True)
class RequestExtension:
    days: int
    reason: str

    @property
    def action(self) -> Action:
        return Action.REQUEST_EXTENSION


@dataclass(frozen=True)
class DecideExtension:
    approve: bool
    note: str = ""

    @property
    def action(self) -> Action:
        return Action.DECIDE_EXTENSION


@dataclass(frozen=True)
class Supervise:
    note: str = ""

    @property
    def action(self) -> Action:
        return Action.SUPERVISE


Command = (
    Dispatch
    | Accept
    | Return
    | LogContact
    | Reply
    | Callback
    | Reopen
    | NotAccept
    | AnswerNow
    | Transfer
    | TransferFeedback
    | HandoverAccepted
    | HandoverRejected
    | HandoverDecision
    | RequestExtension
    | DecideExtension
    | Supervise
)
