// join.js — the join page: reads the hearing id from ?hearing= and the token from #token=,
// joins over the hearing.v1 WebSocket protocol (docs/protocol.md), shows the hearing and who is
// in it. Media (camera, microphone, the composite picture) arrives with the media issue.

const STATES = {
  scheduled: 'Scheduled 待开庭',
  open: 'Open — waiting to begin 候庭',
  in_session: 'In session 庭审中',
  recess: 'In recess 休庭',
  closed: 'Closed 闭庭',
};
const ROLES = {
  judge: 'Judge 审判员', clerk: 'Clerk 书记员', party: 'Party 当事人', counsel: 'Counsel 诉讼代理人',
  witness: 'Witness 证人', interpreter: 'Interpreter 翻译人员', observer: 'Observer 旁听人员',
  operator: 'Shared-court staff 共享法庭工作人员', archivist: 'Archivist 档案管理员',
};
// Plain-language explanations of refusals, for people joining from a village room.
const REASONS = {
  token_expired: 'This join link has expired. Please ask the court for a new one.',
  token_not_yet_valid: 'This join link is not valid yet. Please try again at the hearing time.',
  token_revoked: 'This join link has been withdrawn. Please ask the court for a new one.',
  token_wrong_hearing: 'This join link belongs to another hearing.',
  hearing_not_open: 'The hearing has not opened yet. Please wait and try again shortly.',
  hearing_closed: 'This hearing is over.',
  hearing_full: 'The hearing is full. Please ask the staff for help.',
  server_full: 'The server is busy. Please try again in a minute.',
};

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const hearing = params.get('hearing');
const token = new URLSearchParams(location.hash.slice(1)).get('token');
let ws = null;
let left = false;

function status(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

function showHearing(h) {
  $('title').textContent = h.title;
  $('case').textContent = `${h.case_number} · ${h.court}`;
  $('state').textContent = STATES[h.state] || h.state;
}

function showRoster(participants) {
  const ul = $('roster');
  ul.replaceChildren(...participants.map((p) => {
    const li = document.createElement('li');
    li.textContent = `${p.name} — ${ROLES[p.role] || p.role}`;
    return li;
  }));
}

function connect() {
  if (!token) {
    status('This page needs a join link with a token. Please use the link you were given.', true);
    return;
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  ws = new WebSocket(`${scheme}://${location.host}/ws`, 'hearing.v1');
  ws.onopen = () => {
    const msg = { type: 'join', id: 1, token };
    if (hearing) msg.hearing = hearing;
    ws.send(JSON.stringify(msg));
  };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    switch (m.type) {
      case 'welcome':
        $('me').textContent = m.participant.name;
        $('role').textContent = ROLES[m.participant.role] || m.participant.role;
        showHearing(m.hearing);
        $('hearing').hidden = false;
        status('You have joined the hearing. 已进入庭审');
        break;
      case 'roster': showRoster(m.participants); break;
      case 'hearing': showHearing(m.hearing); break;
      case 'error': status(REASONS[m.code] || `Could not join: ${m.reason}`, true); break;
      case 'bye': status(`Disconnected: ${m.reason}`); left = true; break;
      default: break; // newer server messages are ignored
    }
  };
  ws.onclose = () => {
    $('hearing').hidden = true;
    if (!left) {
      status('The connection was lost. Reconnecting…', true);
      setTimeout(connect, 3000);
    }
  };
}

$('leave').addEventListener('click', () => {
  left = true;
  if (ws) ws.send(JSON.stringify({ type: 'leave' }));
});
connect();
