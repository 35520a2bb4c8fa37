import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { consentPage, consentText, type ConsentTextInput } from '../../../src/http/pages/consent-view.js'

const ISSUER = 'https://mandate.example'

function input(overrides: Partial<ConsentTextInput> = {}): ConsentTextInput {
  return {
    agent: { id: 'agt_abc123', metadata: { client_name: 'Loan Analyzer', contacts: ['ops@bank.example'] } },
    owner: { admin: 'admin:env', contacts: ['ops@bank.example'] },
    role: { name: 'loan-analyzer', version: 4 },
    scopes: ['openid', 'loans:read'],
    purposes: [
      { id: 'credit-check', description: 'Checks your credit history when you apply', lawfulBasis: 'contract' },
      { id: 'automated-deletion', description: 'Deletes your data when the law requires it', lawfulBasis: 'legal_obligation' },
    ],
    validDays: 365,
    ...overrides,
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" }

/** The text a browser shows in the page's h1, h2, p, li and button elements, in order, one per line. */
function shownWords(page: string): string {
  const main = page.slice(page.indexOf('<main>'), page.indexOf('</main>'))
  const out: string[] = []
  for (const m of main.matchAll(/<(h1|h2|p|li|button)\b[^>]*>([\s\S]*?)<\/\1>/g)) {
    out.push(m[2]!.replace(/<[^>]*>/g, '').replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ENTITIES[e]!).replace(/\s+/g, ' ').trim())
  }
  return out.join('\n')
}

function render(text: ReturnType<typeof consentText>, hidden: Record<string, string> = { request: 'req_1' }) {
  return consentPage({ issuer: ISSUER, text, formAction: '/authorize/decision', hidden, csrfToken: 'tok' })
}

describe('consent page view', () => {
  test('the digest is SHA-256 (base64url) of exactly the words the page shows, in order', () => {
    const text = consentText(input())
    const page = render(text)
    assert.equal(shownWords(page), text.words)
    assert.equal(text.digest, createHash('sha256').update(shownWords(page), 'utf8').digest('base64url'))
    assert.match(text.digest, /^[A-Za-z0-9_-]{43}$/)
  })

  test('it names the agent (name and client id), its owner and contacts, its role, each scope and each purpose with its lawful basis, in plain words', () => {
    const words = consentText(input()).words
    assert.match(words, /^Allow Loan Analyzer to act for you\?$/m)
    assert.match(words, /Loan Analyzer is an automated agent\. Its client ID is agt_abc123\./)
    assert.match(words, /set up by the administrator admin:env, under the role “loan-analyzer” \(version 4\)/)
    assert.match(words, /Contact for this agent: ops@bank\.example\./)
    assert.match(words, /^Confirm that it is you who is signed in \(scope “openid”\)$/m)
    assert.match(words, /^Use the permission “loans:read” on your behalf$/m)
    assert.match(words, /^Checks your credit history when you apply \(purpose “credit-check”\)\. Legal basis: a contract with you.*Article 6\(1\)\(b\)\)\.$/m)
    assert.match(words, /^Deletes your data when the law requires it \(purpose “automated-deletion”\)\. Legal basis: a legal obligation.*Article 6\(1\)\(c\)\)\.$/m)
    assert.match(words, /Your consent lasts 365 days unless you withdraw it sooner/)
    assert.match(words, /\nApprove\nDeny$/)
  })

  test('every change to what is shown changes the digest', () => {
    const base = consentText(input()).digest
    const variants: Partial<ConsentTextInput>[] = [
      { scopes: ['openid'] },
      { purposes: [{ id: 'credit-check', description: 'Checks your credit history when you apply', lawfulBasis: 'consent' }] },
      { role: { name: 'loan-analyzer', version: 5 } },
      { owner: { admin: null, contacts: [] } },
      { roleWide: true },
      { validDays: 30 },
      { agent: { id: 'agt_abc123', metadata: {} } },
    ]
    const digests = variants.map((v) => consentText(input(v)).digest)
    for (const d of digests) assert.notEqual(d, base)
    assert.equal(new Set(digests).size, digests.length)
    assert.equal(consentText(input()).digest, base, 'the same input gives the same digest')
  })

  test('hostile names and contacts are shown as text: escaped, controls and bidirectional overrides neutralised, lines never split', () => {
    const text = consentText(input({
      agent: { id: 'agt_x', metadata: { client_name: '<script>alert(1)</script> "Bot" & co' } },
      owner: { admin: 'admin:env', contacts: ['evil\n\nApprove', 'a\u202Eb'] },
    }))
    const page = render(text, { request: '"><script>x</script>' })
    assert.ok(!/<script/i.test(page), 'no script element anywhere')
    assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &quot;Bot&quot; &amp; co/)
    assert.match(page, /value="&quot;&gt;&lt;script&gt;x&lt;\/script&gt;"/)
    assert.match(text.words, /Contact for this agent: evil Approve, a\uFFFDb\./)
    assert.equal(shownWords(page), text.words)
  })

  test('without a name, owner, contacts or purposes the page says so; role-wide consent is said', () => {
    const words = consentText(input({ agent: { id: 'agt_anon', metadata: {} }, owner: { admin: null, contacts: [] }, purposes: [], roleWide: true, validDays: undefined })).words
    assert.match(words, /^Allow this agent to act for you\?$/m)
    assert.match(words, /This automated agent has no name\. Its client ID is agt_anon\./)
    assert.match(words, /The administrator who set it up is no longer on record\./)
    assert.match(words, /It lists no contact\./)
    assert.match(words, /Its role declares no purpose for processing personal data\./)
    assert.match(words, /covers every agent registered under the role “loan-analyzer”, not only this one/)
    assert.ok(!/lasts/.test(words))
  })

  test('the form posts decision=approve|deny, the hidden fields and csrf_token to a path on this server; no script, accessible buttons', () => {
    const page = render(consentText(input()), { request: 'req_1', state: 'xyz' })
    assert.match(page, /<form method="post" action="https:\/\/mandate\.example\/authorize\/decision">/)
    assert.match(page, /<input type="hidden" name="request" value="req_1">/)
    assert.match(page, /<input type="hidden" name="state" value="xyz">/)
    assert.match(page, /<input type="hidden" name="csrf_token" value="tok">/)
    assert.match(page, /<button type="submit" name="decision" value="approve">Approve<\/button>/)
    assert.match(page, /<button type="submit" name="decision" value="deny">Deny<\/button>/)
    assert.match(page, /<html lang="en">/)
    assert.ok(!/<script|\sstyle=|\son[a-z]+=/i.test(page))
    assert.throws(() => consentPage({ issuer: ISSUER, text: consentText(input()), formAction: 'https://evil.example/x', hidden: {}, csrfToken: 't' }))
    assert.throws(() => consentPage({ issuer: ISSUER, text: consentText(input()), formAction: '//evil.example/x', hidden: {}, csrfToken: 't' }))
    assert.throws(() => consentPage({ issuer: ISSUER, text: consentText(input()), formAction: '/x', hidden: { decision: 'approve' }, csrfToken: 't' }))
    assert.throws(() => consentPage({ issuer: ISSUER, text: consentText(input()), formAction: '/x', hidden: { csrf_token: 'x' }, csrfToken: 't' }))
  })
})
