// join.js — the join page: reads the hearing id from ?hearing= and the token from #token=,
// joins over the hearing.v1 WebSocket protocol (docs/protocol.md), shows the hearing and who is
// in it, previews the camera, answers the server's WebRTC offer, shows the hearing's one
// composite picture and plays its sound (everyone but oneself), with mute and camera buttons.

import { L, initLanguage } from './i18n.js';

const STATES = () => ({
  scheduled: L('Scheduled', '待开庭'),
  open: L('Open — waiting to begin', '候庭'),
  in_session: L('In session', '庭审中'),
  recess: L('In recess', '休庭'),
  closed: L('Closed', '闭庭'),
});
const ROLES = () => ({
  judge: L('Judge', '审判员'), clerk: L('Clerk', '书记员'), party: L('Party', '当事人'), counsel: L('Counsel', '诉讼代理人'),
  witness: L('Witness', '证人'), interpreter: L('Interpreter', '翻译人员'), observer: L('Observer', '旁听人员'),
  operator: L('Shared-court staff', '共享法庭工作人员'), archivist: L('Archivist', '档案管理员'),
});
// Plain-language explanations of refusals, for people joining from a village room.
const REASONS = () => ({
  token_expired: L('This join link has expired. Please ask the court for a new one.', '此入庭链接已过期，请向法院索取新链接。'),
  token_not_yet_valid: L('This join link is not valid yet. Please try again at the hearing time.', '此入庭链接尚未生效，请在开庭时间再试。'),
  token_revoked: L('This join link has been withdrawn. Please ask the court for a new one.', '此入庭链接已被撤回，请向法院索取新链接。'),
  token_wrong_hearing: L('This join link belongs to another hearing.', '此入庭链接属于另一场庭审。'),
  hearing_not_open: L('The hearing has not opened yet. Please wait and try again shortly.', '庭审尚未开始，请稍后再试。'),
  hearing_closed: L('This hearing is over.', '本次庭审已结束。'),
  hearing_full: L('The hearing is full. Please ask the staff for help.', '庭审人数已满，请向工作人员求助。'),
  server_full: L('The server is busy. Please try again in a minute.', '服务器繁忙，请一分钟后再试。'),
  in_lobby: L('Please wait: the court will let you in.', '请稍候，法庭将请您入庭。'),
});

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const hearing = params.get('hearing');
const token = new URLSearchParams(location.hash.slice(1)).get('token');
// The link's own claims, read only to greet (the server verifies the token): a shared court's
// link names the operator who joins on the party's behalf ("act").
function linkClaims() {
  try {
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(
      atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}
const withHelper = (p) => (p.assisted_by ? ` (${L(`with ${p.assisted_by}`, `共享法庭工作人员：${p.assisted_by}`)})` : '');
let ws = null;
let left = false;
let pc = null;
let local = null; // our camera and microphone
let permissions = [];
let audioMuted = false;
let videoMuted = false;

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

async function startLocalMedia() {
  if (local || !permissions.includes('speak') || !navigator.mediaDevices) return;
  try {
    local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
    $('preview').srcObject = local;
  } catch (e) {
    status(`Camera or microphone unavailable (${e.name}); you can still see and hear the hearing.`, true);
  }
}

function newPeer(iceServers) {
  if (pc) pc.close();
  pc = new RTCPeerConnection({ iceServers: iceServers || [], bundlePolicy: 'max-bundle' });
  pc.onicecandidate = (ev) => send({
    type: 'candidate',
    candidate: ev.candidate ? ev.candidate.candidate : '',
    sdpMLineIndex: ev.candidate ? ev.candidate.sdpMLineIndex : 0,
  });
  // the media path failed (a village link that dropped): join again; within the grace period
  // the court lets us straight back in, without the lobby
  pc.onconnectionstatechange = () => {
    if (pc && pc.connectionState === 'failed' && ws && !left) {
      status(L('The connection was lost. Reconnecting…', '连接中断，正在重连…'), true);
      ws.close();
    }
  };
  pc.ontrack = (ev) => {
    const v = $('composite');
    if (v.srcObject !== ev.streams[0]) v.srcObject = ev.streams[0] || new MediaStream([ev.track]);
  };
}

// The server offers; we answer, sending our tracks on the offered transceivers.
async function onOffer(sdp) {
  await pc.setRemoteDescription({ type: 'offer', sdp });
  await startLocalMedia();
  if (local) for (const track of local.getTracks()) pc.addTrack(track, local);
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  send({ type: 'answer', sdp: pc.localDescription.sdp });
}

function status(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

function showHearing(h) {
  lastHearing = h;
  $('title').textContent = h.title;
  $('case').textContent = `${h.case_number} · ${h.court}`;
  $('state').textContent = STATES()[h.state] || h.state;
}

let me = null; // our participant id
let lastHearing = null;
let myRole = '';
let lastWaiting = [];
let lastRoster = [];
let quality = {}; // participant id -> {loss_pct, rtt_ms, kbps}, for the judge and clerk
let speaking = null; // the active speaker's id (the server's `speaker`)
let retryMs = 1000; // the next reconnection's delay
let layout = { mode: 'grid', participant: null }; // the composite's layout (`layout`)

function button(text, label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'big-button';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

// Who is in the hearing; for the judge, a mute and a remove button beside each of the others.
function showRoster(participants) {
  lastRoster = participants;
  const ul = $('roster');
  ul.replaceChildren(...participants.map((p) => {
    const li = document.createElement('li');
    const marks = `${p.hand_raised ? ` — ${L('hand raised', '举手')}` : ''}${p.audio_muted ? ` — ${L('muted', '已静音')}` : ''}`;
    li.append(`${p.name}${withHelper(p)} — ${ROLES()[p.role] || p.role}${marks} `);
    const talk = document.createElement('span');
    talk.className = 'speaking';
    talk.dataset.speaker = p.id;
    li.append(talk);
    if (p.id !== me) {
      const link = document.createElement('span');
      link.dataset.id = p.id;
      li.append(link);
    }
    if (p.id !== me && p.role !== 'observer' && permissions.includes('mute_others')) { // an observer has no microphone
      const muted = p.muted_by_judge;
      li.append(button(muted ? L('Unmute', '取消静音') : L('Mute', '静音'), `${muted ? 'Unmute' : 'Mute'} ${p.name}`,
        () => send({ type: 'mute', participant: p.id, audio: !muted })), ' ');
    }
    if (p.role !== 'observer' && permissions.includes('layout')) { // an observer is not in the picture
      const pinned = layout.mode === 'pinned' && layout.participant === p.id;
      const pin = button(pinned ? L('Unpin', '取消大画面') : L('Show large', '大画面'), `${pinned ? 'Unpin' : 'Show large'} ${p.name}`,
        () => send(pinned ? { type: 'layout', mode: 'grid' } : { type: 'layout', mode: 'pinned', participant: p.id }));
      pin.setAttribute('aria-pressed', String(pinned));
      li.append(pin, ' ');
    }
    if (p.id !== me && permissions.includes('remove')) {
      li.append(button(L('Remove', '请出'), `Remove ${p.name}`, () => {
        if (window.confirm(L(`Remove ${p.name} from the hearing?`, `确定将${p.name}请出庭审？`))) send({ type: 'remove', participant: p.id });
      }));
    }
    return li;
  }));
  showQuality();
  showSpeaker();
  showLayout();
  const mine = participants.find((p) => p.id === me);
  if (mine) {
    // muted by the judge: only the judge can unmute
    $('mute').disabled = Boolean(mine.muted_by_judge);
    if (mine.muted_by_judge) {
      audioMuted = true;
      if (local) for (const t of local.getAudioTracks()) t.enabled = false;
      $('mute').textContent = L('The judge muted you', '审判员已将您静音');
    } else if ($('mute').textContent.startsWith('The judge')) {
      $('mute').textContent = audioMuted ? L('Unmute microphone', '取消静音') : L('Mute microphone', '静音');
    }
  }
}

// The link of each participant, for the judge and clerk: updated in place every 2 s, so the
// roster's buttons stay where they are under the judge's pointer.
function showQuality() {
  for (const link of $('roster').querySelectorAll('span[data-id]')) {
    const q = quality[link.dataset.id];
    const poor = Boolean(q) && (q.loss_pct > 5 || q.rtt_ms > 400);
    link.className = poor ? 'link poor' : 'link';
    link.textContent = q ? `[${poor ? L('weak link', '信号差') : L('link ok', '信号好')}: ${q.loss_pct.toFixed(1)}% lost, ${q.rtt_ms < 0 ? '?' : Math.round(q.rtt_ms)} ms, ${Math.round(q.kbps)} kbit/s] ` : '';
  }
}

// Who is speaking: marked in the roster, in place (it changes often).
function showSpeaker() {
  for (const s of $('roster').querySelectorAll('span[data-speaker]')) {
    s.textContent = s.dataset.speaker === speaking ? L('— speaking ', '— 正在发言 ') : '';
  }
}

// The composite's layout, for everyone; the judge's layout buttons show which one is on.
function showLayout() {
  const pinned = lastRoster.find((p) => p.id === layout.participant);
  const names = { grid: L('everyone alike', '平铺'), speaker: L('the speaker large', '发言人大画面'),
    pinned: L(`${pinned ? pinned.name : '?'} large`, `${pinned ? pinned.name : '?'}大画面`) };
  $('layout').textContent = names[layout.mode] || layout.mode;
  for (const b of document.querySelectorAll('#layout-controls button')) {
    b.setAttribute('aria-pressed', String(b.dataset.layout === layout.mode));
  }
}

function showControls() {
  // an observer only watches and listens: no microphone or camera controls
  $('mute').hidden = !permissions.includes('speak');
  $('camera').hidden = !permissions.includes('speak');
  $('hand').hidden = !permissions.includes('raise_hand');
  $('state-controls').hidden = !permissions.includes('control_state');
  $('layout-controls').hidden = !permissions.includes('layout');
  $('record-controls').hidden = !permissions.includes('record');
  $('note-controls').hidden = !permissions.includes('log_note');
  $('bench').hidden = $('state-controls').hidden && $('record-controls').hidden && $('note-controls').hidden
    && $('layout-controls').hidden;
}

let iceServers = [];

function enterHearing() {
  $('lobby').hidden = true;
  newPeer(iceServers);
  startLocalMedia();
  $('hearing').hidden = false;
  status(L('You have joined the hearing.', '已进入庭审'));
}

// The judge's and clerk's view of the lobby: admit, or deny with a reason.
function showWaiting(list) {
  lastWaiting = list;
  $('waiting').hidden = list.length === 0;
  $('waiting-list').replaceChildren(...list.map((p) => {
    const li = document.createElement('li');
    li.textContent = `${p.name}${withHelper(p)} — ${ROLES()[p.role] || p.role} `;
    const admit = document.createElement('button');
    admit.type = 'button';
    admit.className = 'big-button';
    admit.textContent = L('Admit', '准许入庭');
    admit.setAttribute('aria-label', `Admit ${p.name}`);
    admit.addEventListener('click', () => send({ type: 'admit', participant: p.id }));
    const deny = document.createElement('button');
    deny.type = 'button';
    deny.className = 'big-button';
    deny.textContent = L('Deny', '拒绝');
    deny.setAttribute('aria-label', `Deny ${p.name}`);
    deny.addEventListener('click', () => {
      const reason = window.prompt(L(`Reason for denying ${p.name}`, `拒绝${p.name}入庭的理由`), '');
      if (reason) send({ type: 'deny', participant: p.id, reason });
    });
    li.append(admit, ' ', deny);
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
        retryMs = 1000;
        permissions = m.permissions;
        iceServers = m.ice_servers;
        me = m.participant.id;
        myRole = m.participant.role;
        showControls();
        $('me').textContent = m.participant.name + withHelper(m.participant);
        $('role').textContent = ROLES()[m.participant.role] || m.participant.role;
        showHearing(m.hearing);
        if (m.layout) layout = m.layout;
        showLayout();
        if (m.lobby) {
          $('lobby').hidden = false;
          status(L('You are in the lobby.', '您在候庭室。'));
        } else {
          enterHearing();
        }
        break;
      case 'lobby':
        $('lobby-message').textContent = m.message;
        $('lobby-position').textContent = String(m.position);
        break;
      case 'admitted': enterHearing(); break;
      case 'speaker': speaking = m.participant; showSpeaker(); break;
      case 'layout':
        layout = { mode: m.mode, participant: m.participant || null };
        showLayout();
        showRoster(lastRoster);
        break;
      case 'waiting': showWaiting(m.participants); break;
      case 'quality':
        quality = Object.fromEntries(m.participants.map((q) => [q.id, q]));
        showQuality();
        break;
      case 'note': {
        const li = document.createElement('li');
        li.textContent = `${m.at.slice(11, 19)} (${Math.round(m.offset_ms / 1000)} s) ${m.author}: ${m.text}`;
        $('notes').append(li);
        break;
      }
      case 'recording':
        status(m.state === 'paused' ? `${L('Off the record', '暂停录像')}: ${m.reason} (${m.by})` : `${L('Back on the record', '恢复录像')} (${m.by})`);
        break;
      case 'roster': showRoster(m.participants); break;
      case 'offer': onOffer(m.sdp).catch((e) => status(`Media failed: ${e.message}`, true)); break;
      case 'candidate':
        if (pc && m.candidate) pc.addIceCandidate({ candidate: m.candidate, sdpMLineIndex: m.sdpMLineIndex }).catch(() => {});
        break;
      case 'hearing': showHearing(m.hearing); break;
      case 'error':
        if (m.code === 'denied' || m.code === 'removed') {
          left = true; // sent away: no reconnecting
          status(`${m.code === 'denied' ? L('The court did not admit you', '法庭未准许入庭') : L('You were removed from the hearing', '您已被请出庭审')}: ${m.reason}`, true);
        } else {
          status(REASONS()[m.code] || (me ? m.reason : `Could not join: ${m.reason}`), true);
        }
        break;
      case 'bye': status(`Disconnected: ${m.reason}`); left = true; break;
      default: break; // newer server messages are ignored
    }
  };
  ws.onclose = () => {
    $('hearing').hidden = true;
    if (pc) { pc.close(); pc = null; }
    if (!left) {
      status('The connection was lost. Reconnecting…', true);
      // soon at first (a village link that blinked), then less often (one that is down)
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 16000);
    }
  };
}

$('mute').addEventListener('click', () => {
  audioMuted = !audioMuted;
  if (local) for (const t of local.getAudioTracks()) t.enabled = !audioMuted;
  $('mute').setAttribute('aria-pressed', String(audioMuted));
  $('mute').textContent = audioMuted ? L('Unmute microphone', '取消静音') : L('Mute microphone', '静音');
  send({ type: 'mute', audio: audioMuted });
});

$('camera').addEventListener('click', () => {
  videoMuted = !videoMuted;
  if (local) for (const t of local.getVideoTracks()) t.enabled = !videoMuted;
  $('camera').setAttribute('aria-pressed', String(videoMuted));
  $('camera').textContent = videoMuted ? L('Turn camera on', '打开摄像头') : L('Turn camera off', '关闭摄像头');
  send({ type: 'mute', video: videoMuted });
});

let handRaised = false;
$('hand').addEventListener('click', () => {
  handRaised = !handRaised;
  $('hand').setAttribute('aria-pressed', String(handRaised));
  $('hand').textContent = handRaised ? L('Lower hand', '放下') : L('Raise hand', '举手');
  send({ type: 'hand', raised: handRaised });
});

for (const b of document.querySelectorAll('#layout-controls button')) {
  b.addEventListener('click', () => send({ type: 'layout', mode: b.dataset.layout }));
}
for (const b of document.querySelectorAll('#state-controls button')) {
  b.addEventListener('click', () => send({ type: 'hearing_state', state: b.dataset.state }));
}

$('off-record').addEventListener('click', () => {
  const reason = window.prompt(L('Why off the record?', '暂停录像的理由'), '');
  if (reason) send({ type: 'recording', action: 'pause', reason });
});
$('on-record').addEventListener('click', () => send({ type: 'recording', action: 'resume', reason: 'back on the record' }));

$('note-add').addEventListener('click', () => {
  const text = $('note-text').value.trim();
  if (text) send({ type: 'note', text });
  $('note-text').value = '';
});

$('leave').addEventListener('click', () => {
  left = true;
  if (ws) ws.send(JSON.stringify({ type: 'leave' }));
});
// The device check, for people unused to computers: their camera, a microphone level that
// moves when they speak, a test sound, and the round trip to the court, before they join.
let checkStream = null;
let checkAudio = null;
function greetHelper() {
  const c = linkClaims();
  $('assist').hidden = !(c.act && c.act.name);
  if (c.act && c.act.name) {
    $('assist').textContent = L(`${c.act.name}: you are helping ${c.name} join the hearing. Check the camera, microphone and sound together with ${c.name}, then press “Join the hearing”. In the hearing, ${c.name} speaks for themself; the court sees that you are with them.`,
      `${c.act.name}：您正在协助${c.name}参加庭审。请与${c.name}一起检查摄像头、麦克风和声音，然后点击“进入庭审”。庭审中由${c.name}本人发言，法庭会看到您在旁协助。`);
  }
}

async function deviceCheck() {
  $('check').hidden = false;
  greetHelper();
  status(L('Check your camera, microphone and sound, then press “Join the hearing”.', '请检查设备后点击“进入庭审”。'));
  try {
    checkStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
    $('check-preview').srcObject = checkStream;
    checkAudio = new AudioContext();
    const analyser = checkAudio.createAnalyser();
    checkAudio.createMediaStreamSource(checkStream).connect(analyser);
    const data = new Float32Array(analyser.fftSize);
    const tick = () => {
      if (!checkAudio) return;
      analyser.getFloatTimeDomainData(data);
      let peak = 0;
      for (const v of data) peak = Math.max(peak, Math.abs(v));
      $('mic-level').value = Math.min(1, peak * 2);
      requestAnimationFrame(tick);
    };
    tick();
  } catch (e) {
    status(L(`Camera or microphone unavailable (${e.name}): ask the staff for help.`, `摄像头或麦克风不可用（${e.name}）：请向工作人员求助。`), true);
  }
  const rtts = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    try {
      await fetch('/healthz', { cache: 'no-store' });
      rtts.push(performance.now() - t0);
    } catch { /* counted as missing */ }
  }
  rtts.sort((a, b) => a - b);
  $('network').textContent = rtts.length
    ? `${Math.round(rtts[Math.floor(rtts.length / 2)])} ms — ${rtts[0] < 300 ? L('good', '良好') : L('slow', '较慢')}`
    : L('cannot reach the court', '无法连接');
  $('network').dataset.ms = rtts.length ? String(Math.round(rtts[Math.floor(rtts.length / 2)])) : '';
}

$('speaker-test').addEventListener('click', () => {
  const ctx = checkAudio || new AudioContext();
  const osc = ctx.createOscillator();
  osc.frequency.value = 440;
  osc.connect(ctx.destination);
  osc.start();
  osc.stop(ctx.currentTime + 1);
});

$('join-now').addEventListener('click', () => {
  $('check').hidden = true;
  if (checkAudio) checkAudio.close();
  checkAudio = null;
  if (checkStream) for (const t of checkStream.getTracks()) t.stop();
  checkStream = null;
  connect();
});

// The language switch: what the script wrote is written again in the other language.
initLanguage(() => {
  if (lastHearing) showHearing(lastHearing);
  showRoster(lastRoster);
  showWaiting(lastWaiting);
  showLayout();
  if (!$('mute').disabled) $('mute').textContent = audioMuted ? L('Unmute microphone', '取消静音') : L('Mute microphone', '静音');
  $('camera').textContent = videoMuted ? L('Turn camera on', '打开摄像头') : L('Turn camera off', '关闭摄像头');
  $('hand').textContent = handRaised ? L('Lower hand', '放下') : L('Raise hand', '举手');
  if (me) $('role').textContent = ROLES()[myRole] || myRole;
  if (!$('check').hidden) greetHelper();
});

// #…&check=0 (automated clients, a rejoin) joins at once; people check their devices first.
if (!token) {
  connect();
} else if (new URLSearchParams(location.hash.slice(1)).get('check') === '0' || !navigator.mediaDevices) {
  connect();
} else {
  deviceCheck();
}

// For diagnostics and the browser tests: the current RTCPeerConnection (getStats()).
window.hearingd = { peer: () => pc };
