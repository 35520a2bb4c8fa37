import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CsrfTokens } from '../../crypto/csrf-tokens.js'
import { readCookie, setCookieHeader } from './cookies.js'

const SESSION_SECRET = /^mdu_[A-Za-z0-9_-]{43}$/

/** Why a form post was refused before it was read (OWASP CSRF Prevention Cheat Sheet). */
export type PostRefusal = 'cross-site request' | 'missing or wrong form token'

declare module 'fastify' {
  interface FastifyRequest {
    /** The CSRF binding this request's forms are signed for (set once per request). */
    csrfBinding?: string
  }
}

/**
 * What the server's pages know about the browser: its session cookie and the CSRF binding
 * cookie. Cookie names carry the __Host- prefix when the issuer is https.
 */
export class Browser {
  constructor(private readonly issuer: () => string, private readonly csrf: CsrfTokens) {}

  private get secure(): boolean {
    return this.issuer().startsWith('https:')
  }

  private name(base: string): string {
    return this.secure ? `__Host-${base}` : base
  }

  /** The session cookie's secret, when it has the shape of one. */
  sessionSecret(request: FastifyRequest): string | undefined {
    const value = readCookie(request.headers.cookie, this.name('mandate-session'))
    return value !== undefined && SESSION_SECRET.test(value) ? value : undefined
  }

  /** The token every form on this page carries; gives the browser a binding cookie if it has none. */
  formToken(request: FastifyRequest, reply: FastifyReply): string {
    if (request.csrfBinding === undefined) {
      const existing = readCookie(request.headers.cookie, this.name('mandate-csrf'))
      request.csrfBinding = existing !== undefined && this.csrf.looksLikeBinding(existing) ? existing : this.newBinding(reply)
    }
    return this.csrf.tokenFor(request.csrfBinding)
  }

  /**
   * A state-changing form post must come from this site and carry the token for the browser's
   * binding cookie. Where it comes from: Fetch Metadata when the browser sends it (W3C Fetch
   * Metadata; `none` is a navigation the person started), else Origin when it names one. Pages
   * are served with Referrer-Policy: no-referrer, under which Chromium sends `Origin: null` on
   * their own same-origin posts, so `null` alone proves nothing either way; the token decides.
   */
  refusePost(request: FastifyRequest, token: string | undefined): PostRefusal | undefined {
    const site = request.headers['sec-fetch-site']
    const origin = request.headers.origin
    if (site !== undefined) {
      if (site !== 'same-origin' && site !== 'none') return 'cross-site request'
    } else if (origin !== undefined && origin !== 'null' && origin !== new URL(this.issuer()).origin) {
      return 'cross-site request'
    }
    const binding = readCookie(request.headers.cookie, this.name('mandate-csrf'))
    if (binding === undefined || token === undefined || !this.csrf.looksLikeBinding(binding) || !this.csrf.matches(binding, token)) return 'missing or wrong form token'
    request.csrfBinding = binding
    return undefined
  }

  /** Sign-in: the new session's cookie, and a new binding so no token from before carries over. */
  startSession(reply: FastifyReply, secret: string, maxAgeSeconds: number): void {
    addSetCookie(reply, setCookieHeader(this.name('mandate-session'), secret, { secure: this.secure, maxAge: maxAgeSeconds }))
    this.newBinding(reply)
  }

  /** Sign-out, or a session found dead: the cookie goes, and the binding is renewed. */
  endSession(reply: FastifyReply): void {
    addSetCookie(reply, setCookieHeader(this.name('mandate-session'), '', { secure: this.secure, maxAge: 0 }))
    this.newBinding(reply)
  }

  private newBinding(reply: FastifyReply): string {
    const binding = this.csrf.newBinding()
    addSetCookie(reply, setCookieHeader(this.name('mandate-csrf'), binding, { secure: this.secure }))
    return binding
  }
}

function addSetCookie(reply: FastifyReply, cookie: string): void {
  const name = cookie.slice(0, cookie.indexOf('='))
  const current = reply.getHeader('set-cookie')
  const list = (current === undefined ? [] : Array.isArray(current) ? current.map(String) : [String(current)]).filter((c) => !c.startsWith(`${name}=`))
  // Fastify appends to set-cookie; the list is rebuilt so a cookie set twice in one answer is sent once.
  reply.removeHeader('set-cookie')
  reply.header('set-cookie', [...list, cookie])
}
