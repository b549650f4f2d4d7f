/**
 * The board's whole view layer: `h()` builds a DOM element from a tag, properties and children (plain DOM, no
 * virtual DOM; docs/decisions.md "web board"). Text is always set as text, never parsed as HTML.
 */
export type Child = Node | string | number | null | undefined | false | Child[];
export type Props = Record<string, unknown> & { on?: Record<string, (event: Event) => void> };

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props !== null) {
    for (const [key, value] of Object.entries(props)) {
      if (key === 'on') {
        for (const [name, listener] of Object.entries(value as Record<string, (event: Event) => void>)) el.addEventListener(name, listener);
      } else if (value === undefined || value === null || value === false) {
        continue;
      } else if (key === 'class' || key.startsWith('data-') || key.startsWith('aria-') || key === 'role' || key === 'for') {
        el.setAttribute(key, String(value));
      } else {
        (el as unknown as Record<string, unknown>)[key] = value;
      }
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces every child of `el`. */
export function mount(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}
