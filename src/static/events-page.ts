/**
 * `/docs/events.html`: the WebSocket event catalogue (docs/behaviour.md §4.4, §14.3), one section per event of
 * spec/asyncapi.yaml with the schema of its `data`. Rendered once at start from generated/reference (the catalogue
 * is read from the committed spec at codegen time); plain HTML, no script.
 */
import type { CatalogueEvent } from '../../generated/reference/documents.js';

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The in-page anchor of an event's section (`task:updated` → `event-task-updated`). */
const anchorOf = (name: string): string => `event-${name.replace(/[^a-z0-9]+/gi, '-')}`;

export function renderEventsPage(events: readonly CatalogueEvent[]): string {
  const sections = events.map((e) => {
    return [
      `<section id="${escapeHtml(anchorOf(e.name))}">`,
      `  <h2>${escapeHtml(e.name)}</h2>`,
      e.summary ? `  <p>${escapeHtml(e.summary)}</p>` : '',
      e.description ? `  <p>${escapeHtml(e.description)}</p>` : '',
      `  <p class="meta"><code>data</code>: ${escapeHtml(e.payloadTitle)} (<code>schemas/${escapeHtml(e.payloadFile)}</code>)</p>`,
      `  <pre>${escapeHtml(JSON.stringify(e.payloadSchema, null, 2))}</pre>`,
      '</section>',
    ]
      .filter((line) => line !== '')
      .join('\n');
  });
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="data:,">
  <title>Maestro Server WebSocket events</title>
  <link rel="stylesheet" href="{{asset:docs.css}}">
</head>
<body>
  <header class="maestro-bar">
    <strong>Maestro Server WebSocket events</strong>
    <nav>
      <a href="/docs">HTTP API</a>
      <a href="/docs/events.html">WebSocket events</a>
      <a href="/docs/asyncapi.yaml">asyncapi.yaml</a>
    </nav>
  </header>
  <main class="events">
    <p>${events.length} events, broadcast to every WebSocket client on the server's port as
    <code>{ "type": &lt;event&gt;, "event": &lt;event&gt;, "data": &lt;payload&gt;, "timestamp": &lt;ms&gt; }</code>.</p>
    <ul>
${events.map((e) => `      <li><a href="#${escapeHtml(anchorOf(e.name))}">${escapeHtml(e.name)}</a></li>`).join('\n')}
    </ul>
${sections.join('\n')}
  </main>
</body>
</html>
`;
}
