// Behaviour of the hub's demo/debug UI: EventSource subscriptions, form publishing and the
// active subscriptions API. Plain browser JavaScript, no dependency, no build step.
'use strict';

(function () {
  const HUB_PATH = '/.well-known/mercure';
  const MAX_EVENTS = 500;          // older events are dropped from the list beyond this
  const DIAGNOSE_TIMEOUT_MS = 5000;
  const SUBSCRIPTION_EVENTS_TOPIC = HUB_PATH + '/subscriptions{/topic}{/subscriber}';

  const $ = (id) => document.getElementById(id);

  // One live EventSource at a time, with the event types it listens for.
  let source = null;
  let listening = new Set();
  let received = 0;

  // Lines of a textarea, trimmed, without the empty ones.
  function lines(text) {
    return text.split(/\r\n|\r|\n/).map((s) => s.trim()).filter((s) => s !== '');
  }

  // Percent-encodes like an RFC 6570 {var} expansion: everything but the unreserved set.
  function encodeSegment(text) {
    return encodeURIComponent(text).replace(/[!'()*]/g,
      (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  }

  // Shows a message in a status element; state is idle, ok, busy or error.
  function setStatus(element, state, message) {
    element.dataset.state = state;
    element.textContent = message;
  }

  // The hub URL the page talks to: ?hub= wins, else this origin's hub, else the tutorial's.
  function defaultHubUrl() {
    const fromQuery = new URLSearchParams(location.search).get('hub');
    if (fromQuery)
      return fromQuery;
    if (location.protocol === 'http:' || location.protocol === 'https:')
      return location.origin + HUB_PATH;
    return 'http://localhost:3000' + HUB_PATH;
  }

  // The configured hub URL as a URL object, or null (and an error shown) when it is invalid.
  function hubUrl(statusElement) {
    const input = $('hub-url');
    try {
      return new URL(input.value.trim());
    } catch (e) {
      setStatus(statusElement, 'error', 'The hub URL is not a valid absolute URL.');
      input.focus();
      return null;
    }
  }

  // Body text of a failed response, shortened to one readable line.
  async function responseReason(response) {
    let text = '';
    try {
      text = (await response.text()).trim();
    } catch (e) {
      // the body is only a detail
    }
    if (text.length > 300)
      text = text.slice(0, 300) + '…';
    return `HTTP ${response.status}${text ? ': ' + text : ''}`;
  }

  // What a failed fetch (network error or CORS refusal) most likely means.
  function networkReason(error) {
    return `Cannot reach the hub (${error.message}): is it running, and is this page's origin ` +
      `(${location.origin === 'null' ? 'null, a file' : location.origin}) in cors_allowed_origins?`;
  }

  // ---------------------------------------------------------------------------------------
  // Subscribing

  function formatTime(date) {
    const pad = (n, w = 2) => String(n).padStart(w, '0');
    return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.` +
      pad(date.getMilliseconds(), 3);
  }

  // Adds one received event at the top of the list.
  function showEvent(event) {
    const now = new Date();
    const item = $('event-template').content.firstElementChild.cloneNode(true);
    const time = item.querySelector('.ev-time');
    time.textContent = formatTime(now);
    time.title = now.toISOString();
    item.querySelector('.ev-type').textContent = event.type;
    item.querySelector('.ev-id').textContent = event.lastEventId || '(none)';
    const data = item.querySelector('.ev-data');
    if (event.data === '') {
      data.textContent = '(empty data)';
      data.classList.add('empty');
    } else {
      data.textContent = event.data;
    }
    item.dataset.id = event.lastEventId;
    item.dataset.type = event.type;
    item.classList.add('fresh');

    const list = $('events');
    list.prepend(item);
    while (list.children.length > MAX_EVENTS)
      list.lastElementChild.remove();
    received += 1;
    $('events-count').textContent = String(received);
    $('events-empty').hidden = true;
  }

  // Makes the live EventSource report events of this type too.
  function listenFor(type) {
    if (!source || !type || listening.has(type))
      return;
    listening.add(type);
    source.addEventListener(type, showEvent);
  }

  // Finds out why the hub refused or dropped the stream: EventSource does not tell.
  async function diagnose(url) {
    const status = $('sub-status');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), DIAGNOSE_TIMEOUT_MS);
    try {
      const response = await fetch(url, { signal: controller.signal, cache: 'no-store' });
      if (response.ok) {
        controller.abort();
        setStatus(status, 'error', 'Disconnected: the hub closed the stream (token expired?).');
      } else {
        setStatus(status, 'error', 'Refused: ' + await responseReason(response));
      }
    } catch (error) {
      if (error.name === 'AbortError')
        setStatus(status, 'error', `The hub did not answer within ${DIAGNOSE_TIMEOUT_MS / 1000} s.`);
      else
        setStatus(status, 'error', networkReason(error));
    } finally {
      clearTimeout(timer);
    }
  }

  function stopSubscription(message) {
    if (source) {
      source.close();
      source = null;
    }
    listening = new Set();
    $('sub-start').disabled = false;
    $('sub-stop').disabled = true;
    if (message)
      setStatus($('sub-status'), 'idle', message);
  }

  function startSubscription() {
    const status = $('sub-status');
    const topics = lines($('sub-topics').value);
    if (topics.length === 0) {
      setStatus(status, 'error', 'Give at least one topic selector.');
      $('sub-topics').focus();
      return;
    }
    const url = hubUrl(status);
    if (!url)
      return;
    for (const topic of topics)
      url.searchParams.append('topic', topic);
    const lastEventId = $('sub-last-event-id').value.trim();
    if (lastEventId)
      url.searchParams.append('lastEventID', lastEventId);
    const token = $('sub-token').value.trim();
    if (token)
      url.searchParams.append('authorization', token);

    stopSubscription();
    const current = new EventSource(url.href);
    source = current;
    listenFor('message');
    for (const type of $('sub-types').value.split(/[\s,]+/))
      listenFor(type);
    $('sub-start').disabled = true;
    $('sub-stop').disabled = false;
    setStatus(status, 'busy', 'Connecting…');

    current.addEventListener('open', () => {
      if (source === current)
        setStatus(status, 'ok', `Subscribed to ${topics.length} selector${topics.length > 1 ? 's' : ''}`);
    });
    current.addEventListener('error', () => {
      if (source !== current)
        return;
      if (current.readyState === EventSource.CLOSED) {
        stopSubscription();
        setStatus(status, 'busy', 'Connection failed; asking the hub why…');
        diagnose(url.href);
      } else {
        setStatus(status, 'busy', 'Connection lost; reconnecting…');
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Publishing

  async function publish() {
    const result = $('pub-result');
    const topics = lines($('pub-topics').value);
    if (topics.length === 0) {
      setStatus(result, 'error', 'Give at least one topic.');
      $('pub-topics').focus();
      return;
    }
    const url = hubUrl(result);
    if (!url)
      return;
    const body = new URLSearchParams();
    for (const topic of topics)
      body.append('topic', topic);
    body.append('data', $('pub-data').value);
    if ($('pub-private').checked)
      body.append('private', 'on');
    for (const field of ['id', 'type', 'retry']) {
      const value = $('pub-' + field).value.trim();
      if (value !== '')
        body.append(field, value);
    }
    const headers = {};
    const token = $('pub-token').value.trim();
    if (token)
      headers.Authorization = 'Bearer ' + token;

    // A typed update is only reported by EventSource to a listener of that type.
    listenFor($('pub-type').value.trim());

    $('pub-send').disabled = true;
    setStatus(result, 'busy', 'Publishing…');
    try {
      const response = await fetch(url.href, { method: 'POST', body, headers, cache: 'no-store' });
      if (response.ok) {
        const id = (await response.text()).trim();
        setStatus(result, 'ok', `Published ${id}`);
      } else {
        setStatus(result, 'error', 'Refused: ' + await responseReason(response));
      }
    } catch (error) {
      setStatus(result, 'error', networkReason(error));
    } finally {
      $('pub-send').disabled = false;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Active subscriptions API

  function cell(row, text) {
    const td = document.createElement('td');
    td.textContent = text;
    row.appendChild(td);
  }

  function showSubscriptions(list) {
    const rows = $('subs-rows');
    rows.replaceChildren();
    for (const s of list) {
      const row = document.createElement('tr');
      cell(row, s.topic);
      cell(row, s.subscriber);
      cell(row, s.payload === undefined ? '—' : JSON.stringify(s.payload));
      rows.appendChild(row);
    }
    $('subs-table').hidden = list.length === 0;
  }

  async function listSubscriptions() {
    const status = $('subs-status');
    const url = hubUrl(status);
    if (!url)
      return;
    const topic = $('subs-topic').value.trim();
    url.pathname = url.pathname.replace(/\/+$/, '') + '/subscriptions' + (topic ? '/' + encodeSegment(topic) : '');
    url.search = '';
    const token = $('subs-token').value.trim() || $('sub-token').value.trim();
    const headers = { Accept: 'application/ld+json' };
    // Cross-origin, an Authorization header needs a CORS preflight on the API's URL, which
    // hubs do not all answer: the query parameter keeps the request simple there.
    if (token && url.origin === location.origin)
      headers.Authorization = 'Bearer ' + token;
    else if (token)
      url.searchParams.set('authorization', token);

    setStatus(status, 'busy', 'Loading…');
    $('subs-refresh').disabled = true;
    try {
      const response = await fetch(url.href, { headers, cache: 'no-store' });
      if (response.status === 404) {
        showSubscriptions([]);
        const reason = (await response.text()).trim();
        if (!topic || /disabled/i.test(reason))
          setStatus(status, 'error', 'The active subscriptions API is disabled on this hub (HTTP 404): ' +
            'start it with --subscriptions, or set subscriptions = true in mercure.conf.');
        else
          setStatus(status, 'error', `HTTP 404: ${reason || 'Not Found.'}`);
      } else if (response.status === 401 || response.status === 403) {
        showSubscriptions([]);
        setStatus(status, 'error', (await responseReason(response)) +
          ' The token needs a mercure.subscribe claim covering ' + url.pathname + '.');
      } else if (!response.ok) {
        showSubscriptions([]);
        setStatus(status, 'error', await responseReason(response));
      } else {
        const doc = await response.json();
        const list = Array.isArray(doc.subscriptions) ? doc.subscriptions : [];
        showSubscriptions(list);
        setStatus(status, 'ok', `${list.length} active subscription${list.length === 1 ? '' : 's'}` +
          (doc.lastEventID ? ` (lastEventID ${doc.lastEventID})` : ''));
      }
    } catch (error) {
      showSubscriptions([]);
      setStatus(status, 'error', error instanceof SyntaxError ? 'The hub answered something that is not JSON.'
        : networkReason(error));
    } finally {
      $('subs-refresh').disabled = false;
    }
  }

  // Subscribes the event list to the private subscription events (needs a token that allows them).
  function watchSubscriptionEvents() {
    $('sub-topics').value = SUBSCRIPTION_EVENTS_TOPIC;
    if (!$('sub-token').value.trim())
      $('sub-token').value = $('subs-token').value.trim();
    startSubscription();
    $('subscribe-heading').scrollIntoView({ block: 'start', behavior: 'smooth' });
  }

  // ---------------------------------------------------------------------------------------
  // Wiring

  function submitOnCtrlEnter(textareaId, formId) {
    $(textareaId).addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        $(formId).requestSubmit();
      }
    });
  }

  function init() {
    $('hub-url').value = defaultHubUrl();
    $('hub-form').addEventListener('submit', (event) => event.preventDefault());
    $('subscribe-form').addEventListener('submit', (event) => {
      event.preventDefault();
      startSubscription();
    });
    $('sub-stop').addEventListener('click', () => stopSubscription('Unsubscribed'));
    $('sub-clear').addEventListener('click', () => {
      $('events').replaceChildren();
      received = 0;
      $('events-count').textContent = '0';
      $('events-empty').hidden = false;
    });
    $('publish-form').addEventListener('submit', (event) => {
      event.preventDefault();
      publish();
    });
    $('subscriptions-form').addEventListener('submit', (event) => {
      event.preventDefault();
      listSubscriptions();
    });
    $('subs-watch').addEventListener('click', watchSubscriptionEvents);
    submitOnCtrlEnter('sub-topics', 'subscribe-form');
    submitOnCtrlEnter('pub-topics', 'publish-form');
    submitOnCtrlEnter('pub-data', 'publish-form');
    window.addEventListener('pagehide', () => stopSubscription());
  }

  init();
}());
