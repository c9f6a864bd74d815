/**
 * The wallboard's one page (wallboard.ts serves it): inline CSS and script, nothing fetched from elsewhere, no
 * build step. It reads `/wallboard/events` (server-sent events) with the `key` it was opened with, renders each
 * snapshot, and counts ages between them on the server's clock. Everything from a carrier (numbers, ids) is
 * set as text, never as HTML.
 */
export const WALLBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wallboard · durable-calls</title>
<style>
  :root {
    --bg: #0f1419; --panel: #1a222c; --line: #2a3542; --text: #e6edf3; --muted: #8b98a5;
    --good: #2ea043; --warn: #d29922; --bad: #f85149; --info: #388bfd; --calm: #8957e5;
  }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--text); font: 18px/1.35 system-ui, sans-serif; }
  header { display: flex; align-items: center; gap: 16px; padding: 14px 24px; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 24px; margin: 0; font-weight: 600; }
  #connection { margin-left: auto; display: flex; align-items: center; gap: 8px; color: var(--muted); }
  #connection::before { content: ''; width: 12px; height: 12px; border-radius: 50%; background: var(--muted); }
  #connection[data-state='live']::before { background: var(--good); }
  #connection[data-state='stale']::before, #connection[data-state='connecting']::before { background: var(--warn); }
  #connection[data-state='closed']::before { background: var(--bad); }
  #clock { font-variant-numeric: tabular-nums; color: var(--muted); }
  main { padding: 20px 24px; display: grid; gap: 20px; }
  h2 { font-size: 16px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); margin: 0 0 10px; }
  #queues { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 16px; }
  .queue { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; }
  .queue h3 { margin: 0 0 12px; font-size: 22px; }
  .queue h3 small { color: var(--muted); font-weight: 400; font-size: 15px; margin-left: 8px; }
  .figures { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
  .figure .value { font-size: 52px; font-weight: 700; line-height: 1.05; font-variant-numeric: tabular-nums; }
  .figure .label { color: var(--muted); font-size: 14px; text-transform: uppercase; letter-spacing: .06em; }
  .figure[data-level='good'] .value { color: var(--good); }
  .figure[data-level='warn'] .value { color: var(--warn); }
  .figure[data-level='bad'] .value { color: var(--bad); }
  .agents { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 14px; }
  .chip { display: inline-flex; align-items: baseline; gap: 6px; padding: 4px 12px; border-radius: 999px;
    background: var(--line); font-size: 16px; }
  .chip b { font-size: 22px; font-variant-numeric: tabular-nums; }
  [data-agent-state='available'] { background: #1f4d2b; }
  [data-agent-state='offered'] { background: #5c4813; }
  [data-agent-state='busy'] { background: #1d3f73; }
  [data-agent-state='wrap-up'] { background: #43306b; }
  [data-agent-state='break'] { background: #5a2a27; }
  [data-agent-state='offline'] { background: #2a3542; color: var(--muted); }
  .footnote { color: var(--muted); font-size: 14px; margin-top: 10px; }
  .agent-names { color: var(--muted); font-size: 14px; margin-top: 8px; }
  #calls-count { font-size: 52px; font-weight: 700; font-variant-numeric: tabular-nums; }
  table { width: 100%; border-collapse: collapse; background: var(--panel); border-radius: 10px; overflow: hidden; }
  th, td { text-align: left; padding: 8px 14px; border-bottom: 1px solid var(--line); }
  th { color: var(--muted); font-weight: 500; font-size: 14px; text-transform: uppercase; letter-spacing: .06em; }
  td.age { font-variant-numeric: tabular-nums; }
  .status { padding: 2px 10px; border-radius: 999px; background: var(--line); font-size: 15px; }
  .status[data-status='answered'], .status[data-status='bridged'] { background: #1f4d2b; }
  .status[data-status='queued'] { background: #5c4813; }
  .status[data-status='ringing'], .status[data-status='dialing'] { background: #1d3f73; }
  .empty { color: var(--muted); padding: 14px; }
  #problem { display: none; background: #5a2a27; padding: 10px 24px; }
  #problem.shown { display: block; }
</style>
</head>
<body>
<header>
  <h1>Wallboard</h1>
  <span id="clock"></span>
  <span id="connection" data-state="connecting">connecting</span>
</header>
<div id="problem" role="alert"></div>
<main>
  <section>
    <h2>Queues</h2>
    <div id="queues"><div class="empty">waiting for the first figures…</div></div>
  </section>
  <section>
    <h2>Live calls <span id="calls-count" data-field="live-calls">–</span></h2>
    <table>
      <thead><tr><th>From</th><th>To</th><th>Carrier</th><th>Direction</th><th>Status</th><th>Queue</th><th>Age</th></tr></thead>
      <tbody id="calls"></tbody>
    </table>
  </section>
</main>
<script>
(() => {
  'use strict';
  const AGENT_STATES = ['available', 'offered', 'busy', 'wrap-up', 'break', 'offline'];
  /** The service level a queue is expected to meet (the usual 80 % within its threshold). */
  const SERVICE_LEVEL_TARGET = 0.8;

  const key = new URLSearchParams(location.search).get('key');
  const eventsUrl = location.pathname.replace(/\\/+$/, '') + '/events' + (key ? '?key=' + encodeURIComponent(key) : '');
  /** Server clock minus ours: ages count on the server's clock. */
  let clockOffset = 0;
  const now = () => Date.now() + clockOffset;

  /** An element with attributes and children (strings become text, never HTML). */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, String(value));
    }
    for (const child of children) node.append(child instanceof Node ? child : String(child));
    return node;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const hours = Math.floor(s / 3600);
    const minutes = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, '0');
    return hours > 0 ? hours + ':' + String(minutes).padStart(2, '0') + ':' + rest : minutes + ':' + rest;
  }
  /** An element whose text is the time since an ISO instant, kept current by tick(). */
  const age = (tag, attributes, since) => el(tag, Object.assign({ 'data-since': since }, attributes), '');

  function serviceLevelOf(level) {
    if (level === undefined) return 'none';
    if (level >= SERVICE_LEVEL_TARGET) return 'good';
    return level >= SERVICE_LEVEL_TARGET - 0.2 ? 'warn' : 'bad';
  }

  function figure(field, label, value, level) {
    const node = el('div', { class: 'figure', 'data-level': level });
    node.append(value instanceof Node ? value : el('div', { class: 'value', 'data-field': field }, value));
    node.append(el('div', { class: 'label' }, label));
    return node;
  }

  function queueCard(queue) {
    const card = el('article', { class: 'queue', 'data-queue': queue.name });
    card.append(el('h3', {}, queue.name, el('small', {}, queue.started ? '' : 'not used yet')));
    const longest = queue.longestWaitingSince
      ? age('div', { class: 'value', 'data-field': 'longest-wait' }, queue.longestWaitingSince)
      : el('div', { class: 'value', 'data-field': 'longest-wait' }, '–');
    const level = queue.serviceLevel === undefined ? '–' : Math.round(queue.serviceLevel * 100) + '%';
    card.append(
      el('div', { class: 'figures' },
        figure('waiting', 'waiting', queue.waiting, queue.waiting > 0 ? 'warn' : 'good'),
        figure('longest-wait', 'longest wait', longest),
        figure('service-level', 'in ' + queue.serviceLevelSeconds + ' s', level, serviceLevelOf(queue.serviceLevel)),
      ),
    );
    const chips = el('div', { class: 'agents' });
    for (const state of AGENT_STATES) {
      const count = queue.agentsByState[state];
      if (count) chips.append(el('span', { class: 'chip', 'data-agent-state': state }, el('b', {}, count), state));
    }
    if (!chips.childElementCount) chips.append(el('span', { class: 'chip' }, 'no agents signed in'));
    card.append(chips);
    if (queue.agents.length) {
      card.append(el('div', { class: 'agent-names' }, queue.agents.map((a) => a.id + ' ' + a.state).join(' · ')));
    }
    const windowText = Math.round(queue.windowSeconds / 60) + ' min';
    const speed = queue.windowAverageSpeedOfAnswerSeconds;
    card.append(
      el('div', { class: 'footnote' },
        'last ' + windowText + ': ' + queue.windowAnswered + ' answered, ' + queue.windowAbandoned + ' abandoned' +
          (speed === undefined ? '' : ', answered in ' + Math.round(speed) + ' s on average') +
          (queue.callbacks ? ' · ' + queue.callbacks + ' callback' + (queue.callbacks > 1 ? 's' : '') + ' waiting' : ''),
      ),
    );
    return card;
  }

  function callRow(call) {
    return el('tr', { 'data-call': call.workflowId },
      el('td', {}, call.from || '–'),
      el('td', {}, call.to || '–'),
      el('td', {}, call.provider || '–'),
      el('td', {}, call.direction || '–'),
      el('td', {}, el('span', { class: 'status', 'data-status': call.status }, call.status || '–')),
      el('td', { class: 'call-queue' }, call.queue || ''),
      age('td', { class: 'age' }, call.startedAt),
    );
  }

  function render(snapshot) {
    const queues = document.getElementById('queues');
    queues.replaceChildren(...snapshot.queues.map(queueCard));
    if (!snapshot.queues.length) queues.append(el('div', { class: 'empty' }, 'no queues configured'));
    const calls = document.getElementById('calls');
    calls.replaceChildren(...snapshot.calls.map(callRow));
    if (!snapshot.calls.length) calls.append(el('tr', {}, el('td', { class: 'empty', colspan: 7 }, 'no live calls')));
    document.getElementById('calls-count').textContent = snapshot.calls.length + (snapshot.moreCalls ? '+' : '');
    tick();
  }

  function tick() {
    for (const node of document.querySelectorAll('[data-since]')) {
      node.textContent = duration((now() - Date.parse(node.getAttribute('data-since'))) / 1000);
    }
    document.getElementById('clock').textContent = new Date(now()).toLocaleTimeString();
  }

  function connection(state, text) {
    const node = document.getElementById('connection');
    node.dataset.state = state;
    node.textContent = text;
  }
  function problem(text) {
    const node = document.getElementById('problem');
    node.textContent = text || '';
    node.classList.toggle('shown', Boolean(text));
  }

  const events = new EventSource(eventsUrl);
  events.addEventListener('snapshot', (event) => {
    const message = JSON.parse(event.data);
    clockOffset = message.serverTime - Date.now();
    render(message.snapshot);
    connection('live', 'live');
    problem('');
  });
  events.addEventListener('problem', (event) => {
    connection('stale', 'stale');
    problem(JSON.parse(event.data).detail);
  });
  events.addEventListener('error', () => {
    // A refused stream (a key revoked, the gateway says 401) is not retried by the browser; a dropped one is.
    if (events.readyState === EventSource.CLOSED) {
      connection('closed', 'disconnected');
      problem('The live feed was refused: reopen this page as /wallboard?key=<an API key with the read scope>.');
    } else {
      connection('connecting', 'reconnecting');
    }
  });
  setInterval(tick, 1000);
  tick();
})();
</script>
</body>
</html>
`;
