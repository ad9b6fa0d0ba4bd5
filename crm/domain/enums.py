"""Closed vocabularies of a work order, shared by the rules, the database and the API.

Values are stable lowercase codes: they are stored in the database and exchanged with 110 and
other hotlines, so renaming one is a data migration.
"""

from enum import StrEnum


class Channel(StrEnum):
    PHONE = "phone"
    POLICE_HANDOVER = "police_handover"  # 110 hand-over (系统派件)
    WEB_MESSAGE = "web_message"
    WECHAT = "wechat"
    OTHER_HOTLINE = "other_hotline"  # 12315, 12333, 12328 ...


class OrderType(StrEnum):
    CONSULTATION = "consultation"
    HELP = "help"
    SUGGESTION = "suggestion"
    COMPLAINT = "complaint"
    REPORT = "report"
    OTHER = "other"
    POLICE = "police"
    FIRE = "fire"
    MEDICAL = "medical"
    DISASTER = "disaster"


EMERGENCY_TYPES = frozenset(
    {OrderType.POLICE, OrderType.FIRE, OrderType.MEDICAL, OrderType.DISASTER}
)


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    IMMEDIATE = "immediate"  # 即办: handled at once, around the clock


class Severity(StrEnum):
    GENERAL = "general"  # 一般
    MAJOR = "major"  # 较大
    SERIOUS = "serious"  # 重大
    ESPECIALLY_SERIOUS = "especially_serious"  # 特别重大


class Status(StrEnum):
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    RETURNED = "returned"
    ACCEPTED = "accepted"
    CONTACTED = "contacted"
    REPLIED = "replied"
    REOPENED = "reopened"
    CLOSED = "closed"
    NOT_ACCEPTED = "not_accepted"
    ANSWERED = "answered"
    TRANSFERRED = "transferred"


OPEN_STATUSES = frozenset(
    {
        Status.REGISTERED,
        Status.DISPATCHED,
        Status.RETURNED,
        Status.ACCEPTED,
        Status.CONTACTED,
        Status.REPLIED,
        Status.REOPENED,
        Status.TRANSFERRED,
    }
)

# Statuses in which a handling unit still owes work, so its deadline can be missed.
DUE_STATUSES = frozenset(
    {Status.DISPATCHED, Status.RETURNED, Status.ACCEPTED, Status.CONTACTED, Status.REOPENED}
)


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    HANDLER = "handler"
    ADMIN = "admin"

    # A receiving centre (110, the emergency centre) acting through the order exchange:
    # signed messages only, never a token or a desk.
    PEER = "peer"


CENTRE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
CALL_TAKER_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})  # who takes calls and registers


class Action(StrEnum):
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RETURN = "return"
    LOG_CONTACT = "log_contact"
    REPLY = "reply"
    CALLBACK = "callback"
    REWORK = "rework"  # a callback that found the citizen unsatisfied
    REOPEN = "reopen"
    NOT_ACCEPT = "not_accept"
    ANSWER_NOW = "answer_now"
    TRANSFER = "transfer"
    TRANSFER_FEEDBACK = "transfer_feedback"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    SUPERVISE = "supervise"
    # the emergency loop: the receiving centre's replies, or a supervisor's recorded decision
    HANDOVER_ACCEPTED = "handover_accepted"
    HANDOVER_REJECTED = "handover_rejected"
    HANDOVER_DECISION = "handover_decision"


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


class NotAcceptedReason(StrEnum):
    """The exclusion list (不予受理事项) of the hotline regulations."""

    OUT_OF_JURISDICTION = "out_of_jurisdiction"
    EMERGENCY_LINE_MATTER = "emergency_line_matter"  # 110/119/120/122
    PARTY_CONGRESS_COURT_MILITARY = "party_congress_court_military"
    LEGAL_PROCEDURE = "legal_procedure"  # litigation, arbitration, reconsideration, disclosure
    PETITION_CHANNEL = "petition_channel"  # 信访 in progress or closed there
    REPEAT_WITHOUT_NEW_FACTS = "repeat_without_new_facts"
    SECRETS_OR_PRIVACY = "secrets_or_privacy"
    OFFICIAL_CORRUPTION = "official_corruption"
    MALICIOUS_OR_EMPTY = "malicious_or_empty"
    OTHER_UNSUITABLE = "other_unsuitable"


class TransferTarget(StrEnum):
    POLICE_110 = "110"
    FIRE_119 = "119"
    MEDICAL_120 = "120"
    TRAFFIC_122 = "122"
    EMERGENCY_CENTRE = "emergency_centre"


class UnitKind(StrEnum):
    CENTRE = "centre"
    DEPARTMENT = "department"


class UnitRole(StrEnum):
    LEAD = "lead"
    ASSIST = "assist"


class HandoverDirection(StrEnum):
    OUTBOUND = "outbound"  # 12345 → a receiving centre
    INBOUND = "inbound"  # a receiving centre → 12345 (a matter it hands us)


class HandoverStatus(StrEnum):
    """Where one hand-over message is in the exchange (rules §7: tracked to the closed loop)."""

    PENDING = "pending"  # stored, not yet acknowledged by the peer (sent again with back-off)
    DELIVERED = "delivered"  # the peer's endpoint acknowledged it (2xx)
    ACCEPTED = "accepted"  # the peer accepted the matter (its incident number)
    REJECTED = "rejected"  # the peer refused it (its reason): back with the centre
    CLOSED = "closed"  # the peer's result came back: the loop is closed
    NO_PEER = "no_peer"  # no exchange with that line: a supervisor's decision confirms it


class AlertKind(StrEnum):
    """What supervisors (and for major matters the duty leader) are told of at once."""

    TRANSFER_WARNING = "transfer_warning"  # the 10-minute limit is near
    TRANSFER_ESCALATION = "transfer_escalation"  # the limit passed, no confirmed hand-over
    SEVERITY = "severity"  # a matter registered as major or above
    STABILITY_CLUE = "stability_clue"  # a clue threatening social stability (rules §8)
    HANDOVER_REJECTED = "handover_rejected"  # the receiving centre refused a hand-over
    HANDOVER_UNDELIVERED = "handover_undelivered"  # still not delivered after retries
    RESULT_OVERDUE = "result_overdue"  # handed over, the result not back in time
    INBOUND_MATTER = "inbound_matter"  # a matter 110 handed to 12345
    TRUNK_DOWN = "trunk_down"  # an emergency trunk leg stopped answering qualify (no order)
    TRUNK_UP = "trunk_up"  # that leg answers again (no order)
