import { html, type Html } from './html.js'

/** The document around every page: a language, a title, one stylesheet from this server, a main landmark. */
export function layout(issuer: string, title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Mandate</title>
<link rel="stylesheet" href="${issuer}/static/mandate.css">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`.text
}
