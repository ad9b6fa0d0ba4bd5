// The Chinese labels of the desktops: presence, call states and end reasons, IVR choices,
// order types and statuses, command errors, roles and the connection's status.
// Anything not in a table is shown as it comes (label()), as text.

export const PRESENCE_LABELS = {
  logged_out: "未签入",
  available: "空闲",
  ringing: "振铃",
  talking: "通话中",
  wrap_up: "话后处理",
  paused: "示忙",
};

// A pause given during a call: it starts when the call (and its wrap-up) is done.
export function pendingPauseText(reason) {
  return `通话结束后暂停：${reason}`;
}

// Call states: the tracker's (in_ivr … abandoned) and the protocol document's (answered, held).
export const CALL_STATE_LABELS = {
  in_ivr: "语音导航中",
  queued: "排队中",
  ringing: "振铃中",
  talking: "通话中",
  answered: "通话中",
  held: "保持中",
  transferred: "已转接",
  ended: "已结束",
  abandoned: "已放弃",
};
export const FINAL_CALL_STATES = new Set(["ended", "abandoned"]);

// Why a call ended (the call tracker's end_reason); anything else is shown as it comes.
export const CALL_REASON_LABELS = {
  "hung up by caller": "来电人挂机",
  "hung up by agent": "坐席挂机",
  "hung up by transfer": "已转接后挂机",
  "caller hung up in IVR": "来电人在语音导航中挂机",
  "caller hung up while waiting in queue": "来电人排队时挂机",
  "not found in Asterisk after re-sync": "交换机中已无此通话",
};

export function callReason(reason) {
  if (!reason) return "";
  const text = String(reason);
  if (Object.prototype.hasOwnProperty.call(CALL_REASON_LABELS, text)) return CALL_REASON_LABELS[text];
  if (text.startsWith("asterisk connection lost")) return "与交换机的连接中断";
  if (text.startsWith("transfer to ")) return `转接至 ${text.slice("transfer to ".length)}`;
  return text;
}

export const IVR_LABELS = {
  consult: "咨询",
  complaint: "投诉",
  help: "求助",
  operator: "人工服务",
};

export const ORDER_TYPE_LABELS = {
  consultation: "咨询",
  help: "求助",
  suggestion: "意见建议",
  complaint: "投诉",
  report: "举报",
  other: "其他",
  police: "治安（转110）",
  fire: "火警（转119）",
  medical: "医疗（转120）",
  disaster: "灾害",
};

export const ORDER_STATUS_LABELS = {
  registered: "已登记",
  dispatched: "已派单",
  returned: "已退回",
  accepted: "已签收",
  contacted: "已联系",
  replied: "已答复",
  reopened: "重办",
  closed: "已办结",
  not_accepted: "不予受理",
  answered: "直接答复",
  transferred: "已转办",
};

// Errors of command_result, from the gateway and from the backend.
export const ERROR_LABELS = {
  malformed_json: "消息格式错误",
  invalid_message: "消息内容错误",
  unknown_type: "未知消息类型",
  unknown_command: "未知操作",
  invalid_args: "参数有误",
  forbidden: "无权执行",
  rate_limited: "操作过于频繁",
  no_extension: "不是坐席分机",
  unknown_queue: "未服务该队列",
  unknown_agent: "没有该坐席",
  not_member: "坐席不在该队列",
  already_member: "坐席已在该队列",
  not_overflow: "不是该队列的支援席",
  logged_out: "尚未签入",
  not_in_wrap_up: "当前不在话后处理",
  outcome_required: "尚无处理结果",
  has_order: "已登记工单",
  emergency_needs_order: "紧急来电须登记工单并转交110/119/120",
  invalid_note: "备注有误",
  not_paused: "录音未暂停",
  no_recording: "该通话没有录音",
  not_your_call: "不是本席接听的通话",
  no_call: "当前没有通话",
  invalid_order: "工单内容有误",
  callback_busy: "该工单正在回访中",
  not_your_callback: "不是本席发起的回访",
  callback_done: "回访结果已记录",
  no_callback: "没有这个回访通话",
  no_number: "工单没有来电号码",
  bad_number: "号码无法外呼",
  no_outbound: "未配置外呼线路",
  satisfaction_required: "接通须记录满意度",
  no_satisfaction: "未接通不记录满意度",
  asterisk_refused: "交换机拒绝执行",
  asterisk_unavailable: "交换机暂不可用",
  expired: "操作已过期，未执行",
  internal_error: "服务器内部错误，未执行",
  timeout: "等待结果超时",
  not_confirmed: "交换机未确认",
  not_now: "当前不可执行",
  no_consult: "没有进行中的转接",
  bad_target: "转接对象无效",
  busy: "对方忙",
  no_answer: "无人接听",
  all_trunks_down: "主备线路均不可用",
  unavailable: "对方无法接通",
  hung_up: "对方已挂机",
  disconnected: "未连接到服务器",
};

export function label(map, value, fallback = "—") {
  if (value === null || value === undefined || value === "") return fallback;
  return Object.prototype.hasOwnProperty.call(map, value) ? map[value] : String(value);
}

export function describeError(error) {
  if (!error) return "未知错误";
  const code = String(error.code ?? "");
  const name = label(ERROR_LABELS, code, "错误");
  const message = error.message ? String(error.message) : "";
  return message ? `${name}（${code}：${message}）` : `${name}（${code}）`;
}

// A trunk line (trunks.js, the centre's alerts): the emergency lines by their number, the
// outbound trunk (回访) by name.
export const TRUNK_LINE_LABELS = { outbound: "外呼" };

export const ROLE_LABELS = { agent: "坐席", supervisor: "班长", admin: "管理员" };

// The connection's status (connection.js), as statusShower (desk.js) shows it.
export const STATUS_LABELS = {
  idle: "未连接",
  ticket: "正在获取凭证…",
  connecting: "正在连接…",
  connected: "已连接",
  reconnecting: "连接中断，正在重连…",
  failed: "登录失败",
  closed: "已退出",
};

// Call control (hold, mute, warm transfer): the steps of a consult, why one failed, each
// trunk leg dialled and its SIP outcome as Asterisk's DialStatus says it.
export const CONSULT_STATE_LABELS = {
  dialing: "拨号中",
  ringing: "振铃中",
  answered: "已接通",
  three_way: "三方通话中",
  completed: "已完成转接",
  cancelled: "已取消",
  failed: "失败",
};
export const CONTROL_REASON_LABELS = {
  busy: "对方忙",
  no_answer: "无人接听",
  all_trunks_down: "主备线路均不可用",
  unavailable: "对方无法接通",
  hung_up: "对方已挂机",
  not_confirmed: "交换机未确认",
  not_now: "当前不可执行",
  no_consult: "没有进行中的转接",
  bad_target: "转接对象无效",
};
export const LEG_LABELS = { primary: "主用线路", backup: "备用线路" };
export const DIAL_STATUS_LABELS = {
  "": "振铃中",
  ANSWER: "已接通",
  BUSY: "忙",
  CONGESTION: "线路拥塞（503）",
  NOANSWER: "无人接听",
  CHANUNAVAIL: "线路不可用",
  CANCEL: "已取消",
};
export const TARGET_KIND_LABELS = { agent: "坐席", department: "部门", supervisor: "班长", colleague: "同事", emergency: "紧急线路" };
