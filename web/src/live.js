// Live streams (docs/telemetry.md "Live streams"): server-sent events opened with a one-use
// ticket, because EventSource cannot send the Authorization header and the access token
// must never go into a URL (URLs end up in logs and history). The ticket comes from a POST
// made with the token; when the stream breaks, the EventSource is closed (its own retry
// would reuse the spent ticket) and a fresh ticket opens a new one after a pause, and
// onGap() lets the view fill what it missed with an ordinary query.
import * as api from './api.js';

const RETRY_MS = 3000;

// Opens @ticketPath's stream (e.g. base + '/telemetry/stream/ticket') with @query (an
// object of extra parameters) and calls handlers[event](data) for each named event.
// Returns { close() }.
export function liveStream(ticketPath, query, handlers, onGap) {
  let es = null, timer = null, closed = false;
  async function open() {
    timer = null;
    const r = await api.call('POST', ticketPath);
    if (closed) return;
    if (!r.ok) { timer = setTimeout(open, RETRY_MS * 5); return; }
    es = new EventSource(r.data.url + '&' + api.q(query).replace(/^\?/, ''));
    for (const [name, fn] of Object.entries(handlers)) {
      es.addEventListener(name, (ev) => { try { fn(JSON.parse(ev.data)); } catch { /* ignore */ } });
    }
    es.onerror = () => {
      if (es) es.close();
      es = null;
      if (!closed) timer = setTimeout(() => { if (onGap) onGap(); open(); }, RETRY_MS);
    };
  }
  open();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (es) es.close();
    },
  };
}
