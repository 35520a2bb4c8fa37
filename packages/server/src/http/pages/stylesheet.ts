/** The pages' one stylesheet, served from /static/mandate.css (CSP style-src 'self': no inline styles). */
export const STYLESHEET = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; }
main { max-width: 28rem; margin: 3rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input { display: block; width: 100%; box-sizing: border-box; padding: 0.5rem; margin-top: 0.25rem; font: inherit; }
input:focus, button:focus { outline: 3px solid Highlight; outline-offset: 2px; }
button { margin-top: 1.5rem; padding: 0.5rem 1.25rem; font: inherit; cursor: pointer; }
.alert { border-left: 4px solid #b00020; padding: 0.5rem 0.75rem; background: rgba(176, 0, 32, 0.08); }
.notice { border-left: 4px solid #1a5fb4; padding: 0.5rem 0.75rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
`
