// archive.js — the archivist's portal: search the catalogue (GET /api/v1/recordings), open a
// recording (its manifest), verify it (POST …/verify: the badge), play a track (the single-file
// export, seekable: …/export supports Range), jump to a clerk's note or an event from the
// timeline, download. The token comes from #token= (an archivist link) and is sent as a bearer
// header; the <video> element, which cannot send headers, uses ?access_token= on the export.

import { L, initLanguage } from './i18n.js';

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.hash.slice(1)).get('token');
let current = null;

function status(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

async function api(method, path) {
  const res = await fetch(path, { method, headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.reason || `HTTP ${res.status}`);
  return body;
}

const clock = (ms) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

async function search(ev) {
  if (ev) ev.preventDefault();
  const q = new URLSearchParams();
  if ($('case').value) q.set('case_number', $('case').value.trim());
  if ($('participant').value) q.set('participant', $('participant').value.trim());
  if ($('from').value) q.set('from', `${$('from').value}T00:00:00Z`);
  if ($('to').value) q.set('to', `${$('to').value}T23:59:59Z`);
  try {
    const { recordings } = await api('GET', `/api/v1/recordings?${q}`);
    status(L(`${recordings.length} recording(s) found`, `找到${recordings.length}条记录`));
    $('results').replaceChildren(...recordings.map((r) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'big-button';
      b.textContent = `${r.case_number} — ${r.started_at.slice(0, 16).replace('T', ' ')} — ${clock(r.duration_ms)} — ${r.status}`;
      b.dataset.id = r.id;
      b.addEventListener('click', () => open(r.id));
      li.append(b);
      return li;
    }));
  } catch (e) {
    status(`${L('Search failed', '搜索失败')}: ${e.message}`, true);
  }
}

function mediaUrl(track) {
  return `/api/v1/recordings/${current.id}/export?track=${encodeURIComponent(track)}&access_token=${encodeURIComponent(token)}`;
}

function play(track) {
  $('player').src = mediaUrl(track);
  $('download').href = mediaUrl(track);
}

async function verify() {
  $('badge').textContent = L('Verifying…', '校验中');
  const v = await api('POST', `/api/v1/recordings/${current.id}/verify`);
  $('badge').textContent = v.ok
    ? L(`Verified ✔ — ${v.segments} segments, signed`, `校验通过 ✔ — ${v.segments}个片段，已签名`)
    : `${L('NOT intact ✘', '校验未通过 ✘')}: ${v.problems.join('; ')}`;
  $('badge').classList.toggle('error', !v.ok);
  $('badge').dataset.ok = String(v.ok);
}

async function open(id) {
  try {
    current = await api('GET', `/api/v1/recordings/${id}`);
  } catch (e) {
    status(`${L('Cannot open the recording', '无法打开录像')}: ${e.message}`, true);
    return;
  }
  const m = current.manifest;
  $('recording').hidden = false;
  $('rec-title').textContent = `${current.case_number} — ${current.court} — ${current.started_at}`;
  const tracks = [['composite', L('Whole hearing', '全景')]].concat(
    (m.participants || []).map((p) => [p.id, `${p.name} (${p.role})`]));
  $('track').replaceChildren(...tracks.map(([v, label]) => new Option(label, v)));
  play('composite');
  const names = Object.fromEntries((m.participants || []).map((p) => [p.id, p.name]));
  const items = (m.notes || []).map((n) => ({ at: n.offset_ms, text: `${L('Note', '笔录')} — ${n.author}: ${n.text}` }))
    .concat((m.events || []).map((e) => ({ at: e.offset_ms, text: `${e.type}${e.who ? ` ${names[e.who] || e.who}` : ''}${e.reason ? ` — ${e.reason}` : ''}` })))
    .sort((a, b) => a.at - b.at);
  $('timeline').replaceChildren(...items.map((it) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'big-button';
    b.textContent = `${clock(it.at)} ${it.text}`;
    b.dataset.offset = String(it.at);
    b.addEventListener('click', () => {
      $('player').currentTime = it.at / 1000;
      $('player').play().catch(() => {});
    });
    li.append(b);
    return li;
  }));
  verify().catch((e) => status(`${L('Verification failed', '校验失败')}: ${e.message}`, true));
}

initLanguage(); // the page's own text switches at once; what the script wrote, at the next step
$('search').addEventListener('submit', search);
$('track').addEventListener('change', () => play($('track').value));
$('verify').addEventListener('click', () => verify().catch((e) => status(e.message, true)));
if (token) {
  status(L('Signed in. Search by case number, participant or date.', '已登录。可按案号、参加人或日期搜索。'));
  search();
} else {
  status(L('This page needs an archivist link with a token (…/archive.html#token=…).', '本页需要带令牌的档案管理员链接（…/archive.html#token=…）。'), true);
}

// For the browser tests.
window.hearingdArchive = { current: () => current };
