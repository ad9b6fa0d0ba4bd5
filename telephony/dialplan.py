"""The dialplan contract: the names the rendered Asterisk configuration and the code share.

`asterisk_config.py` writes these names into the dialplan; the translator, the tracker, the
actions, the announcer, the IVR and the desk read them back from AMI events or send them in
actions. Each name is spelled once, here, so the two sides cannot drift apart. Pure: imports
nothing (no settings, no I/O), so the pure cores and the IVR can depend on it.
"""

# Dialplan contexts.
CONTEXT_INBOUND = "hotline-inbound"  # the carrier's calls: IVR, then the queue
CONTEXT_AGENTS = "hotline-agents"  # agents' phones; blind transfers land here too
CONTEXT_EMERGENCY = "hotline-emergency"  # 110/119/120 over their trunk, the backup second
CONTEXT_TRUNK_IN = "hotline-trunk-in"  # anything a trunk sends us: hung up
# The centre calling a citizen (exten = the number; 回访): the outbound trunk, its backup
# second, with the centre's caller ID. Rendered only when [outbound] is configured.
CONTEXT_OUTBOUND = "hotline-outbound"
# A callback from the desk (exten = the number): the agent's phone, answered first, is
# recorded (VAR_REVISIT_RECORDING) and dials the citizen through CONTEXT_OUTBOUND.
CONTEXT_REVISIT = "hotline-revisit"
CONTEXT_POSITION = "hotline-position"  # plays a queue position, whispered to the caller
# The estimated wait said after the position (exten = `wait_words.wait_key`, from VAR_WAIT).
CONTEXT_WAIT = "hotline-wait"
# Call control (exten = the call's Linkedid): ConfBridge rooms the backend moves channels
# between, and the dialling of a consulted party (exten = its number) into one of them.
CONTEXT_ROOM_CALLER = "hotline-room-caller"  # the caller into the main room (marked, MOH alone)
CONTEXT_ROOM_PARTY = "hotline-room-party"  # agent or third party into the main room
CONTEXT_ROOM_CONSULT = "hotline-room-consult"  # agent or third party into the consult room
CONTEXT_CONSULT = "hotline-consult"  # dials an agent, a colleague or a trunk (with failover)
CONTEXT_HOLD_MUSIC = "hotline-hold-music"  # a party playing hold music to a caller alone
CONTEXT_REQUEUE = "hotline-requeue"  # a caller left with nobody back into its queue, first
# The satisfaction survey: a caller whose agent hung up (Queue's `c` option) goes on here.
CONTEXT_SURVEY = "hotline-survey"
# Callback keeping the place (回拨保留排队位置, `[callback]`): queues.conf's `context` lets a
# waiting caller's key leave the queue into CONTEXT_QUEUE_KEYS (the key its extension): too
# early, refused or not stored, the caller goes back at its `${QUEUEPOSITION}`; else the
# FastAGI route AGI_ROUTE_CALLBACK stores the request. Its placeholder is a Local channel
# Local/<request id>@CONTEXT_CALLBACK_PLACE whose ;2 half waits in the queue in the caller's
# place; once an agent answers it, the ;1 half goes on in CONTEXT_CALLBACK_DIAL (exten = the
# number): recorded, the citizen dialled through the outbound trunk.
CONTEXT_QUEUE_KEYS = "hotline-queue-keys"
CONTEXT_CALLBACK_PLACE = "hotline-callback-place"
CONTEXT_CALLBACK_DIAL = "hotline-callback-dial"
# The placeholder's position in its queue (not HOTLINE_: no VarSet of it reaches the backend).
CALLBACK_POSITION = "CALLBACK_POSITION"
CALLBACK_KEYS = "123456789"  # a key a waiting caller may press (queues.conf `context`: a digit)
# The prompt offering the key after a position (+ the key; the text: ivr/callback_prompts.py),
# and what the agent hears when the citizen is not reached.
CALLBACK_OFFER_PROMPT = "hotline-callback-offer-"
CALLBACK_UNREACHED_PROMPT = "hotline-callback-unreached"
REQUEUE_PRIORITY = 10  # its QUEUE_PRIO: ahead of every caller who joined the usual way (0)
# A supervisor's phone spying on a call (exten = the mode: listen / whisper / barge, each
# ChanSpy of the channel in VAR_SPYEE with that mode's options; a Redirect switches mode;
# room-main / room-consult: a barge into the call's ConfBridge room, VAR_SPY_CALL's).
CONTEXT_SPY = "hotline-spy"
# ConfBridge profiles of confbridge.conf.
BRIDGE_PROFILE = "hotline_bridge"
USER_CALLER = "hotline_caller"
USER_PARTY = "hotline_party"
USER_CONSULT = "hotline_consult"
# The UserEvent the dialplan raises when every trunk of a line failed.
EVENT_TRUNK_FAILED = "HotlineTrunkFailed"
# The legs of an emergency line the dialplan skipped (known unreachable), for that UserEvent;
# not HOTLINE_-prefixed: no VarSet of it reaches the backend.
VAR_TRUNKS_SKIPPED = "TRUNKS_SKIPPED"
# A contact's state, as PJSIP_CONTACT(…,status) and the ContactStatus event say it.
CONTACT_UNREACHABLE = "Unreachable"

# The Uniqueid the backend gives a consulted party's Local half (the Originate's ChannelId;
# the half that dials is it + "-2"). It names the call: a consult still ringing (its Local
# in no room yet) is tied to its call in CoreShowChannels, after a backend restart too.
CONSULT_PARTY_PREFIX = "ctl-"

# Channel variables the IVR and the dialplan set. manager.conf lets VarSet events through
# only for names with this prefix, and the translator drops every other name.
CHANNEL_VARIABLE_PREFIX = "HOTLINE_"
VAR_IVR_CHOICE = "HOTLINE_IVR_CHOICE"  # the menu key pressed, "" for none
VAR_IVR_LABEL = "HOTLINE_IVR_LABEL"  # the menu choice's ASCII label
VAR_QUEUE = "HOTLINE_QUEUE"  # the queue the caller waits in
# The emergency line (110) the IVR sends the caller to (its key 9), never queued: the dialplan
# goes on in CONTEXT_EMERGENCY at that number (primary trunk, then backup).
VAR_EMERGENCY = "HOTLINE_EMERGENCY"
# Why the IVR refused the caller (the dialplan then hangs up, never queues): REFUSED_NUISANCE.
VAR_REFUSED = "HOTLINE_REFUSED"
REFUSED_NUISANCE = "nuisance"  # the caller's number is on the nuisance list (骚扰电话)
# What the order-status self-service (key 8) ended with: an order read out to a caller whose
# identity held, none read (wrong number, unknown order, bad or no input), or the caller asked
# for an agent first; the call goes on to the operator queue in every case.
VAR_ORDER_STATUS = "HOTLINE_ORDER_STATUS"
ORDER_STATUS_READ = "read"
ORDER_STATUS_REFUSED = "refused"
ORDER_STATUS_AGENT = "agent"
# 24/7 (issue 15): the queue of the duty group (值班组), which the IVR gives callers outside
# the working hours; and what the nobody-answers flow took from a caller nobody could answer
# (in hours or not): one of the NOBODY_* values.
DUTY_QUEUE = "hotline-duty"
VAR_NOBODY = "HOTLINE_NOBODY"  # set once the caller reached the nobody-answers flow
NOBODY_MESSAGE = "message"  # the caller left a message (an order with its recording)
NOBODY_CALLBACK = "callback"  # the caller asked to be called back (an order to call back)
NOBODY_NOTHING = "nothing"  # the caller left neither (hung up, or said nothing)
VAR_RECORDING = "HOTLINE_RECORDING"  # the call's MixMonitor file, relative to the monitor dir
VAR_REVISIT_RECORDING = "HOTLINE_REVISIT_RECORDING"  # a callback's file, named by the backend
VAR_QUEUED_AT = "HOTLINE_QUEUED_AT"  # ${EPOCH} when the caller first joined its queue
# On a caller's call: the callback request (its id) the caller asked for and left the line.
VAR_CALLBACK_REQUESTED = "HOTLINE_CALLBACK_REQUESTED"
# On a placeholder's call: how its dial of the citizen ended (${DIALSTATUS}, ANSWER if reached).
VAR_CALLBACK_RESULT = "HOTLINE_CALLBACK_RESULT"
VAR_OFFER = "HOTLINE_OFFER"  # on a position whisper: "1" to offer the callback key after it
VAR_WAIT = "HOTLINE_WAIT"  # on a position whisper: its wait sentence, "" for none
VAR_SPYEE = "HOTLINE_SPYEE"  # the full channel name a supervisor's phone spies on
VAR_SPY_RECORDING = "HOTLINE_SPY_RECORDING"  # its MixMonitor file once it whispered/barged
VAR_SPY_CALL = "HOTLINE_SPY_CALL"  # the spied call's Linkedid: the room a barge joins
# The caller's satisfaction survey (满意度评价) after the agent hung up: one of SURVEY_ANSWERS,
# SURVEY_NO_ANSWER once offered (a timeout, no valid key, a hang-up), unset if never offered.
VAR_SURVEY = "HOTLINE_SURVEY"
SURVEY_ANSWERS = ("satisfied", "basically_satisfied", "unsatisfied")  # keys 1, 2, 3
SURVEY_NO_ANSWER = "no_answer"

# The FastAGI routes (agi://host:port/<route>) the dialplan asks for.
AGI_ROUTE_IVR = "ivr"  # the welcome menu
AGI_ROUTE_SURVEY = "survey"  # the satisfaction survey
AGI_ROUTE_NOBODY = "nobody"  # nobody to answer: a message or a callback request
AGI_ROUTE_CALLBACK = "callback"  # a waiting caller's key: a callback keeping the place

# Every phone and trunk is a PJSIP endpoint; an agent's endpoint is named by its extension.
TECH = "PJSIP"
CARRIER_ENDPOINT = "carrier"  # the citizens' calls arrive on it (their channel: PJSIP/carrier-…)


def interface_of(endpoint: str) -> str:
    """1001 → PJSIP/1001: the dialable interface (and queue member) of an endpoint."""
    return f"{TECH}/{endpoint}"


def extension_of(interface: str) -> str | None:
    """PJSIP/1001 → 1001; None for anything that is not an agent's phone."""
    tech, _, resource = interface.partition("/")
    return resource if tech == TECH and resource.isdigit() else None


def interface_of_channel(channel: str) -> str:
    """PJSIP/1001-0000000b → PJSIP/1001: the queue member behind an agent's channel."""
    base, sep, _suffix = channel.rpartition("-")
    return base if sep else channel


def main_room(linkedid: str) -> str:
    """The caller's ConfBridge room of a controlled call."""
    return f"m{linkedid}"


def consult_room(linkedid: str) -> str:
    """The agent's room away from the caller: on hold alone, or with a consulted party."""
    return f"c{linkedid}"


def consult_party_id(linkedid: str, token: str) -> str:
    """The Uniqueid of the party's Local half in a consult of the call `linkedid`; `token`
    (no "-") tells the call's consults apart."""
    return f"{CONSULT_PARTY_PREFIX}{linkedid}-{token}"


def call_of_consult_party(uniqueid: str) -> str | None:
    """ctl-1700000000.1-3fa2 → 1700000000.1: the call a party's Local half consults for;
    None for any other channel (the dialling half ctl-…-2 included)."""
    if not uniqueid.startswith(CONSULT_PARTY_PREFIX) or uniqueid.endswith("-2"):
        return None
    linkedid, sep, token = uniqueid.removeprefix(CONSULT_PARTY_PREFIX).rpartition("-")
    return linkedid if sep and linkedid and token else None


def placeholder_channel(request_id: int) -> str:
    """The Local channel whose ;2 half holds callback request `request_id`'s place (/n:
    never optimised away, so that half stays the call's "caller" with the agent)."""
    return f"Local/{request_id}@{CONTEXT_CALLBACK_PLACE}/n"


def request_of_channel(channel: str) -> int | None:
    """Local/7@hotline-callback-place-0000002a;2 → 7: the request whose place that half
    holds; None for any other channel (its ;1 half too, which lists the same context until
    an agent answers)."""
    resource = channel.removeprefix("Local/")
    request, sep, rest = resource.partition("@")
    place = rest.startswith(f"{CONTEXT_CALLBACK_PLACE}-") and rest.endswith(";2")
    if resource == channel or not sep or not place:
        return None
    return int(request) if request.isdigit() else None


def dialable(number: str) -> bool:
    """Whether a caller's number can be called back through the outbound trunk: 3 to 20
    digits (a withheld, anonymous or hostile caller ID cannot), as the trunk dials them."""
    return number.isascii() and number.isdigit() and 3 <= len(number) <= 20
