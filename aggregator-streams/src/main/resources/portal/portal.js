// The customer portal (docs/portal.md): opened as /portal#token=<portal token>, it reads this service's
// APIs with the token and shows the customer's limits, bill projection, daily usage, grants and recent
// refusals; the customer can change its own caps. No framework; the chart is Chart.js from its webjar.
(() => {
  'use strict';
  const TOKEN_KEY = 'capstream.portal.token';
  const $ = (id) => document.getElementById(id);

  // the token arrives in the fragment (never sent to a server); kept for this tab so a reload works
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  const customer = customerOf(token);
  let chart = null;
  let report = null;
  let timezone = 'UTC';

  /** The customer a token names (its payload: customer, expiry, nonce), or null for anything else. */
  function customerOf(t) {
    if (!t || !t.startsWith('cpt_')) return null;
    const parts = t.split('.');
    if (parts.length !== 3) return null;
    try {
      const text = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
      return decodeURIComponent(escape(text)).split('\n')[0] || null;
    } catch (e) {
      return null;
    }
  }

  function problem(message) {
    const p = $('problem');
    p.textContent = message;
    p.hidden = false;
  }

  class Refused extends Error {}

  async function api(path, options = {}) {
    const response = await fetch(path, {
      method: options.method || 'GET',
      headers: Object.assign({ Authorization: 'Bearer ' + token, Accept: options.accept || 'application/json' },
        options.body ? { 'Content-Type': 'application/json' } : {}),
      body: options.body ? JSON.stringify(options.body) : undefined,
    });
    if (response.status === 401 || response.status === 403) {
      throw new Refused('This link has expired or is not valid for this account. Ask for a new link.');
    }
    return response;
  }

  async function json(path) {
    const response = await api(path);
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error((body.error && body.error.message) || ('The server answered ' + response.status + '.'));
    }
    return response.json();
  }

  const base = () => '/v1/customers/' + encodeURIComponent(customer);

  function when(iso, options) {
    return new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: timezone }, options || { dateStyle: 'medium', timeStyle: 'short' }))
      .format(new Date(iso));
  }

  function countdown(iso) {
    let minutes = Math.max(0, Math.floor((new Date(iso) - Date.now()) / 60000));
    const days = Math.floor(minutes / 1440);
    minutes -= days * 1440;
    const hours = Math.floor(minutes / 60);
    minutes -= hours * 60;
    return 'in ' + (days ? days + ' d ' : '') + (days || hours ? hours + ' h ' : '') + minutes + ' min';
  }

  /** An exact decimal string rounded half-up to cents, exactly (BigInt, no floating point): "9.60953865" → "9.61". */
  function cents(value) {
    const negative = value.startsWith('-');
    const [whole, fraction = ''] = (negative ? value.slice(1) : value).split('.');
    const digits = (fraction + '000').slice(0, 3);
    let n = BigInt(whole + digits.slice(0, 2));
    if (Number(digits[2]) >= 5) n += 1n;
    const text = n.toString().padStart(3, '0');
    return (negative ? '-' : '') + text.slice(0, -2) + '.' + text.slice(-2);
  }

  /** Money to the cent (the exact amount is in the element's title); other measures as they are. */
  function amount(value, measure) {
    return measure === 'USD' ? '$' + cents(value) : value + ' ' + measure.replace(/_/g, ' ');
  }

  function money(tag, value, attrs) {
    return el(tag, Object.assign({ title: '$' + value + ' exactly', text: '$' + cents(value) }, attrs || {}));
  }

  const AT_100 = {
    block: 'At 100 %, requests that would go over are refused until it resets or the cap is raised.',
    downgrade: 'At 100 %, requests move to a cheaper model until it resets.',
    throttle: 'At 100 %, requests are slowed down until it resets.',
    notify: 'At 100 %, you are notified; nothing is blocked.',
    bill_overage: 'Beyond 100 %, usage is billed as overage at the plan\'s prices.',
  };
  const STATE = { ok: 'OK', warning: 'Warning', exceeded: 'Used up' };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
    });
    children.forEach((c) => e.append(c));
    return e;
  }

  /** The runaway circuit breakers open now: what tripped, what it does, when it closes by itself and how to close it. */
  function renderRunaway() {
    const box = $('runaway');
    const open = report.runaway || [];
    const what = { block: 'Requests are paused', throttle: 'Requests are slowed down', notify: 'Unusual spend' };
    box.replaceChildren(...open.map((b) => el('p', {},
      el('strong', { text: (what[b.action] || 'Runaway protection') + (b.api_key ? ' for key ' + b.api_key : '') + ': ' }), b.message + ' ',
      el('span', { class: 'muted', text: 'It closes by itself ' }), el('span', { class: 'countdown', 'data-at': b.closes_at, text: countdown(b.closes_at) }),
      el('span', { class: 'muted', text: '.' }))));
    box.hidden = open.length === 0;
  }

  function renderLimits(caps) {
    const list = $('limit-list');
    list.replaceChildren();
    if (!report.limits.length) list.append(el('p', { class: 'muted', text: 'No limits apply to this account.' }));
    report.limits.forEach((l) => {
      const percent = Number(l.percent);
      const state = l.state === 'exceeded' ? 'over' : l.state;
      const gauge = el('div', {
        class: 'gauge ' + state, role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': l.limit, 'aria-valuenow': l.used,
        'aria-valuetext': amount(l.used, l.measure) + ' of ' + amount(l.limit, l.measure) + ' (' + l.percent + ' %)', 'aria-label': l.label,
      }, el('span'));
      gauge.firstChild.style.width = Math.min(percent, 100) + '%';
      const card = el('article', { class: 'card', 'data-limit': l.id },
        el('h3', { text: l.label }),
        gauge,
        el('p', { class: 'figures' },
          el('span', { class: 'used', title: l.used + ' exactly', text: amount(l.used, l.measure) }), ' of ',
          el('span', { class: 'limit', title: l.limit + ' exactly', text: amount(l.limit, l.measure) }), ' · ',
          el('span', { class: 'percent', text: l.percent + ' %' }), ' · ',
          el('span', { class: 'state state-' + state, text: STATE[l.state] || l.state })),
        el('p', { class: 'resets' }, 'Resets ' + when(l.resets_at) + ' (' + timezone + '), ',
          el('span', { class: 'countdown', 'data-at': l.resets_at, text: countdown(l.resets_at) }), '.'),
        el('p', { class: 'muted', text: AT_100[l.action] || '' }));
      const cap = l.kind === 'cap' ? caps.find((c) => 'cap:' + c.id === l.id) : null;
      if (cap) card.append(editForm(cap));
      list.append(card);
    });
  }

  /** A form to change one of the customer's own caps: its amount and the percentages it alerts at. */
  function editForm(cap) {
    const id = 'cap-' + cap.id.replace(/[^A-Za-z0-9_-]/g, '_');
    const amountInput = el('input', { id: id + '-amount', name: 'amount', inputmode: 'decimal', value: cap.amount, required: '' });
    const thresholdInput = el('input', { id: id + '-thresholds', name: 'thresholds',
      value: cap.thresholds.map((t) => String(Math.round(Number(t) * 1000) / 10)).join(', ') });
    const status = el('p', { role: 'status', 'aria-live': 'polite' });
    const form = el('form', { class: 'edit', 'data-cap': cap.id },
      el('label', { for: amountInput.id, text: 'Cap amount (' + (cap.measure === 'USD' ? 'USD' : cap.measure) + ')' }), amountInput,
      el('label', { for: thresholdInput.id, text: 'Alert at (% of the cap, comma-separated)' }), thresholdInput,
      el('button', { type: 'submit', text: 'Save cap' }), status);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = Object.fromEntries(Object.entries(cap).filter(([k, v]) => v !== null && k !== 'id'));
      body.amount = amountInput.value.trim();
      body.thresholds = thresholdInput.value.split(',').map((s) => s.trim()).filter((s) => s)
        .map((p) => Number(p) / 100);
      status.className = '';
      status.textContent = 'Saving…';
      try {
        const response = await api(base() + '/caps/' + encodeURIComponent(cap.id), { method: 'PUT', body });
        const answer = await response.json().catch(() => ({}));
        if (!response.ok) {
          const errors = answer.error && answer.error.errors;
          throw new Error(errors ? errors.map((e) => e.field + ': ' + e.message).join('; ') : (answer.error && answer.error.message));
        }
        status.className = 'saved';
        status.textContent = 'Saved. The new cap applies within seconds.';
        setTimeout(load, 1500);
      } catch (e) {
        status.className = 'failed';
        status.textContent = e instanceof Refused ? e.message : 'Not saved: ' + e.message;
      }
    });
    return form;
  }

  function renderBill() {
    const b = report.bill;
    const dl = $('bill');
    dl.replaceChildren();
    const pair = (k, v) => dl.append(el('dt', { text: k }), typeof v === 'string' ? el('dd', { text: v }) : v);
    pair('Plan', report.plan || '—');
    pair('Period', when(report.billing_period.start, { dateStyle: 'medium' }) + ' – ' + when(report.billing_period.end, { dateStyle: 'medium' }));
    if (b) {
      pair('Plan price', money('dd', b.plan_price));
      pair('Overage billed so far', money('dd', b.billed_overage_so_far));
      pair('Projected total for the period', money('dd', b.projected_total, { id: 'projected' }));
      pair('How it is projected', b.method);
    }
  }

  async function renderSeries() {
    const groupBy = $('group-by').value;
    const response = await api(base() + '/usage/series?granularity=day&group_by=' + groupBy);
    if (response.status === 501) { // the deployment keeps no usage over time (series.enabled=false)
      $('series-note').hidden = false;
      ['chart-controls', 'chart-box', 'series-table'].forEach((id) => { $(id).hidden = true; });
      $('as-of').textContent = 'Numbers as of ' + new Date().toLocaleTimeString() + '.';
      return;
    }
    if (!response.ok) {
      throw new Error('the usage over time could not be loaded (' + response.status + ').');
    }
    const series = await response.json();
    const labels = series.buckets.map((b) => when(b.start, { month: 'short', day: 'numeric' }));
    const groups = [...new Set(series.buckets.flatMap((b) => b.groups.map((g) => g.group)))];
    const palette = ['#0b5cad', '#b35900', '#1a7f37', '#8250df', '#b42318', '#57606a', '#0a7480', '#9a6700'];
    const datasets = groups.map((g, i) => ({
      label: g,
      backgroundColor: palette[i % palette.length],
      data: series.buckets.map((b) => Number((b.groups.find((x) => x.group === g) || { usage: { cost: '0' } }).usage.cost)),
    }));
    if (window.Chart) {
      if (chart) chart.destroy();
      chart = new window.Chart($('chart'), {
        type: 'bar',
        data: { labels, datasets },
        options: { animation: false, responsive: true, maintainAspectRatio: false,
          scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'USD' } } } },
      });
    }
    const body = $('series-table').tBodies[0];
    body.replaceChildren();
    series.buckets.forEach((b) => b.groups.forEach((g) => body.append(el('tr', {},
      el('td', { text: when(b.start, { dateStyle: 'medium' }) }), el('td', { text: g.group }),
      money('td', g.usage.cost, { class: 'cost' }), el('td', { text: String(g.usage.events) })))));
    if (!body.children.length) body.append(el('tr', {}, el('td', { colspan: '4', class: 'muted', text: 'No usage yet this period.' })));
    $('series-table').dataset.total = series.total.cost;
    $('as-of').textContent = 'Numbers as of ' + new Date(series.as_of).toLocaleTimeString() + ' (usage arrives within about a second)'
      + (report.stale ? '; some figures may be behind while usage state catches up.' : '.');
  }

  function renderGrants() {
    const body = $('grants').tBodies[0];
    body.replaceChildren();
    report.grants.forEach((g) => body.append(el('tr', { 'data-grant': g.id },
      el('td', { text: g.id }), el('td', { text: g.category }), money('td', g.amount),
      money('td', g.remaining, { class: 'remaining' }), el('td', { text: g.expires_at ? when(g.expires_at) : 'never' }))));
    if (!report.grants.length) body.append(el('tr', {}, el('td', { colspan: '5', class: 'muted', text: 'No credit grants.' })));
  }

  async function renderDecisions() {
    const recent = await json(base() + '/decisions');
    const body = $('decisions').tBodies[0];
    body.replaceChildren();
    recent.decisions.forEach((d) => body.append(el('tr', { 'data-code': d.code },
      el('td', { text: when(d.at) }),
      el('td', { text: d.decision === 'downgrade' ? 'Moved to ' + (d.model_used || 'a cheaper model') : 'Refused (' + d.code.replace(/_/g, ' ') + ')' }),
      el('td', { text: d.model || '—' }), el('td', { text: d.api_key || '—' }), el('td', { text: d.message }))));
    if (!recent.decisions.length) body.append(el('tr', {}, el('td', { colspan: '5', class: 'muted', text: 'None recently.' })));
  }

  async function load() {
    try {
      report = await json(base() + '/usage');
      timezone = report.timezone;
      $('customer').textContent = '— ' + customer;
      $('meta').textContent = (report.plan ? report.plan + ' plan · ' : '') + 'times in ' + timezone;
      let caps = [];
      const config = await api(base());
      if (config.ok) caps = (await config.json()).caps || [];
      renderRunaway();
      renderLimits(caps);
      renderBill();
      renderGrants();
      await renderSeries();
      await renderDecisions();
      document.body.dataset.loaded = 'true';
    } catch (e) {
      problem(e instanceof Refused ? e.message : 'The usage could not be loaded: ' + e.message);
      document.body.dataset.loaded = 'error';
    }
  }

  async function download() {
    const groupBy = $('group-by').value;
    const response = await api(base() + '/usage/series?granularity=day&group_by=' + groupBy, { accept: 'text/csv' });
    const url = URL.createObjectURL(await response.blob());
    const a = el('a', { href: url, download: 'usage-' + customer + '-by-' + groupBy + '.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(url);
  }

  if (!customer) {
    problem('This page needs a valid portal link (…/portal#token=…). Ask for a new link.');
    document.body.dataset.loaded = 'error';
    return;
  }
  $('group-by').addEventListener('change', () => renderSeries().catch((e) => problem(e.message)));
  $('download').addEventListener('click', () => download().catch((e) => problem(e.message)));
  setInterval(() => document.querySelectorAll('.countdown').forEach((c) => { c.textContent = countdown(c.dataset.at); }), 30000);
  load();
})();
