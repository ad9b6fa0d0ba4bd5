"""The fixed tables of the private Asterisk: which modules load, which AMI events and
classes the backend's user gets, which stasis messages nobody reads.

Data only; `asterisk_config` renders them into Asterisk's files.
"""

from __future__ import annotations

import os
from pathlib import Path

MODULES_DIR = Path("/usr/lib/asterisk/modules")
SYSTEM_DATA_DIR = Path("/usr/share/asterisk")

# Asterisk's own record of the calls, in its log directory (the reconciliation reads both).
QUEUE_LOG_NAME = "queue_log"
CDR_CSV = Path("cdr-csv") / "Master.csv"

# Loaded explicitly (autoload=no): start-up in ~2 s and nothing we did not ask for.
MODULES = (
    "res_timing_timerfd",
    "res_pjproject",
    "res_sorcery_config",
    "res_sorcery_memory",
    "res_sorcery_astdb",
    "res_pjsip",
    "res_pjsip_session",
    "res_pjsip_pubsub",
    "res_pjsip_sdp_rtp",
    "res_pjsip_acl",
    "res_pjsip_caller_id",
    "res_pjsip_dtmf_info",
    "res_pjsip_endpoint_identifier_ip",
    "res_pjsip_endpoint_identifier_user",
    "res_pjsip_authenticator_digest",
    "res_pjsip_registrar",
    "res_pjsip_nat",
    "res_pjsip_refer",
    "res_pjsip_rfc3326",
    "res_pjsip_diversion",
    "res_pjsip_header_funcs",
    "res_pjsip_logger",
    "res_rtp_asterisk",
    "chan_pjsip",
    "chan_bridge_media",
    "bridge_simple",
    "bridge_native_rtp",
    "bridge_softmix",
    "bridge_holding",
    "bridge_builtin_features",
    "res_musiconhold",
    "res_speech",  # res_agi needs it (ast_speech_change) when autoload=no
    "res_agi",
    "app_queue",
    "app_dial",
    "app_playback",
    "app_read",
    "app_mixmonitor",
    "app_chanspy",
    "app_confbridge",
    "app_stack",
    "app_verbose",
    "app_senddtmf",
    "app_userevent",
    "app_exec",
    "app_echo",
    "pbx_config",
    "func_callerid",
    "func_channel",
    "func_strings",
    "func_logic",
    "func_global",
    "func_hangupcause",
    "func_timeout",
    "func_pjsip_aor",  # PJSIP_AOR, PJSIP_CONTACT: a trunk leg's contact and its state
    "func_pjsip_contact",
    "codec_ulaw",
    "codec_alaw",
    "codec_a_mu",
    "codec_gsm",
    "codec_resample",
    "format_wav",
    "format_pcm",
    "format_gsm",
    "format_sln",
    "cdr_csv",  # Asterisk's own record of every call (the reconciliation's second witness)
)

# Only these events reach the backend (manager.conf whitelist filters, OR-ed by Asterisk).
AMI_EVENTS = (
    "FullyBooted",
    "Shutdown",
    "Reload",
    "Newchannel",
    "Newstate",
    "NewCallerid",
    "Hangup",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "BridgeLeave",
    "Hold",
    "Unhold",
    "BlindTransfer",
    "AttendedTransfer",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentRingNoAnswer",
    "AgentConnect",
    "AgentComplete",
    "AgentDump",
    "QueueMemberStatus",
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "QueueMemberPause",
    "MixMonitorStart",
    "MixMonitorStop",
    "ChanSpyStart",
    "ChanSpyStop",
    "ConfbridgeJoin",
    "ConfbridgeLeave",
    "ConfbridgeMute",
    "ConfbridgeUnmute",
    "UserEvent",
    "ContactStatus",  # a trunk leg qualified: Reachable, Unreachable, …
)

# The AMI user's classes: only what the backend uses (Asterisk grants an action to a user
# holding any one of the classes it lists; `manager show command <Action>` shows them).
# Events: system (FullyBooted starts the re-sync, Shutdown), call (channels, bridges, dials,
# transfers, MixMonitor, ChanSpy, ConfBridge), agent (queue callers and members), user
# (UserEvent), dialplan (VarSet of the IVR's variables).
AMI_READ_CLASSES = ("system", "call", "agent", "user", "dialplan")
# Actions: call (Hangup, BlindTransfer), agent (QueueAdd/QueueRemove/QueuePause), originate
# (the position whispers), reporting (CoreShowChannels, whose other class is system).
# QueueStatus and Ping need none. No system (restart, reload, shell via Originate), command
# (any CLI command) or config (rewrite any file).
AMI_WRITE_CLASSES = ("call", "agent", "originate", "reporting")

# Channel variables the IVR sets; only their VarSet events are let through.


# Stasis messages nothing here reads (no AMI event we consume, no module we load needs them;
# declining a type the manager routes, DTMF or MOH, stops Asterisk from starting).
# Each message on a channel is handed to every answered queue call (app_queue follows all
# channels while a call is connected): at 20 calls/s with 50 agents talking, every message
# nobody reads costs ~50 thread hand-offs. Debian's build publishes test-suite events too.
DECLINED_STASIS_TYPES = (
    "ast_test_suite_message_type",
    "agi_exec_start_type",
    "agi_exec_end_type",
    "agi_async_start_type",
    "agi_async_exec_type",
    "agi_async_end_type",
    "ast_channel_talking_start",
    "ast_channel_talking_stop",
    "ast_rtp_rtcp_sent_type",
    "ast_rtp_rtcp_received_type",
    "cel_generic_type",
)


def stasis_pool_size() -> int:
    """Stasis runs every subscriber's callbacks on one thread pool (50 threads by default).
    Threads beyond what the cores can run only add context switches: at 20 calls/s on two
    cores the default pool made ~70,000 switches a second and doubled the screen pops' p99."""
    return max(4, 2 * (os.cpu_count() or 1))
