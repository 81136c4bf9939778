// xterm.js writes part of its styling (theme colours, cell sizes, scrollbar)
// into <style> elements it creates. The console's Content-Security-Policy
// (style-src 'self', no 'unsafe-inline') blocks those. Instead of weakening
// the policy, <style> elements created on this page become inert elements
// whose text is applied through a constructed stylesheet (CSSOM), which the
// policy allows. Installed once, before any terminal exists; nothing else
// on the page creates <style> elements (React and Vite's build use <link>).

let installed = false;

export function routeStyleElementsThroughCssom(): void {
  if (installed || typeof CSSStyleSheet === 'undefined' || !('adoptedStyleSheets' in document)) return;
  installed = true;
  const create = document.createElement.bind(document);
  document.createElement = ((tag: string, options?: ElementCreationOptions) => {
    if (String(tag).toLowerCase() !== 'style') return create(tag, options);
    return adoptedStyle(create);
  }) as typeof document.createElement;
}

function adoptedStyle(create: Document['createElement']): HTMLElement {
  const el = create('fleet-style');
  el.hidden = true;
  const sheet = new CSSStyleSheet();
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  let text = '';
  Object.defineProperty(el, 'textContent', {
    get: () => text,
    set: (value: string | null) => {
      text = value ?? '';
      sheet.replaceSync(text);
    },
  });
  const remove = el.remove.bind(el);
  el.remove = () => {
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
    remove();
  };
  return el;
}
