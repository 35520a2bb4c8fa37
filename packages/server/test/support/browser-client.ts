import type { TestServer } from './server.js'
import { admin } from './client.js'

/** A page answer: status, headers, the HTML, and the cookies it set. */
export interface PageReply {
  status: number
  headers: Headers
  html: string
  setCookies: string[]
}

/**
 * A browser as far as the pages care: a cookie jar (name → value; Max-Age=0 deletes), no
 * redirects followed, form posts as application/x-www-form-urlencoded.
 */
export class BrowserClient {
  readonly jar = new Map<string, string>()

  constructor(readonly server: Pick<TestServer, 'url'>) {}

  cookieHeader(): string | undefined {
    return this.jar.size === 0 ? undefined : [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  async request(method: string, path: string, init: { form?: Record<string, string | string[]>; body?: string; headers?: Record<string, string> } = {}): Promise<PageReply> {
    const headers: Record<string, string> = { ...init.headers }
    const cookie = this.cookieHeader()
    if (cookie !== undefined && !('cookie' in headers)) headers.cookie = cookie
    let body = init.body
    if (init.form !== undefined) {
      const sp = new URLSearchParams()
      for (const [k, v] of Object.entries(init.form)) for (const one of Array.isArray(v) ? v : [v]) sp.append(k, one)
      body = sp.toString()
      headers['content-type'] ??= 'application/x-www-form-urlencoded'
    }
    const res = await fetch(this.server.url + path, { method, headers, body, redirect: 'manual' })
    const setCookies = res.headers.getSetCookie()
    for (const c of setCookies) {
      const [pair] = c.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq)
      if (/;\s*Max-Age=0/i.test(c)) this.jar.delete(name)
      else this.jar.set(name, pair!.slice(eq + 1))
    }
    return { status: res.status, headers: res.headers, html: await res.text(), setCookies }
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request('GET', path, { headers })
  }

  /** The CSRF token of the first form on a page. */
  static formToken(html: string): string {
    const m = /name="csrf_token" value="([^"]+)"/.exec(html)
    if (!m) throw new Error(`no form token on the page: ${html.slice(0, 300)}`)
    return m[1]!
  }

  /** Loads the sign-in page and posts the form, as a person would. */
  async signIn(username: string, password: string, extra: Record<string, string> = {}, query = ''): Promise<PageReply> {
    const page = await this.get(`/login${query}`)
    if (page.status !== 200) throw new Error(`sign-in page: ${page.status} ${page.html.slice(0, 300)}`)
    return this.request('POST', '/login', { form: { csrf_token: BrowserClient.formToken(page.html), username, password, ...extra } })
  }

  /** Loads the account page and posts its sign-out form. */
  async signOut(): Promise<PageReply> {
    const page = await this.get('/account')
    if (page.status !== 200) throw new Error(`account page: ${page.status}`)
    return this.request('POST', '/logout', { form: { csrf_token: BrowserClient.formToken(page.html) } })
  }
}

let counter = 0

/** A person created through the admin API; returns their id, username and password. */
export async function createPerson(server: TestServer, settings: { username?: string; password?: string; display_name?: string } = {}) {
  const username = settings.username ?? `person-${process.pid}-${++counter}`
  const password = settings.password ?? `pw-${username}-long-enough`
  const res = await admin(server, 'POST', '/users', { ...settings, username, password })
  if (res.status !== 201) throw new Error(`creating a person failed: ${res.status} ${res.text}`)
  return { id: res.body.id as string, username, password }
}
